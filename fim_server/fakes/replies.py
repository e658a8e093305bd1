"""What a fake provider is scripted with (:class:`Reply`) and what it records
(:class:`RecordedRequest`); shared by every dialect.

A reply's timeline is::

    delay_before_headers -> status line + headers -> keepalives (keepalive_interval apart)
    -> body (stream frames chunk_delay apart, or one JSON document) -> end

with the fault injections ``drop_after_chunks`` (abrupt close), ``reset_after_chunks``
(TCP reset), ``hang`` / ``hang_after_chunks`` (stall until the client closes) and
``raw_body`` (bytes sent verbatim instead of a well-formed answer).
"""

from __future__ import annotations

import math
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Union

__all__ = ["DEFAULT_TEXT", "REASONS", "RecordedRequest", "Reply", "ReplySource", "Script", "estimate_tokens", "split_text"]

#: Text of the built-in default reply.
DEFAULT_TEXT = "completion()"
#: Characters-to-tokens ratio used for the computed ``usage`` numbers.
TOKENS_PER_CHAR = 0.3

#: Reason phrases of the status lines the fakes send.
REASONS = {
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
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

# Default (message, type, code) of the ``{"error": {...}}`` bodies of Reply.error, by status
# (DeepSeek's wording; OpenAI-compatible servers use the same envelope).
ERROR_DEFAULTS: dict[int, tuple[str, str, str]] = {
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
    """Approximate token count used by the fakes: ``round(len(text) * 0.3)``, at
    least 1 for non-empty text."""
    if not text:
        return 0
    return max(1, int(round(len(text) * TOKENS_PER_CHAR)))


def split_text(text: str, parts: int = 3) -> list[str]:
    """Split ``text`` into at most ``parts`` nearly equal, non-empty pieces."""
    if not text:
        return [""]
    parts = max(1, min(parts, len(text)))
    size = math.ceil(len(text) / parts)
    return [text[i : i + size] for i in range(0, len(text), size)]


@dataclass
class Reply:
    """One scripted answer of a fake to a completion request.

    Attributes:
        text: completion text.  ``None`` means ``""`` unless ``chunks`` is given
            (then the text is the concatenation of the chunks).
        chunks: explicit stream pieces; by default the text is split into up to
            three nearly equal pieces.  Non-streaming replies send their concatenation.
        status: HTTP status.  Anything other than 200 sends an error body.
        error_body: error JSON for non-200 statuses; default: the dialect's error
            body for the status.
        headers: extra response headers (e.g. ``{"Retry-After": "2"}``).
        delay_before_headers: seconds to wait before sending anything (latency).
        keepalives: keep-alive lines sent after the headers, before the body: blank
            lines for JSON replies, the dialect's keep-alive (``": keep-alive"`` SSE
            comments) for streams.  Ignored for errors.
        keepalive_interval: seconds between keep-alives (and before the body).
        chunk_delay: seconds between streamed pieces (streaming only).
        drop_after_chunks: close the socket abruptly after this many stream pieces
            (streaming) or right after headers and keep-alives (non-streaming).
        hang: send headers and keep-alives, then never finish until the client
            closes the connection (or the fake stops).
        hang_after_chunks: streaming only: send this many pieces, then stall.
        finish_reason: ``"stop"`` or ``"length"`` (any string is passed through).
        usage: usage object to report as is; default: computed from
            :func:`estimate_tokens`.
        force_stream: ``True``/``False`` to force the reply mode; ``None`` follows
            the request.
        model: model name to report; default: the request's model.
        raw_body: send these bytes verbatim as the 200 body (chunked,
            ``raw_chunk_size`` bytes a chunk) instead of a well-formed answer, as
            ``text/event-stream`` when the reply streams, else ``application/json``.
        raw_chunk_size: size of the chunks ``raw_body`` is sent in.
        reset_after_chunks: streaming only: after this many pieces, close the
            connection with a TCP reset (RST) instead of a clean close.
        drop_before_headers: close the connection right after reading the
            request, before any byte of an answer: what a client sees when the
            server closes a kept-alive connection just as the request goes out.
    """

    text: str | None = None
    chunks: list[str] | None = None
    status: int = 200
    error_body: Any = None
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
    drop_before_headers: bool = False

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
        """An error reply with the body ``{"error": {message, type, param, code}}``
        (DeepSeek's, also OpenAI's envelope).

        ``message``, ``type`` and ``code`` default to typical values for the status;
        ``retry_after`` adds a ``Retry-After`` header.  A fake's own ``error`` method
        gives the error body of its dialect instead.
        """
        d_message, d_type, d_code = ERROR_DEFAULTS.get(status, (REASONS.get(status, "Error"), "api_error", "error"))
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
        """Close the connection abruptly after ``after_chunks`` stream pieces."""
        return cls(text=text, drop_after_chunks=after_chunks, **kwargs)

    @classmethod
    def raw(cls, body: bytes, **kwargs: Any) -> Reply:
        """A 200 whose body is ``body`` verbatim (see :attr:`raw_body`)."""
        return cls(raw_body=body, **kwargs)

    @classmethod
    def reset(cls, after_chunks: int = 1, text: str = DEFAULT_TEXT, **kwargs: Any) -> Reply:
        """A stream cut by a TCP reset after ``after_chunks`` pieces."""
        return cls(text=text, reset_after_chunks=after_chunks, **kwargs)

    def full_text(self) -> str:
        """The completion text this reply delivers (non-streaming form)."""
        if self.text is not None:
            return self.text
        if self.chunks is not None:
            return "".join(self.chunks)
        return ""

    def stream_pieces(self) -> list[str]:
        """The text pieces this reply streams, one per frame."""
        if self.chunks is not None:
            return list(self.chunks) or [""]
        return split_text(self.full_text())

    @property
    def plain(self) -> bool:
        """Whether a non-streaming answer goes out as one plain JSON response (no
        keep-alives, hang or drop)."""
        return not (self.keepalives or self.hang or self.drop_after_chunks is not None)


#: A scripted reply, or a function computing one from the request.
ReplySource = Union[Reply, Callable[["RecordedRequest"], Reply]]


class Script:
    """The replies a fake gives, in order, then its default (thread-safe)."""

    def __init__(self, replies: Iterable[ReplySource] = (), default: ReplySource | None = None) -> None:
        self._lock = threading.Lock()
        self._queue: deque[ReplySource] = deque(replies)
        self.default: ReplySource = default if default is not None else Reply(text=DEFAULT_TEXT)

    def push(self, replies: Iterable[ReplySource]) -> None:
        with self._lock:
            self._queue.extend(replies)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._queue)

    def next(self, req: RecordedRequest) -> Reply | str:
        """The next reply for ``req``, or why a reply function failed."""
        with self._lock:
            source = self._queue.popleft() if self._queue else self.default
        if isinstance(source, Reply):
            return source
        try:
            reply = source(req)
        except Exception as exc:  # noqa: BLE001 - reported to the client
            return f"fake reply function raised {exc!r}"
        return reply if isinstance(reply, Reply) else f"fake reply function returned {reply!r}"


@dataclass
class RecordedRequest:
    """One HTTP request a fake received.

    Attributes:
        method: ``"GET"``, ``"POST"``...
        path: request path without the query string.
        query: query string (without ``?``), ``""`` if none.
        headers: header names lowercased; repeated headers joined with ``", "``.
        body: parsed JSON body, or ``None`` when empty or not JSON.
        raw_body: body bytes as received.
        connection_id: 1-based id of the TCP connection (same for requests sent on
            the same kept-alive connection).
        received_at: ``time.monotonic()`` when the request was fully read.
        is_completion: whether the fake took it as a completion request (its
            dialect's completion route, ``POST``).
        reply_id: the id the fake's answer carries (every frame of a stream).
        reply: the :class:`Reply` chosen for it (``None`` for other routes).
        outcome: ``None`` while in progress, then ``"completed"``,
            ``"client_closed"``, ``"dropped"`` (scripted drop or reset),
            ``"stopped"`` (the fake was stopped mid-reply) or ``"error"`` (a bug in
            the fake).
        completed: set when the reply was fully sent.
        client_closed: set when the client closed the connection (EOF or reset)
            before the reply finished; the fake then stops working on it.
    """

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    raw_body: bytes
    connection_id: int
    received_at: float
    is_completion: bool = False
    reply_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    reply: Reply | None = None
    outcome: str | None = None
    completed: threading.Event = field(default_factory=threading.Event, repr=False)
    client_closed: threading.Event = field(default_factory=threading.Event, repr=False)

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
