"""HTTP/1.1 on the wire for the fakes: one connection read in the background, a
minimal request parser (request line, headers, ``Content-Length`` or chunked body)
and the encoders of status lines, chunks and JSON frames."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import threading
import time
from typing import Any, Awaitable, Callable

from fim_server.fakes.replies import REASONS, RecordedRequest

__all__ = [
    "LAST_CHUNK",
    "BadRequest",
    "ClientGone",
    "Connection",
    "Dropped",
    "Listener",
    "chunk",
    "head",
    "json_bytes",
    "json_line",
    "read_request",
    "sse",
]

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024
#: The end of a chunked body.
LAST_CHUNK = b"0\r\n\r\n"


class BadRequest(Exception):
    """The request could not be parsed; answered with a 400 and a close."""


class ClientGone(Exception):
    """The peer closed the connection (EOF or reset)."""


class Dropped(Exception):
    """A scripted abrupt close."""


class Connection:
    """One TCP connection: a background pump reads into a buffer and notices EOF.

    Reading continuously lets the fake notice a client hang-up while it is busy
    replying (delays, keep-alives, hangs) without losing bytes of a pipelined next
    request.
    """

    def __init__(self, conn_id: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.id = conn_id
        self.reader = reader
        self.writer = writer
        self.buf = bytearray()
        self.eof = asyncio.Event()
        self._data = asyncio.Event()
        self._pump_task = asyncio.ensure_future(self._pump())

    async def _pump(self) -> None:
        try:
            while True:
                data = await self.reader.read(65536)
                if not data:
                    break
                self.buf += data
                self._data.set()
        except (ConnectionError, OSError):
            pass
        finally:
            self.eof.set()
            self._data.set()

    async def wait_data(self) -> None:
        """Wait for more bytes; :class:`ClientGone` once the peer has closed."""
        if self.eof.is_set():
            raise ClientGone()
        self._data.clear()
        await self._data.wait()

    async def read_until(self, sep: bytes, limit: int) -> bytes:
        while True:
            idx = self.buf.find(sep)
            if idx >= 0:
                end = idx + len(sep)
                out = bytes(self.buf[:end])
                del self.buf[:end]
                return out
            if len(self.buf) > limit:
                raise BadRequest("header section too large")
            await self.wait_data()

    async def read_exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            await self.wait_data()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    async def write(self, data: bytes) -> None:
        if self.eof.is_set():
            raise ClientGone()
        try:
            self.writer.write(data)
            await self.writer.drain()
        except (ConnectionError, OSError) as exc:
            raise ClientGone() from exc

    async def sleep(self, seconds: float) -> None:
        """Sleep (the server races the whole reply against EOF)."""
        if self.eof.is_set():
            raise ClientGone()
        if seconds > 0:
            await asyncio.sleep(seconds)

    async def wait_eof(self) -> None:
        await self.eof.wait()
        raise ClientGone()

    def abort(self, reset: bool = False) -> None:
        """Close at once; ``reset``: with a TCP reset (SO_LINGER 0) instead of a FIN."""
        sock = self.writer.get_extra_info("socket") if reset else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with contextlib.suppress(Exception):
            self.writer.transport.abort()

    async def keepalives(self, count: int, interval: float, line: bytes) -> None:
        """``count`` chunks of ``line``, ``interval`` apart, and one more interval."""
        for i in range(count):
            if i:
                await self.sleep(interval)
            await self.write(chunk(line))
        if count:
            await self.sleep(interval)

    async def close(self) -> None:
        self._pump_task.cancel()
        with contextlib.suppress(Exception):
            self.writer.close()
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(self.writer.wait_closed(), timeout=1)


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Listener:
    """A TCP server running its own event loop in a daemon thread; each connection
    is handed to ``handler`` as a task, cancelled by :meth:`stop`."""

    def __init__(self, handler: Handler, host: str, port: int, ssl: Any = None, name: str = "fake") -> None:
        self.handler, self.host, self.requested_port, self.ssl, self.name = handler, host, port, ssl, name
        self.port: int | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None
        self.server: asyncio.AbstractServer | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        try:
            await self.handler(reader, writer)
        finally:
            self.tasks.discard(task)

    def start(self, timeout: float) -> None:
        """Listen (in the daemon thread); raises what went wrong."""
        if self.thread is not None:
            raise RuntimeError(f"{self.name} already started")
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self.loop = loop
            try:
                try:
                    self.server = loop.run_until_complete(
                        asyncio.start_server(self.serve, self.host, self.requested_port, ssl=self.ssl)
                    )
                    self.port = self.server.sockets[0].getsockname()[1]
                except BaseException as exc:  # noqa: BLE001 - reported to start()
                    failure.append(exc)
                    return
                finally:
                    ready.set()
                loop.run_forever()
            finally:
                with contextlib.suppress(Exception):
                    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
                    for t in pending:
                        t.cancel()
                    if pending:
                        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.close()

        self.thread = threading.Thread(target=run, name=self.name, daemon=True)
        self.thread.start()
        if not ready.wait(timeout):
            raise RuntimeError(f"{self.name} did not start in time")
        if failure:
            self.thread.join(timeout)
            self.thread = None
            raise failure[0]

    def stop(self, timeout: float) -> None:
        """Stop listening, cancel the connections and join the thread.  Idempotent."""
        thread, loop = self.thread, self.loop
        if thread is None or loop is None:
            return
        if loop.is_running():
            fut = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
            with contextlib.suppress(Exception):
                fut.result(timeout)
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self.thread = self.loop = self.server = None

    async def _shutdown(self) -> None:
        if self.server is not None:
            self.server.close()
        tasks = list(self.tasks)
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


async def read_request(conn: Connection) -> tuple[RecordedRequest, bool]:
    """Read one request; returns it and whether the connection is kept alive."""
    # Skip stray CRLFs between requests (allowed by RFC 9112).
    while True:
        while conn.buf[:2] == b"\r\n":
            del conn.buf[:2]
        if conn.buf:
            break
        await conn.wait_data()
    text = (await conn.read_until(b"\r\n\r\n", MAX_HEADER_BYTES)).decode("latin-1")
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest("malformed request line")
    method, target, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise BadRequest("malformed header line")
        key = name.lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value

    if "chunked" in headers.get("transfer-encoding", "").lower():
        raw = await _read_chunked(conn)
    else:
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError as exc:
            raise BadRequest("bad content-length") from exc
        if length < 0 or length > MAX_BODY_BYTES:
            raise BadRequest("bad content-length")
        raw = await conn.read_exactly(length) if length else b""

    body: Any = None
    if raw:
        with contextlib.suppress(ValueError):
            body = json.loads(raw)

    conn_hdr = headers.get("connection", "").lower()
    keep_alive = "keep-alive" in conn_hdr if version == "HTTP/1.0" else "close" not in conn_hdr
    path, _, query = target.partition("?")
    req = RecordedRequest(
        method=method.upper(),
        path=path,
        query=query,
        headers=headers,
        body=body,
        raw_body=raw,
        connection_id=conn.id,
        received_at=time.monotonic(),
    )
    return req, keep_alive


async def _read_chunked(conn: Connection) -> bytes:
    out = bytearray()
    while True:
        line = await conn.read_until(b"\r\n", 1024)
        size_txt = line[:-2].split(b";", 1)[0].strip()
        try:
            size = int(size_txt, 16)
        except ValueError as exc:
            raise BadRequest("bad chunk size") from exc
        if size == 0:
            # Trailers until an empty line.
            while (await conn.read_until(b"\r\n", MAX_HEADER_BYTES)) != b"\r\n":
                pass
            return bytes(out)
        if len(out) + size > MAX_BODY_BYTES:
            raise BadRequest("body too large")
        out += await conn.read_exactly(size)
        if await conn.read_exactly(2) != b"\r\n":
            raise BadRequest("bad chunk terminator")


def chunk(data: bytes) -> bytes:
    """Encode one piece of a chunked transfer-encoded body."""
    return b"%x\r\n%s\r\n" % (len(data), data)


def head(status: int, headers: list[tuple[str, str]]) -> bytes:
    """The status line and headers of a response."""
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}"]
    lines += [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def json_bytes(obj: Any) -> bytes:
    """Compact UTF-8 JSON."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sse(obj: Any) -> bytes:
    """One server-sent event carrying ``obj`` as JSON."""
    return b"data: " + json_bytes(obj) + b"\n\n"


def json_line(obj: Any) -> bytes:
    """One line of newline-delimited JSON."""
    return json_bytes(obj) + b"\n"
