"""A scriptable fake of DeepSeek's FIM completion API, served over real HTTP/1.1.

The fake listens on ``127.0.0.1`` and speaks enough of DeepSeek's protocol for
end-to-end tests and benchmarks:

* ``POST /completions`` (also ``/beta/completions`` and ``/v1/completions``):
  FIM completions, non-streaming (JSON) or streaming (server-sent events),
  including DeepSeek's keep-alive habits: blank lines before a JSON body and
  ``: keep-alive`` SSE comments before the first event while a request waits
  to be scheduled.
* ``GET /models`` (also ``/beta/models`` and ``/v1/models``): the model list.
* DeepSeek-shaped error bodies with any status and an optional ``Retry-After``.

It is built on :func:`asyncio.start_server` with a hand-written minimal HTTP/1.1
parser (request line, headers, ``Content-Length`` or chunked body), supports
keep-alive connections (several requests on one TCP connection, as httpx does)
and runs its event loop in a background daemon thread, so synchronous and
asynchronous tests can both drive it.

Typical use::

    with FakeDeepSeek([Reply(text="x = 1"), Reply.error(429, "slow down", retry_after=1)]) as fake:
        client = httpx.Client(base_url=fake.url)
        client.post("/completions", json={...})   # -> "x = 1"
        client.post("/completions", json={...})   # -> 429
        client.post("/completions", json={...})   # -> default reply: "completion()"
        assert fake.completion_requests()[0].body["prompt"] == ...

Scripted replies are consumed, in order, by completion requests only (requests
that pass the API key check and carry a JSON object body); once they run out,
the default reply is used.  The default default is :data:`DEFAULT_TEXT`
(``"completion()"``) with no delay.

Command line (for benchmarks or manual checks)::

    python -m fim_server.fakes.deepseek --port 0 [--text TEXT] [--latency-ms N] [--api-key K]

prints ``listening http://127.0.0.1:PORT`` and serves until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import signal
import socket
import struct
import sys
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Union

from fim_server.core.text import common_prefix_len

__all__ = [
    "COMPLETION_PATHS",
    "DEFAULT_MODELS",
    "DEFAULT_TEXT",
    "MODEL_PATHS",
    "FakeDeepSeek",
    "RecordedRequest",
    "Reply",
    "ReplySource",
    "estimate_tokens",
    "main",
]

#: Text of the built-in default reply.
DEFAULT_TEXT = "completion()"
#: Models listed by ``GET /models`` unless changed with :meth:`FakeDeepSeek.set_models`.
DEFAULT_MODELS: tuple[str, ...] = ("deepseek-v4-flash", "deepseek-v4-pro")
#: Paths answered as FIM completions (POST).
COMPLETION_PATHS = frozenset({"/completions", "/beta/completions", "/v1/completions"})
#: Paths answered with the model list (GET).
MODEL_PATHS = frozenset({"/models", "/beta/models", "/v1/models"})

#: Characters-to-tokens ratio used for the computed ``usage`` numbers.
TOKENS_PER_CHAR = 0.3
#: DeepSeek's context cache works in blocks of this many tokens.
CACHE_BLOCK_TOKENS = 64

_MAX_HEADER_BYTES = 64 * 1024
_MAX_BODY_BYTES = 64 * 1024 * 1024

_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

# Default (message, type, code) of DeepSeek-like error bodies, by status.
_ERROR_DEFAULTS: dict[int, tuple[str, str, str]] = {
    400: ("Invalid request body format.", "invalid_request_error", "invalid_request_error"),
    401: ("Authentication Fails, Your api key is invalid", "authentication_error", "invalid_request_error"),
    402: ("Insufficient Balance", "unknown_error", "invalid_request_error"),
    404: ("Not Found", "invalid_request_error", "not_found"),
    405: ("Method Not Allowed", "invalid_request_error", "method_not_allowed"),
    422: ("Model Not Exist", "invalid_request_error", "invalid_request_error"),
    429: ("Rate limit reached for requests", "rate_limit_error", "rate_limit_exceeded"),
    500: ("Internal server error", "api_error", "internal_error"),
    503: ("Server overloaded, please try again later", "api_error", "server_overloaded"),
}


def estimate_tokens(text: str) -> int:
    """Approximate token count used by the fake: ``round(len(text) * 0.3)``, at
    least 1 for non-empty text."""
    if not text:
        return 0
    return max(1, int(round(len(text) * TOKENS_PER_CHAR)))


def _split_text(text: str, parts: int = 3) -> list[str]:
    """Split ``text`` into at most ``parts`` nearly equal, non-empty pieces."""
    if not text:
        return [""]
    parts = max(1, min(parts, len(text)))
    size = math.ceil(len(text) / parts)
    return [text[i : i + size] for i in range(0, len(text), size)]


# --------------------------------------------------------------------------- #
# Scripted replies
# --------------------------------------------------------------------------- #


@dataclass
class Reply:
    """One scripted answer of the fake to a completion request.

    The timeline of a reply is::

        delay_before_headers -> status line + headers -> keepalives (keepalive_interval apart)
        -> body (stream chunks chunk_delay apart, or the JSON document) -> end

    with the fault injections ``drop_after_chunks`` (abrupt close),
    ``hang`` / ``hang_after_chunks`` (stall until the client closes).

    Attributes:
        text: completion text.  ``None`` means ``""`` unless ``chunks`` is given
            (then the text is the concatenation of the chunks).
        chunks: explicit stream pieces; by default the text is split into up to
            three nearly equal pieces.  Non-streaming replies send their
            concatenation.
        status: HTTP status.  Anything other than 200 sends an error body.
        error_body: error JSON for non-200 statuses; default is a
            DeepSeek-shaped ``{"error": {...}}`` for the status.
        headers: extra response headers (e.g. ``{"Retry-After": "2"}``).
        delay_before_headers: seconds to wait before sending anything (latency).
        keepalives: keep-alive lines sent after the headers, before the body:
            blank lines (``"\\n"``) for JSON replies, ``": keep-alive\\n\\n"``
            SSE comments for streaming replies.  Ignored for errors.
        keepalive_interval: seconds between keep-alives (and between the last
            keep-alive and the body).
        chunk_delay: seconds between streamed chunks (streaming only).
        drop_after_chunks: close the socket abruptly after sending this many
            stream chunks (streaming) or right after headers and keep-alives
            (non-streaming, any value).
        hang: send headers and keep-alives, then never finish until the client
            closes the connection (or the fake stops).
        hang_after_chunks: streaming only: send this many text chunks, then
            stall like ``hang``.
        finish_reason: ``"stop"`` or ``"length"`` (any string is passed through).
        usage: usage object to report as is; default: computed (see
            :meth:`FakeDeepSeek` docs / :func:`estimate_tokens`).
        force_stream: ``True``/``False`` to force the reply mode; ``None``
            follows the request's ``"stream"`` flag.
        model: model name to report; default: the request's model.
        raw_body: fault injection: send these bytes verbatim as the 200 body
            (chunked, ``raw_chunk_size`` bytes a chunk) instead of a
            well-formed answer, as ``text/event-stream`` when the request
            streams, else ``application/json`` (malformed JSON, SSE garbage,
            invalid UTF-8, huge answers).
        raw_chunk_size: size of the chunks ``raw_body`` is sent in.
        reset_after_chunks: streaming only: after this many text chunks, close
            the connection with a TCP reset (RST) instead of a clean close.
    """

    text: str | None = None
    chunks: list[str] | None = None
    status: int = 200
    error_body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_before_headers: float = 0.0
    keepalives: int = 0
    keepalive_interval: float = 0.01
    chunk_delay: float = 0.0
    drop_after_chunks: int | None = None
    hang: bool = False
    hang_after_chunks: int | None = None
    finish_reason: str = "stop"
    usage: dict[str, Any] | None = None
    force_stream: bool | None = None
    model: str | None = None
    raw_body: bytes | None = None
    raw_chunk_size: int = 64 * 1024
    reset_after_chunks: int | None = None

    # -- convenience constructors ------------------------------------------ #

    @classmethod
    def ok(cls, text: str, **kwargs: Any) -> Reply:
        """A successful completion with ``text``; ``kwargs`` set other fields."""
        return cls(text=text, **kwargs)

    @classmethod
    def error(
        cls,
        status: int,
        message: str | None = None,
        code: str | None = None,
        retry_after: float | int | str | None = None,
        *,
        type: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Reply:
        """An error reply with DeepSeek's body ``{"error": {message, type, param, code}}``.

        ``message``, ``type`` and ``code`` default to typical values for the
        status; ``retry_after`` adds a ``Retry-After`` header.
        """
        d_message, d_type, d_code = _ERROR_DEFAULTS.get(
            status, (_REASONS.get(status, "Error"), "api_error", "error")
        )
        body = {
            "error": {
                "message": d_message if message is None else message,
                "type": d_type if type is None else type,
                "param": None,
                "code": d_code if code is None else code,
            }
        }
        hdrs = dict(headers or {})
        if retry_after is not None:
            hdrs["Retry-After"] = str(retry_after)
        return cls(status=status, error_body=body, headers=hdrs, **kwargs)

    @classmethod
    def rate_limited(cls, retry_after: float | int | str | None = 1, message: str | None = None) -> Reply:
        """A 429 with ``Retry-After``."""
        return cls.error(429, message, retry_after=retry_after)

    @classmethod
    def overloaded(cls, retry_after: float | int | str | None = None, message: str | None = None) -> Reply:
        """A 503 "server overloaded"."""
        return cls.error(503, message, retry_after=retry_after)

    @classmethod
    def hanging(cls, keepalives: int = 0, **kwargs: Any) -> Reply:
        """Headers (and ``keepalives`` keep-alives), then nothing until the client closes."""
        return cls(hang=True, keepalives=keepalives, **kwargs)

    @classmethod
    def dropped(cls, after_chunks: int = 1, text: str = DEFAULT_TEXT, **kwargs: Any) -> Reply:
        """Close the connection abruptly after ``after_chunks`` stream chunks."""
        return cls(text=text, drop_after_chunks=after_chunks, **kwargs)

    @classmethod
    def raw(cls, body: bytes, **kwargs: Any) -> Reply:
        """A 200 whose body is ``body`` verbatim (see :attr:`raw_body`)."""
        return cls(raw_body=body, **kwargs)

    @classmethod
    def reset(cls, after_chunks: int = 1, text: str = DEFAULT_TEXT, **kwargs: Any) -> Reply:
        """A stream cut by a TCP reset after ``after_chunks`` chunks."""
        return cls(text=text, reset_after_chunks=after_chunks, **kwargs)

    # -- helpers ------------------------------------------------------------ #

    def full_text(self) -> str:
        """The completion text this reply delivers (non-streaming form)."""
        if self.text is not None:
            return self.text
        if self.chunks is not None:
            return "".join(self.chunks)
        return ""

    def stream_pieces(self) -> list[str]:
        """The text pieces this reply streams, one per SSE chunk."""
        if self.chunks is not None:
            return list(self.chunks) or [""]
        return _split_text(self.full_text())


#: A scripted reply, or a function computing one from the request.
ReplySource = Union[Reply, Callable[["RecordedRequest"], Reply]]


# --------------------------------------------------------------------------- #
# Recording
# --------------------------------------------------------------------------- #


@dataclass
class RecordedRequest:
    """One HTTP request the fake received.

    Attributes:
        method: ``"GET"``, ``"POST"``...
        path: request path without the query string.
        query: query string (without ``?``), ``""`` if none.
        headers: header names lowercased; repeated headers joined with ``", "``.
        body: parsed JSON body, or ``None`` when empty or not JSON.
        raw_body: body bytes as received.
        connection_id: 1-based id of the TCP connection (same for requests
            sent on the same kept-alive connection).
        received_at: ``time.monotonic()`` when the request was fully read.
        reply: the :class:`Reply` chosen for it (``None`` for non-completion
            endpoints).
        outcome: ``None`` while in progress, then ``"completed"``,
            ``"client_closed"``, ``"dropped"`` (scripted drop), ``"stopped"``
            (the fake was stopped mid-reply) or ``"error"`` (bug in the fake).
        completed: set when the reply was fully sent.
        client_closed: set when the client closed the connection (EOF or
            reset) before the reply finished; the fake then stops working on it.
    """

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    raw_body: bytes
    connection_id: int
    received_at: float
    reply: Reply | None = None
    outcome: str | None = None
    completed: threading.Event = field(default_factory=threading.Event, repr=False)
    client_closed: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def is_completion(self) -> bool:
        """Whether this is a ``POST`` to one of :data:`COMPLETION_PATHS`."""
        return self.method == "POST" and self.path in COMPLETION_PATHS

    @property
    def json(self) -> dict[str, Any]:
        """The body if it is a JSON object, else ``{}``."""
        return self.body if isinstance(self.body, dict) else {}

    @property
    def prompt(self) -> str | None:
        return self.json.get("prompt")

    @property
    def suffix(self) -> str | None:
        return self.json.get("suffix")

    @property
    def stream(self) -> bool:
        return bool(self.json.get("stream"))

    @property
    def bearer(self) -> str | None:
        """The token of an ``Authorization: Bearer <token>`` header, if any."""
        auth = self.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        return token.strip() if scheme.lower() == "bearer" else None


# --------------------------------------------------------------------------- #
# Minimal HTTP/1.1 connection handling
# --------------------------------------------------------------------------- #


class _BadRequest(Exception):
    pass


class _ClientGone(Exception):
    """The peer closed the connection (EOF or reset)."""


class _Dropped(Exception):
    """A scripted abrupt close."""


class _Conn:
    """One TCP connection: a background pump reads into a buffer and notices EOF.

    Reading continuously lets the fake notice a client hang-up while it is busy
    replying (delays, keep-alives, hangs) without losing bytes of a pipelined
    next request.
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

    async def _wait_data(self) -> None:
        if self.eof.is_set():
            raise _ClientGone()
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
                raise _BadRequest("header section too large")
            await self._wait_data()

    async def read_exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            await self._wait_data()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    async def write(self, data: bytes) -> None:
        if self.eof.is_set():
            raise _ClientGone()
        try:
            self.writer.write(data)
            await self.writer.drain()
        except (ConnectionError, OSError) as exc:
            raise _ClientGone() from exc

    async def sleep(self, seconds: float) -> None:
        """Sleep (the caller races the whole reply against EOF, see ``_respond``)."""
        if self.eof.is_set():
            raise _ClientGone()
        if seconds > 0:
            await asyncio.sleep(seconds)

    async def wait_eof(self) -> None:
        await self.eof.wait()
        raise _ClientGone()

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.transport.abort()

    async def close(self) -> None:
        self._pump_task.cancel()
        with contextlib.suppress(Exception):
            self.writer.close()
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(self.writer.wait_closed(), timeout=1)


def _chunk(data: bytes) -> bytes:
    """Encode one piece of a chunked transfer-encoded body."""
    return b"%x\r\n%s\r\n" % (len(data), data)


_LAST_CHUNK = b"0\r\n\r\n"


def _head(status: int, headers: list[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}"]
    lines += [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# --------------------------------------------------------------------------- #
# The fake server
# --------------------------------------------------------------------------- #


class FakeDeepSeek:
    """A fake DeepSeek FIM server on ``127.0.0.1``, running in a daemon thread.

    Args:
        replies: scripted replies (or functions of the request returning one),
            consumed in order by completion requests.
        default: reply (or function of the request) used once the script runs
            out; default: ``Reply(text="completion()")``.
        api_key: if set, any request whose ``Authorization: Bearer`` token
            differs gets DeepSeek's 401 body (no scripted reply is consumed).
        models: ids listed by ``GET /models``; default :data:`DEFAULT_MODELS`.
        validate_models: if true, a completion whose ``model`` is not listed
            gets a 422 "Model Not Exist" (no scripted reply is consumed).
        host: interface to listen on.
        port: port to listen on; 0 picks a free one.
        ssl_context: a server ``ssl.SSLContext`` to serve HTTPS instead of HTTP.

    Computed usage (unless :attr:`Reply.usage` is given):
    ``prompt_tokens = estimate_tokens(prompt + suffix)``,
    ``completion_tokens = estimate_tokens(text)``,
    ``prompt_cache_hit_tokens`` = tokens of the longest common prefix between
    this prompt and the previous completion request's prompt (any connection),
    rounded down to a multiple of 64 (DeepSeek caches 64-token blocks) and
    capped at ``prompt_tokens``; ``prompt_cache_miss_tokens`` is the rest.

    All public methods are thread-safe.
    """

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
        self._script: deque[ReplySource] = deque(replies)
        self._default: ReplySource = default if default is not None else Reply(text=DEFAULT_TEXT)
        self.api_key = api_key
        self._models: list[str] = list(models) if models is not None else list(DEFAULT_MODELS)
        self.validate_models = validate_models
        self._host = host
        self._requested_port = port
        self._ssl = ssl_context  # an ssl.SSLContext: serve HTTPS (the url says https)
        self._port: int | None = None
        self._requests: list[RecordedRequest] = []
        self._connections_opened = 0
        self._active_connections = 0
        self._last_prompt: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None
        self._conn_tasks: set[asyncio.Task[None]] = set()
        self._stopping = False

    # -- lifecycle ---------------------------------------------------------- #

    def start(self, timeout: float = 5.0) -> FakeDeepSeek:
        """Start listening (in a background daemon thread); returns ``self``."""
        if self._thread is not None:
            raise RuntimeError("FakeDeepSeek already started")
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            try:
                try:
                    self._server = loop.run_until_complete(
                        asyncio.start_server(self._handle, self._host, self._requested_port, ssl=self._ssl)
                    )
                    self._port = self._server.sockets[0].getsockname()[1]
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

        self._stopping = False
        self._thread = threading.Thread(target=run, name="fake-deepseek", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise RuntimeError("FakeDeepSeek did not start in time")
        if failure:
            self._thread.join(timeout)
            self._thread = None
            raise failure[0]
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop listening, abort open connections and join the thread.  Idempotent."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        self._stopping = True
        if loop.is_running():
            fut = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
            with contextlib.suppress(Exception):
                fut.result(timeout)
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._thread = None
        self._loop = None
        self._server = None

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        tasks = list(self._conn_tasks)
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def __enter__(self) -> FakeDeepSeek:
        if self._thread is None:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port listened on (after :meth:`start`)."""
        if self._port is None:
            raise RuntimeError("FakeDeepSeek not started")
        return self._port

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:PORT``; POST ``{url}/completions``."""
        return f"{'https' if self._ssl is not None else 'http'}://{self._host}:{self.port}"

    # -- scripting ---------------------------------------------------------- #

    def push(self, *replies: ReplySource) -> None:
        """Append scripted replies (consumed after those already queued)."""
        with self._lock:
            self._script.extend(replies)

    def set_default(self, reply: ReplySource) -> None:
        """Replace the reply used when the script is empty."""
        with self._lock:
            self._default = reply

    def set_models(self, models: Iterable[str]) -> None:
        """Replace the model ids listed by ``GET /models``."""
        with self._lock:
            self._models = list(models)

    @property
    def pending_replies(self) -> int:
        """Number of scripted replies not consumed yet."""
        with self._lock:
            return len(self._script)

    # -- recording ---------------------------------------------------------- #

    @property
    def requests(self) -> list[RecordedRequest]:
        """Snapshot of all recorded requests, in arrival order."""
        with self._lock:
            return list(self._requests)

    def completion_requests(self) -> list[RecordedRequest]:
        """Recorded ``POST`` completion requests only."""
        with self._lock:
            return [r for r in self._requests if self._is_completion(r)]

    def wait_for_requests(self, n: int, timeout: float = 5.0, *, completions_only: bool = False) -> bool:
        """Wait until at least ``n`` requests (or completion requests) were recorded."""

        def enough() -> bool:
            reqs = self._requests
            count = sum(1 for r in reqs if self._is_completion(r)) if completions_only else len(reqs)
            return count >= n

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
        """Forget recorded requests, the connection count, the cache-prefix
        memory and unconsumed scripted replies.  Default reply, models and API
        key are kept."""
        with self._lock:
            self._requests.clear()
            self._script.clear()
            self._connections_opened = 0
            self._last_prompt = None

    # -- request handling (event-loop thread) ------------------------------- #

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conn_tasks.add(task)
        with self._lock:
            self._connections_opened += 1
            self._active_connections += 1
            conn_id = self._connections_opened
        conn = _Conn(conn_id, reader, writer)
        try:
            while not self._stopping:
                try:
                    req, keep_alive = await self._read_request(conn)
                except _ClientGone:
                    return
                except _BadRequest as exc:
                    with contextlib.suppress(_ClientGone):
                        await self._send_error_reply(conn, Reply.error(400, str(exc)), keep_alive=False)
                    return
                with self._cond:
                    self._requests.append(req)
                    self._cond.notify_all()
                keep_alive = await self._respond(conn, req, keep_alive)
                if not keep_alive:
                    return
        except asyncio.CancelledError:
            pass
        finally:
            with self._lock:
                self._active_connections -= 1
            self._conn_tasks.discard(task)
            await conn.close()

    async def _read_request(self, conn: _Conn) -> tuple[RecordedRequest, bool]:
        # Skip stray CRLFs between requests (allowed by RFC 9112).
        while True:
            while conn.buf[:2] == b"\r\n":
                del conn.buf[:2]
            if conn.buf:
                break
            await conn._wait_data()
        head = await conn.read_until(b"\r\n\r\n", _MAX_HEADER_BYTES)
        try:
            text = head.decode("latin-1")
        except UnicodeDecodeError as exc:  # pragma: no cover - latin-1 decodes anything
            raise _BadRequest("undecodable header") from exc
        lines = text.split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise _BadRequest("malformed request line")
        method, target, version = parts
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                raise _BadRequest("malformed header line")
            key = name.lower()
            value = value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value

        te = headers.get("transfer-encoding", "").lower()
        if "chunked" in te:
            raw = await self._read_chunked(conn)
        else:
            try:
                length = int(headers.get("content-length", "0"))
            except ValueError as exc:
                raise _BadRequest("bad content-length") from exc
            if length < 0 or length > _MAX_BODY_BYTES:
                raise _BadRequest("bad content-length")
            raw = await conn.read_exactly(length) if length else b""

        body: Any = None
        if raw:
            with contextlib.suppress(ValueError):
                body = json.loads(raw)

        conn_hdr = headers.get("connection", "").lower()
        if version == "HTTP/1.0":
            keep_alive = "keep-alive" in conn_hdr
        else:
            keep_alive = "close" not in conn_hdr

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

    async def _read_chunked(self, conn: _Conn) -> bytes:
        out = bytearray()
        while True:
            line = await conn.read_until(b"\r\n", 1024)
            size_txt = line[:-2].split(b";", 1)[0].strip()
            try:
                size = int(size_txt, 16)
            except ValueError as exc:
                raise _BadRequest("bad chunk size") from exc
            if size == 0:
                # Trailers until an empty line.
                while (await conn.read_until(b"\r\n", _MAX_HEADER_BYTES)) != b"\r\n":
                    pass
                return bytes(out)
            if len(out) + size > _MAX_BODY_BYTES:
                raise _BadRequest("body too large")
            out += await conn.read_exactly(size)
            if await conn.read_exactly(2) != b"\r\n":
                raise _BadRequest("bad chunk terminator")

    def _choose_reply(self, req: RecordedRequest) -> Reply:
        """Consume the next scripted reply (or use the default) for ``req``."""
        with self._lock:
            source = self._script.popleft() if self._script else self._default
        if isinstance(source, Reply):
            return source
        try:
            reply = source(req)
        except Exception as exc:  # noqa: BLE001 - reported to the client
            return Reply.error(500, f"fake reply function raised {exc!r}")
        if not isinstance(reply, Reply):
            return Reply.error(500, f"fake reply function returned {reply!r}")
        return reply

    def _precheck(self, req: RecordedRequest) -> Reply | None:
        """Errors that happen before a request reaches the script."""
        if self.api_key is not None and req.bearer != self.api_key:
            return Reply.error(401)
        if req.path in MODEL_PATHS:
            return None if req.method == "GET" else Reply.error(405)
        if req.path not in COMPLETION_PATHS:
            return Reply.error(404, f"No route for {req.method} {req.path}")
        if req.method != "POST":
            return Reply.error(405)
        if not isinstance(req.body, dict):
            return Reply.error(400, "Failed to deserialize the JSON body into the target type")
        if self.validate_models:
            with self._lock:
                known = req.body.get("model") in self._models
            if not known:
                return Reply.error(422, "Model Not Exist")
        return None

    async def _respond(self, conn: _Conn, req: RecordedRequest, keep_alive: bool) -> bool:
        """Send the reply for ``req``; returns whether the connection stays usable."""
        early = self._precheck(req)
        if early is not None:
            reply = early
        elif not self._is_completion(req):
            reply = None  # the model list (subclasses: their other routes)
        else:
            reply = self._choose_reply(req)
        req.reply = reply
        coro = self._reply_coroutine(conn, req, reply, keep_alive)

        # Run the reply while watching for the client hanging up.
        send = asyncio.ensure_future(coro)
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
        if isinstance(exc, _Dropped):
            return False
        if isinstance(exc, _ClientGone):
            self._finish(req, "client_closed")
            return False
        self._finish(req, "error")
        return False

    def _reply_coroutine(self, conn: _Conn, req: RecordedRequest, reply: Reply | None, keep_alive: bool):
        """The coroutine that writes ``reply`` (``None``: a non-completion endpoint)."""
        if reply is None:
            with self._lock:
                data = [{"id": m, "object": "model", "owned_by": "deepseek"} for m in self._models]
            return self._send_json(conn, 200, {"object": "list", "data": data}, keep_alive)
        if reply.status != 200:
            return self._send_error_reply(conn, reply, keep_alive, req)
        stream = reply.force_stream if reply.force_stream is not None else req.stream
        if reply.raw_body is not None:
            return self._send_raw(conn, reply, stream, keep_alive)
        if stream:
            return self._send_stream(conn, req, reply, keep_alive)
        return self._send_completion(conn, req, reply, keep_alive)

    def _is_completion(self, req: RecordedRequest) -> bool:
        """Whether ``req`` is a completion request (subclasses: their own endpoints)."""
        return req.is_completion

    def _finish(self, req: RecordedRequest, outcome: str) -> None:
        req.outcome = outcome
        if outcome == "completed":
            req.completed.set()
        elif outcome == "client_closed":
            req.client_closed.set()
        with self._cond:
            self._cond.notify_all()

    # -- reply writers ------------------------------------------------------ #

    server_header = "fake-deepseek"

    def _base_headers(self, content_type: str, keep_alive: bool) -> list[tuple[str, str]]:
        return [
            ("Content-Type", content_type),
            ("Server", self.server_header),
            ("Connection", "keep-alive" if keep_alive else "close"),
        ]

    async def _send_json(
        self, conn: _Conn, status: int, obj: Any, keep_alive: bool, extra: dict[str, str] | None = None
    ) -> None:
        body = _json_bytes(obj)
        headers = self._base_headers("application/json", keep_alive)
        headers += list((extra or {}).items())
        headers.append(("Content-Length", str(len(body))))
        await conn.write(_head(status, headers) + body)

    async def _send_error_reply(
        self, conn: _Conn, reply: Reply, keep_alive: bool, req: RecordedRequest | None = None
    ) -> None:
        await conn.sleep(reply.delay_before_headers)
        body = reply.error_body
        if body is None:
            body = Reply.error(reply.status).error_body
        if reply.drop_after_chunks is not None:
            headers = self._base_headers("application/json", keep_alive) + list(reply.headers.items())
            headers.append(("Content-Length", str(len(_json_bytes(body)))))
            await conn.write(_head(reply.status, headers))
            await self._drop(conn, req)
        if reply.hang:
            headers = self._base_headers("application/json", keep_alive) + list(reply.headers.items())
            headers.append(("Transfer-Encoding", "chunked"))
            await conn.write(_head(reply.status, headers))
            await conn.wait_eof()
        await self._send_json(conn, reply.status, body, keep_alive, reply.headers)

    async def _send_raw(self, conn: _Conn, reply: Reply, stream: bool, keep_alive: bool) -> None:
        await conn.sleep(reply.delay_before_headers)
        kind = "text/event-stream; charset=utf-8" if stream else "application/json"
        headers = self._base_headers(kind, keep_alive) + list(reply.headers.items())
        headers.append(("Transfer-Encoding", "chunked"))
        await conn.write(_head(200, headers))
        await self._send_keepalives(conn, reply, b": keep-alive\n\n" if stream else b"\n")
        if reply.hang:
            await conn.wait_eof()
        body = reply.raw_body or b""
        step = max(1, reply.raw_chunk_size)
        for start in range(0, len(body), step):
            await conn.write(_chunk(body[start : start + step]))
        await conn.write(_LAST_CHUNK)

    async def _reset(self, conn: _Conn, req: RecordedRequest | None) -> None:
        """Close with a TCP reset: SO_LINGER 0, then close."""
        if req is not None:
            self._finish(req, "dropped")
        sock = conn.writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.abort()
        raise _Dropped()

    async def _drop(self, conn: _Conn, req: RecordedRequest | None) -> None:
        # Record the outcome first, so it is visible once the client sees the close.
        if req is not None:
            self._finish(req, "dropped")
        conn.abort()
        raise _Dropped()

    def _usage(self, req: RecordedRequest, reply: Reply, text: str) -> dict[str, Any]:
        if reply.usage is not None:
            return dict(reply.usage)
        prompt = req.prompt if isinstance(req.prompt, str) else ""
        suffix = req.suffix if isinstance(req.suffix, str) else ""
        prompt_tokens = estimate_tokens(prompt + suffix)
        with self._lock:
            previous, self._last_prompt = self._last_prompt, prompt
        hit = 0
        if previous is not None:
            hit = estimate_tokens(prompt[: common_prefix_len(previous, prompt)])
            hit = min(hit - hit % CACHE_BLOCK_TOKENS, prompt_tokens)
        completion_tokens = estimate_tokens(text)
        return {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_cache_hit_tokens": hit,
            "prompt_cache_miss_tokens": prompt_tokens - hit,
        }

    @staticmethod
    def _model(req: RecordedRequest, reply: Reply) -> str:
        if reply.model is not None:
            return reply.model
        model = req.json.get("model")
        return model if isinstance(model, str) else DEFAULT_MODELS[0]

    async def _send_keepalives(self, conn: _Conn, reply: Reply, line: bytes) -> None:
        for i in range(reply.keepalives):
            if i:
                await conn.sleep(reply.keepalive_interval)
            await conn.write(_chunk(line))
        if reply.keepalives:
            await conn.sleep(reply.keepalive_interval)

    async def _send_completion(self, conn: _Conn, req: RecordedRequest, reply: Reply, keep_alive: bool) -> None:
        await conn.sleep(reply.delay_before_headers)
        text = reply.full_text()
        doc = {
            "id": str(uuid.uuid4()),
            "object": "text_completion",
            "created": int(time.time()),
            "model": self._model(req, reply),
            "choices": [{"index": 0, "text": text, "finish_reason": reply.finish_reason, "logprobs": None}],
            "usage": self._usage(req, reply, text),
        }
        extra = dict(reply.headers)
        plain = not (reply.keepalives or reply.hang or reply.drop_after_chunks is not None)
        if plain:
            await self._send_json(conn, 200, doc, keep_alive, extra)
            return
        headers = self._base_headers("application/json", keep_alive) + list(extra.items())
        headers.append(("Transfer-Encoding", "chunked"))
        await conn.write(_head(200, headers))
        await self._send_keepalives(conn, reply, b"\n")
        if reply.drop_after_chunks is not None:
            await self._drop(conn, req)
        if reply.hang:
            await conn.wait_eof()
        await conn.write(_chunk(_json_bytes(doc)) + _LAST_CHUNK)

    async def _send_stream(self, conn: _Conn, req: RecordedRequest, reply: Reply, keep_alive: bool) -> None:
        await conn.sleep(reply.delay_before_headers)
        headers = self._base_headers("text/event-stream; charset=utf-8", keep_alive)
        headers += [("Cache-Control", "no-cache"), *reply.headers.items(), ("Transfer-Encoding", "chunked")]
        await conn.write(_head(200, headers))
        await self._send_keepalives(conn, reply, b": keep-alive\n\n")
        if reply.hang:
            await conn.wait_eof()

        cid = str(uuid.uuid4())
        created = int(time.time())
        model = self._model(req, reply)
        pieces = reply.stream_pieces()
        for i, piece in enumerate(pieces):
            if reply.drop_after_chunks is not None and i >= reply.drop_after_chunks:
                await self._drop(conn, req)
            if reply.reset_after_chunks is not None and i >= reply.reset_after_chunks:
                await self._reset(conn, req)
            if reply.hang_after_chunks is not None and i >= reply.hang_after_chunks:
                await conn.wait_eof()
            if i:
                await conn.sleep(reply.chunk_delay)
            last = i == len(pieces) - 1
            event = {
                "id": cid,
                "object": "text_completion",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "text": piece,
                        "finish_reason": reply.finish_reason if last else None,
                        "logprobs": None,
                    }
                ],
            }
            await conn.write(_chunk(b"data: " + _json_bytes(event) + b"\n\n"))
        if reply.drop_after_chunks is not None:
            await self._drop(conn, req)
        if reply.reset_after_chunks is not None:
            await self._reset(conn, req)
        if reply.hang_after_chunks is not None:
            await conn.wait_eof()

        options = req.json.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage"):
            usage_event = {
                "id": cid,
                "object": "text_completion",
                "created": created,
                "model": model,
                "choices": [],
                "usage": self._usage(req, reply, reply.full_text()),
            }
            await conn.write(_chunk(b"data: " + _json_bytes(usage_event) + b"\n\n"))
        elif reply.usage is None:
            # Keep the cache-prefix memory consistent even without a usage chunk.
            self._usage(req, reply, "")
        await conn.write(_chunk(b"data: [DONE]\n\n") + _LAST_CHUNK)


# --------------------------------------------------------------------------- #
# Command line
# --------------------------------------------------------------------------- #


def main(argv: list[str] | None = None) -> int:
    """Run the fake until SIGINT/SIGTERM; prints ``listening <url>`` first."""
    parser = argparse.ArgumentParser(
        prog="python -m fim_server.fakes.deepseek", description="Fake DeepSeek FIM completion server."
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: pick a free one)")
    parser.add_argument("--text", default=DEFAULT_TEXT, help=f"completion text (default {DEFAULT_TEXT!r})")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay before the response headers")
    parser.add_argument("--chunk-delay-ms", type=float, default=0.0, help="delay between stream chunks")
    parser.add_argument("--keepalives", type=int, default=0, help="keep-alive lines before each body")
    parser.add_argument("--api-key", default=None, help="require this bearer token")
    args = parser.parse_args(argv)

    default = Reply(
        text=args.text,
        delay_before_headers=args.latency_ms / 1000.0,
        chunk_delay=args.chunk_delay_ms / 1000.0,
        keepalives=args.keepalives,
    )
    fake = FakeDeepSeek(default=default, api_key=args.api_key, host=args.host, port=args.port)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    fake.start()
    try:
        print(f"listening {fake.url}", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
