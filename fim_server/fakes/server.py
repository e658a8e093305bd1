"""The generic scripted HTTP fake every fake provider is built on.

A :class:`FakeServer` listens on ``127.0.0.1`` (real HTTP/1.1, keep-alive
connections, optionally TLS) in a daemon thread, so synchronous and asynchronous
tests can both drive it.  It answers completion requests with scripted
:class:`Reply` objects, consumed in order (then the default reply), records every
request as a :class:`RecordedRequest`, and carries out the fault injections of a
reply (latency, keep-alives, drops, resets, hangs, raw bodies).

A dialect (one module per provider API) is a subclass that says:

* ``completion_paths``: where completions are POSTed; ``routes()``: the other
  GET routes (path -> function of the request giving ``(status, JSON)``);
* ``document(req, reply, text)``: the non-streaming answer;
* ``frames(req, reply)``: the streamed body, one ``bytes`` per piece of text, and
  ``tail(req, reply)``: what follows the last piece;
* ``error_body(status, message)``: its error JSON; ``check(req)``: its own
  refusals before the script (unknown model, missing fields);
* ``stream_type``, ``keepalive``, ``stream_by_default``, ``default_models``,
  ``server_header``, ``bad_body_message``.

Use: ``with FakeDeepSeek([Reply(text="x = 1"), Reply.error(429)]) as fake:``, point a
client at ``fake.base_url``, read ``fake.completion_requests()``.  All public
methods are thread-safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any, Callable, Iterable

from fim_server.fakes.replies import RecordedRequest, Reply, ReplySource, Script, estimate_tokens
from fim_server.fakes.wire import (
    LAST_CHUNK, BadRequest, ClientGone, Connection, Dropped, Listener, chunk, head, json_bytes, read_request,
)

__all__ = ["FakeServer", "RecordedRequest", "Reply", "ReplySource"]

Route = Callable[[RecordedRequest], "tuple[int, Any]"]


class FakeServer:
    """A scripted fake provider on ``127.0.0.1`` (see the module docs).

    Args:
        replies: scripted replies (or functions of the request returning one),
            consumed in order by completion requests.
        default: reply (or function) used once the script runs out; default:
            ``Reply(text="completion()")``.
        api_key: if set, a request whose ``Authorization: Bearer`` token differs
            gets the dialect's 401 (no scripted reply is consumed).
        models: ids the model routes list; default ``default_models``.
        validate_models: whether a completion for an unlisted model is refused
            (by the dialect's ``check``).
        host, port: where to listen; port 0 picks a free one.
        ssl_context: a server ``ssl.SSLContext`` to serve HTTPS instead of HTTP.
    """

    completion_paths: frozenset[str] = frozenset({"/v1/completions"})
    server_header = "fake-provider"
    stream_type = "text/event-stream; charset=utf-8"
    #: keep-alive line of a stream (b"": the dialect sends none)
    keepalive = b": keep-alive\n\n"
    #: whether a request without "stream" streams (Ollama: true)
    stream_by_default = False
    default_models: tuple[str, ...] = ("model-a",)
    bad_body_message = "invalid JSON body"
    #: the methods the other routes answer (llama.cpp's /tokenize is a POST)
    route_methods: frozenset[str] = frozenset({"GET"})

    def __init__(
        self,
        replies: Iterable[ReplySource] = (),
        default: ReplySource | None = None,
        api_key: str | None = None,
        *,
        models: Iterable[str] | None = None,
        validate_models: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: Any = None,
    ) -> None:
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._script = Script(replies, default)
        self.api_key = api_key
        self._models = list(models) if models is not None else list(self.default_models)
        self.validate_models = validate_models
        self._requests: list[RecordedRequest] = []
        self._connections_opened = 0
        self._active_connections = 0
        self._stopping = False
        self._listener = Listener(self._handle, host, port, ssl_context, self.server_header)

    # -- the dialect (overridden by each fake) ---------------------------------------------

    def routes(self) -> dict[str, Route]:
        return {}

    def document(self, req: RecordedRequest, reply: Reply, text: str) -> Any:
        raise NotImplementedError

    def frames(self, req: RecordedRequest, reply: Reply) -> list[bytes]:
        raise NotImplementedError

    def tail(self, req: RecordedRequest, reply: Reply) -> bytes:
        return b""

    def error_body(self, status: int, message: str | None) -> Any:
        return Reply.error(status, message).error_body

    def check(self, req: RecordedRequest) -> Reply | None:
        """Dialect-specific refusals before the script (wrong fields, unknown model)."""
        return None

    def wants_stream(self, req: RecordedRequest) -> bool:
        value = req.json.get("stream")
        return self.stream_by_default if value is None else bool(value)

    # -- helpers for dialects and tests ------------------------------------------------------

    def error(self, status: int, message: str | None = None, retry_after: float | None = None, **kwargs: Any) -> Reply:
        """An error reply with this dialect's body."""
        headers = dict(kwargs.pop("headers", {}) or {})
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        return Reply(status=status, error_body=self.error_body(status, message), headers=headers, **kwargs)

    def models(self) -> list[str]:
        """The model ids the model routes list."""
        with self._lock:
            return list(self._models)

    def set_models(self, models: Iterable[str]) -> None:
        """Replace the model ids the model routes list."""
        with self._lock:
            self._models = list(models)

    def usage_numbers(self, req: RecordedRequest, reply: Reply, prompt_fields: tuple[str, ...]) -> tuple[int, int]:
        """(prompt tokens, completion tokens), or the reply's own ``usage`` numbers."""
        if reply.usage is not None:
            return int(reply.usage.get("prompt_tokens", 0)), int(reply.usage.get("completion_tokens", 0))
        text = "".join(v for v in (req.json.get(f) for f in prompt_fields) if isinstance(v, str))
        return estimate_tokens(text), estimate_tokens(reply.full_text())

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 5.0) -> FakeServer:
        """Start listening (in a background daemon thread); returns ``self``."""
        self._stopping = False
        self._listener.start(timeout)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop listening, abort open connections and join the thread.  Idempotent."""
        self._stopping = True
        self._listener.stop(timeout)

    def __enter__(self):
        if self._listener.thread is None:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port listened on (after :meth:`start`)."""
        if self._listener.port is None:
            raise RuntimeError(f"{type(self).__name__} not started")
        return self._listener.port

    @property
    def url(self) -> str:
        """The server's root, e.g. ``http://127.0.0.1:PORT``."""
        return f"{'https' if self._listener.ssl is not None else 'http'}://{self._listener.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What ``fimServer.baseUrl`` should be for this fake."""
        return self.url

    # -- scripting and recording ---------------------------------------------------------------

    def push(self, *replies: ReplySource) -> None:
        """Append scripted replies (consumed after those already queued)."""
        self._script.push(replies)

    def set_default(self, reply: ReplySource) -> None:
        """Replace the reply used when the script is empty."""
        self._script.default = reply

    @property
    def pending_replies(self) -> int:
        """Number of scripted replies not consumed yet."""
        return len(self._script)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Snapshot of all recorded requests, in arrival order."""
        with self._lock:
            return list(self._requests)

    def completion_requests(self) -> list[RecordedRequest]:
        """Recorded completion requests only."""
        with self._lock:
            return [r for r in self._requests if r.is_completion]

    def wait_for_requests(self, n: int, timeout: float = 5.0, *, completions_only: bool = False) -> bool:
        """Wait until at least ``n`` requests (or completion requests) were recorded."""

        def enough() -> bool:
            reqs = self._requests
            return (sum(1 for r in reqs if r.is_completion) if completions_only else len(reqs)) >= n

        with self._cond:
            return self._cond.wait_for(enough, timeout)

    @property
    def connections_opened(self) -> int:
        """TCP connections accepted since start (or :meth:`reset`)."""
        with self._lock:
            return self._connections_opened

    @property
    def active_connections(self) -> int:
        """TCP connections currently open."""
        with self._lock:
            return self._active_connections

    def reset(self) -> None:
        """Forget recorded requests, the connection count and unconsumed scripted
        replies.  Default reply, models and API key are kept."""
        self._script.clear()
        with self._lock:
            self._requests.clear()
            self._connections_opened = 0

    # -- request handling (event-loop thread) ----------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._lock:
            self._connections_opened += 1
            self._active_connections += 1
            conn_id = self._connections_opened
        conn = Connection(conn_id, reader, writer)
        try:
            while not self._stopping:
                try:
                    req, keep_alive = await read_request(conn)
                except ClientGone:
                    return
                except BadRequest as exc:
                    with contextlib.suppress(ClientGone):
                        await self._send_error(conn, self.error(400, str(exc)), False, None)
                    return
                req.is_completion = req.method == "POST" and req.path in self.completion_paths
                with self._cond:
                    self._requests.append(req)
                    self._cond.notify_all()
                if not await self._respond(conn, req, keep_alive):
                    return
        except asyncio.CancelledError:
            pass
        finally:
            with self._lock:
                self._active_connections -= 1
            await conn.close()

    def _precheck(self, req: RecordedRequest) -> Reply | None:
        """Errors that happen before a request reaches the script."""
        if self.api_key is not None and req.bearer != self.api_key:
            return self.error(401)
        if req.path in self.routes():
            return None if req.method in self.route_methods else self.error(405)
        if req.path not in self.completion_paths:
            return self.error(404, f"No route for {req.method} {req.path}")
        if req.method != "POST":
            return self.error(405)
        if not isinstance(req.body, dict):
            return self.error(400, self.bad_body_message)
        return self.check(req)

    async def _respond(self, conn: Connection, req: RecordedRequest, keep_alive: bool) -> bool:
        """Send the reply for ``req``; returns whether the connection stays usable."""
        reply = self._precheck(req)
        if reply is None and req.is_completion:
            reply = self._script.next(req)
            reply = reply if isinstance(reply, Reply) else self.error(500, reply)
        req.reply = reply
        # Run the reply while watching for the client hanging up.
        send = asyncio.ensure_future(self._send(conn, req, reply, keep_alive))
        watch = asyncio.ensure_future(conn.wait_eof())
        try:
            await asyncio.wait({send, watch}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            send.cancel()
            watch.cancel()
            req.outcome = "stopped"
            raise
        finally:
            watch.cancel()
        if not send.done():
            send.cancel()
            with contextlib.suppress(BaseException):
                await send
            self._finish(req, "client_closed")
            return False
        exc = send.exception()
        if exc is None:
            self._finish(req, "completed")
            return keep_alive
        if isinstance(exc, Dropped):
            return False
        self._finish(req, "client_closed" if isinstance(exc, ClientGone) else "error")
        return False

    def _finish(self, req: RecordedRequest, outcome: str) -> None:
        req.outcome = outcome
        if outcome == "completed":
            req.completed.set()
        elif outcome == "client_closed":
            req.client_closed.set()
        with self._cond:
            self._cond.notify_all()

    # -- reply writers -------------------------------------------------------------------------

    async def _send(self, conn: Connection, req: RecordedRequest, reply: Reply | None, keep_alive: bool) -> None:
        if reply is not None and reply.drop_before_headers:
            await self._drop(conn, req)
        if reply is None:  # one of the dialect's other routes
            status, obj = self.routes()[req.path](req)
            return await self._send_json(conn, status, obj, keep_alive)
        if reply.status != 200:
            return await self._send_error(conn, reply, keep_alive, req)
        stream = reply.force_stream if reply.force_stream is not None else self.wants_stream(req)
        if reply.raw_body is not None:
            return await self._send_raw(conn, reply, stream, keep_alive)
        if stream:
            return await self._send_frames(conn, req, reply, keep_alive)
        return await self._send_document(conn, req, reply, keep_alive)

    def _headers(self, content_type: str, keep_alive: bool, reply: Reply | None = None) -> list[tuple[str, str]]:
        headers = [("Content-Type", content_type), ("Server", self.server_header),
                   ("Connection", "keep-alive" if keep_alive else "close")]
        return headers + list(reply.headers.items() if reply is not None else ())

    async def _send_json(self, conn: Connection, status: int, obj: Any, keep_alive: bool, reply: Reply | None = None) -> None:
        body = json_bytes(obj)
        headers = self._headers("application/json", keep_alive, reply) + [("Content-Length", str(len(body)))]
        await conn.write(head(status, headers) + body)

    async def _start_chunked(self, conn: Connection, status: int, kind: str, keep_alive: bool, reply: Reply) -> None:
        headers = self._headers(kind, keep_alive, reply) + [("Transfer-Encoding", "chunked")]
        await conn.write(head(status, headers))

    async def _send_error(self, conn: Connection, reply: Reply, keep_alive: bool, req: RecordedRequest | None) -> None:
        await conn.sleep(reply.delay_before_headers)
        body = reply.error_body if reply.error_body is not None else self.error_body(reply.status, None)
        if reply.drop_after_chunks is not None:
            headers = self._headers("application/json", keep_alive, reply)
            await conn.write(head(reply.status, headers + [("Content-Length", str(len(json_bytes(body))))]))
            await self._drop(conn, req)
        if reply.hang:
            await self._start_chunked(conn, reply.status, "application/json", keep_alive, reply)
            await conn.wait_eof()
        await self._send_json(conn, reply.status, body, keep_alive, reply)

    async def _send_raw(self, conn: Connection, reply: Reply, stream: bool, keep_alive: bool) -> None:
        await conn.sleep(reply.delay_before_headers)
        await self._start_chunked(conn, 200, self.stream_type if stream else "application/json", keep_alive, reply)
        await conn.keepalives(reply.keepalives, reply.keepalive_interval, (self.keepalive or b"\n") if stream else b"\n")
        if reply.hang:
            await conn.wait_eof()
        body = reply.raw_body or b""
        step = max(1, reply.raw_chunk_size)
        for start in range(0, len(body), step):
            await conn.write(chunk(body[start : start + step]))
        await conn.write(LAST_CHUNK)

    async def _send_document(self, conn: Connection, req: RecordedRequest, reply: Reply, keep_alive: bool) -> None:
        await conn.sleep(reply.delay_before_headers)
        doc = self.document(req, reply, reply.full_text())
        if reply.plain:
            return await self._send_json(conn, 200, doc, keep_alive, reply)
        await self._start_chunked(conn, 200, "application/json", keep_alive, reply)
        await conn.keepalives(reply.keepalives, reply.keepalive_interval, b"\n")
        if reply.drop_after_chunks is not None:
            await self._drop(conn, req)
        if reply.hang:
            await conn.wait_eof()
        await conn.write(chunk(json_bytes(doc)) + LAST_CHUNK)

    async def _send_frames(self, conn: Connection, req: RecordedRequest, reply: Reply, keep_alive: bool) -> None:
        await conn.sleep(reply.delay_before_headers)
        headers = self._headers(self.stream_type, keep_alive) + [("Cache-Control", "no-cache")]
        headers += [*reply.headers.items(), ("Transfer-Encoding", "chunked")]
        await conn.write(head(200, headers))
        if self.keepalive:
            await conn.keepalives(reply.keepalives, reply.keepalive_interval, self.keepalive)
        if reply.hang:
            await conn.wait_eof()
        for i, frame in enumerate(self.frames(req, reply)):
            await self._fault(conn, req, reply, i)
            if i:
                await conn.sleep(reply.chunk_delay)
            await conn.write(chunk(frame))
        await self._fault(conn, req, reply, None)
        tail = self.tail(req, reply)
        await conn.write(chunk(tail) + LAST_CHUNK if tail else LAST_CHUNK)

    async def _fault(self, conn: Connection, req: RecordedRequest, reply: Reply, sent: int | None) -> None:
        """The stream faults due once ``sent`` frames went out (``None``: all of them)."""

        def due(after: int | None) -> bool:
            return after is not None and (sent is None or sent >= after)

        if due(reply.drop_after_chunks):
            await self._drop(conn, req)
        if due(reply.reset_after_chunks):
            await self._drop(conn, req, reset=True)
        if due(reply.hang_after_chunks):
            await conn.wait_eof()

    async def _drop(self, conn: Connection, req: RecordedRequest | None, reset: bool = False) -> None:
        # Record the outcome first, so it is visible once the client sees the close.
        if req is not None:
            self._finish(req, "dropped")
        conn.abort(reset)
        raise Dropped()
