"""A minimal JSON-RPC client over a server's stdio, for benchmarks.

It does no more than an editor must (frame, send, match responses), so the time it
measures is the server's and the pipe's, not a test framework's.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import os
from typing import Any

# FIM_BENCH_PROFILE=FILE runs the server under cProfile, writing FILE at exit
PROFILE = ["-m", "cProfile", "-o", os.environ["FIM_BENCH_PROFILE"]] if os.environ.get("FIM_BENCH_PROFILE") else []


class StdioClient:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self.notifications: list[dict] = []
        self._reader = asyncio.ensure_future(self._read_loop())

    @classmethod
    async def start(cls, *args: str, env: dict | None = None) -> "StdioClient":
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *PROFILE,
            "-m",
            "fim_server",
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=env,
            limit=1 << 24,
        )
        return cls(proc)

    async def _read_loop(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = 0
            while True:
                line = await out.readline()
                if not line:
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
                self.notifications.append(message)

    def _write(self, message: dict) -> None:
        body = json.dumps(message, ensure_ascii=False).encode("utf-8")
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def notify(self, method: str, params: Any) -> None:
        self._write({"jsonrpc": "2.0", "method": method, "params": params})

    async def request(self, method: str, params: Any) -> Any:
        msg_id = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        self._write({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        message = await future
        if "error" in message:
            raise RuntimeError(message["error"])
        return message.get("result")

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.request("shutdown", None), 10)
            self.notify("exit", None)
            await asyncio.wait_for(self.proc.wait(), 10)
        finally:
            if self.proc.returncode is None:
                self.proc.kill()
            self._reader.cancel()


def rss_kib(pid: int) -> dict[str, int]:
    """Resident and peak resident memory of a process (Linux /proc)."""
    values = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0])
    return values
