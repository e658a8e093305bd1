"""The raw JSON-RPC client over a language server's stdio, shared by the replay,
the benchmarks and the tests: frames, requests, responses, ``$/cancelRequest``,
notifications, raw bytes. It does what an editor does and no more, so the times it
measures are the server's and the pipe's.

:class:`StdioClient` is the asyncio client; :class:`BlockingClient` drives one from
plain (synchronous) code, running its event loop in a daemon thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import json
import sys
import threading
from typing import Any, Callable, Sequence

__all__ = ["BlockingClient", "StdioClient", "rss_kib"]


class StdioClient:
    """``on_notification`` sees each notification; ``on_request`` gives the result of a
    request from the server (default: null).  Answers to ids nobody waits for (raw
    frames written with :meth:`write_raw`) are kept in ``unclaimed`` until
    :meth:`answer` asks for them."""

    def __init__(
        self,
        proc: asyncio.subprocess.Process,
        on_notification: Callable[[dict], None] | None = None,
        on_request: Callable[[dict], Any] | None = None,
    ) -> None:
        self.proc = proc
        self._ids = itertools.count(1)
        self._pending: dict[Any, asyncio.Future] = {}
        self.unclaimed: dict[Any, dict] = {}
        self.on_notification = on_notification or (lambda message: None)
        self.on_request = on_request or (lambda message: None)
        self.stderr_chunks: list[bytes] = []
        self._reader = asyncio.ensure_future(self._read_loop())
        self._stderr = asyncio.ensure_future(self._read_stderr()) if proc.stderr is not None else None

    @classmethod
    async def start(
        cls,
        args: Sequence[str] = (),
        env: dict | None = None,
        stderr=None,
        python_args: Sequence[str] = (),
        cwd: str | None = None,
        **kwargs,
    ) -> StdioClient:
        """Start ``python [python_args] -m fim_server [args]`` (``python_args``: say,
        ``-m cProfile -o FILE`` to profile the server).  ``stderr=asyncio.subprocess.PIPE``
        collects the server's stderr in ``stderr_chunks``."""
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
            cwd=cwd,
            limit=1 << 24,
        )
        return cls(proc, **kwargs)

    async def _read_loop(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = None
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
            if length is None:
                continue
            message = json.loads(await out.readexactly(length))
            if "id" in message and "method" not in message:
                self._settle(message)
            elif "id" in message:  # a request from the server
                self._write({"jsonrpc": "2.0", "id": message["id"], "result": self.on_request(message)})
            else:
                self.on_notification(message)

    def _settle(self, message: dict) -> None:
        try:
            future = self._pending.pop(message["id"], None)
        except TypeError:  # an id no request could have (a list, an object)
            return
        if future is None:
            self.unclaimed[message["id"]] = message
        elif not future.done():
            future.set_result(message)

    async def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        while chunk := await self.proc.stderr.read(65536):
            self.stderr_chunks.append(chunk)

    def write_raw(self, data: bytes) -> None:
        """Bytes on the server's stdin as they are (frames, junk, half messages)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)

    def _write(self, message: dict) -> None:
        body = json.dumps(message, ensure_ascii=False).encode("utf-8")
        self.write_raw(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def notify(self, method: str, params: Any) -> None:
        self._write({"jsonrpc": "2.0", "method": method, "params": params})

    def send(self, method: str, params: Any) -> tuple[int, asyncio.Future]:
        """Send a request; its id and a future of the whole response message."""
        msg_id = next(self._ids)
        future = self.answer(msg_id)
        self._write({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return msg_id, future

    def answer(self, msg_id: Any) -> asyncio.Future:
        """A future of the response with ``msg_id`` (also for requests written raw)."""
        future = self._pending.get(msg_id)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            if msg_id in self.unclaimed:
                future.set_result(self.unclaimed.pop(msg_id))
            elif self.proc.stdout is not None and self._reader.done():
                future.set_exception(ConnectionError("the server closed its output"))
            else:
                self._pending[msg_id] = future
        return future

    def cancel(self, msg_id: int) -> None:
        self.notify("$/cancelRequest", {"id": msg_id})

    async def request(self, method: str, params: Any, timeout: float = 30) -> Any:
        _, future = self.send(method, params)
        message = await asyncio.wait_for(future, timeout)
        if "error" in message:
            raise RuntimeError(message["error"])
        return message.get("result")

    async def close(self, timeout: float = 10) -> int | None:
        """``shutdown`` and ``exit`` (killed when it does not go); its exit code."""
        try:
            await asyncio.wait_for(self.request("shutdown", None), timeout)
            self.notify("exit", None)
            await asyncio.wait_for(self.proc.wait(), timeout)
        except (asyncio.TimeoutError, ConnectionError, RuntimeError, OSError):
            pass
        finally:
            if self.proc.returncode is None:
                self.proc.kill()
                await self.proc.wait()
            self._reader.cancel()
            if self._stderr is not None:
                await asyncio.gather(self._stderr, return_exceptions=True)
        return self.proc.returncode


class BlockingClient:
    """A :class:`StdioClient` for synchronous code: its event loop runs in a daemon
    thread; every call waits for its result.  Notifications are kept in
    ``notifications``; a request from the server is answered by ``on_request``.
    ``request`` and ``wait_answer`` raise ``TimeoutError`` when no answer comes in
    time or the server is gone."""

    def __init__(self, *args: str, env: dict | None = None, cwd: str | None = None) -> None:
        self.notifications: list[dict] = []
        self._lock = threading.Lock()
        self._futures: dict[Any, asyncio.Future] = {}
        self._closed = False
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, name="stdio-client", daemon=True).start()
        self.client: StdioClient = self._call(StdioClient.start(
            args, env=env, cwd=cwd, stderr=asyncio.subprocess.PIPE,
            on_notification=self._notified, on_request=self.on_request,
        ), 30)

    def on_request(self, message: dict) -> Any:
        return None

    def _notified(self, message: dict) -> None:
        with self._lock:
            self.notifications.append(message)

    def _call(self, coro: Any, timeout: float | None = None) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def _run(self, function: Callable[[], Any]) -> Any:
        """``function()`` in the loop's thread (in order with everything else written)."""

        async def call() -> Any:
            return function()

        return self._call(call())

    @property
    def pid(self) -> int:
        return self.client.proc.pid

    @property
    def stderr_chunks(self) -> list[bytes]:
        return self.client.stderr_chunks

    def poll(self) -> int | None:
        """The exit code, or None while the server runs."""
        return self.client.proc.returncode

    def write_raw(self, data: bytes) -> None:
        self._run(lambda: self.client.write_raw(data))

    def notify(self, method: str, params: Any = None) -> None:
        self._run(lambda: self.client.notify(method, params))

    def send_request(self, method: str, params: Any = None) -> int:
        msg_id, future = self._run(lambda: self.client.send(method, params))
        self._futures[msg_id] = future
        return msg_id

    def wait_answer(self, msg_id: Any, timeout: float = 10.0) -> dict:
        """The whole response message with ``msg_id`` (also for requests written raw)."""
        future = self._futures.pop(msg_id, None) or self._run(lambda: self.client.answer(msg_id))

        async def wait() -> dict:
            return await asyncio.wait_for(future, timeout)

        try:
            return self._call(wait())
        except (asyncio.TimeoutError, concurrent.futures.TimeoutError, ConnectionError) as exc:
            raise TimeoutError(f"no answer to request {msg_id} (server exit code {self.poll()})") from exc

    def request(self, method: str, params: Any = None, timeout: float = 10.0) -> Any:
        answer = self.wait_answer(self.send_request(method, params), timeout)
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer.get("result")

    def unclaimed(self) -> list[dict]:
        """Answers nobody waited for."""
        if self._closed:  # the loop has stopped: nothing changes them now
            return list(self.client.unclaimed.values())
        return self._run(lambda: list(self.client.unclaimed.values()))

    def close(self, timeout: float = 5.0) -> int | None:
        """Shut the server down (killed when it does not go) and stop the loop; its exit code."""
        if self._closed:
            return self.poll()
        self._closed = True
        try:
            return self._call(self.client.close(timeout))
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)

    def __enter__(self) -> BlockingClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
