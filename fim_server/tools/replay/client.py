"""A raw JSON-RPC client over a language server's stdio: frames, requests,
responses, ``$/cancelRequest``, notifications. It does what an editor does and no
more, so the times it measures are the server's and the pipe's."""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
from typing import Any, Callable, Sequence


class StdioClient:
    def __init__(self, proc: asyncio.subprocess.Process, on_notification: Callable[[dict], None] | None = None) -> None:
        self.proc = proc
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self.on_notification = on_notification or (lambda message: None)
        self._reader = asyncio.ensure_future(self._read_loop())

    @classmethod
    async def start(
        cls, args: Sequence[str] = (), env: dict | None = None, stderr=None, python_args: Sequence[str] = (), **kwargs
    ) -> "StdioClient":
        """Start ``python [python_args] -m fim_server [args]`` (``python_args``: say,
        ``-m cProfile -o FILE`` to profile the server)."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *python_args,
            "-m",
            "fim_server",
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr if stderr is not None else asyncio.subprocess.DEVNULL,
            env=env,
            limit=1 << 24,
        )
        return cls(proc, **kwargs)

    async def _read_loop(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = 0
            while True:
                line = await out.readline()
                if not line:
                    for future in self._pending.values():
                        if not future.done():
                            future.set_exception(ConnectionError("the server closed its output"))
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            message = json.loads(await out.readexactly(length))
            if "id" in message and "method" not in message:
                future = self._pending.pop(message["id"], None)
                if future is not None and not future.done():
                    future.set_result(message)
            elif "id" in message:  # a request from the server: answer with null
                self._write({"jsonrpc": "2.0", "id": message["id"], "result": None})
            else:
                self.on_notification(message)

    def _write(self, message: dict) -> None:
        body = json.dumps(message, ensure_ascii=False).encode("utf-8")
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def notify(self, method: str, params: Any) -> None:
        self._write({"jsonrpc": "2.0", "method": method, "params": params})

    def send(self, method: str, params: Any) -> tuple[int, asyncio.Future]:
        """Send a request; its id and a future of the whole response message."""
        msg_id = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        self._write({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return msg_id, future

    def cancel(self, msg_id: int) -> None:
        self.notify("$/cancelRequest", {"id": msg_id})

    async def request(self, method: str, params: Any, timeout: float = 30) -> Any:
        _, future = self.send(method, params)
        message = await asyncio.wait_for(future, timeout)
        if "error" in message:
            raise RuntimeError(message["error"])
        return message.get("result")

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.request("shutdown", None), 10)
            self.notify("exit", None)
            await asyncio.wait_for(self.proc.wait(), 10)
        except (asyncio.TimeoutError, ConnectionError, RuntimeError):
            pass
        finally:
            if self.proc.returncode is None:
                self.proc.kill()
                await self.proc.wait()
            self._reader.cancel()


def rss_kib(pid: int) -> dict[str, int]:
    """Resident and peak resident memory of a process (Linux /proc; empty elsewhere)."""
    values: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                name, _, rest = line.partition(":")
                if name in ("VmRSS", "VmHWM"):
                    values[name] = int(rest.split()[0])
    except OSError:
        pass
    return values
