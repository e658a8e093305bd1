"""The shared HTTP client and the readers for the answer formats providers use.

One ``httpx.AsyncClient`` per server keeps connections alive between keystrokes.
Bodies are read as streams with a size cap, so a cancelled request closes its
connection at once (the provider stops generating) and a runaway answer cannot
fill memory.
"""

from __future__ import annotations

import email.utils
import json
import logging
import ssl
import time
from typing import Any, AsyncIterator, Iterable

import httpx

from fim_server.providers.errors import BadResponse
from fim_server.redaction import redact_and_cut

log = logging.getLogger(__name__)

MAX_ANSWER_BYTES = 1 << 20  # 1 MiB: far more than any completion worth showing
MAX_RETRY_AFTER_S = 300.0
CONNECT_TIMEOUT_S = 5.0
KEEPALIVE_EXPIRY_S = 60.0


def tls_verification(ca_bundle: bool | str | None) -> bool | ssl.SSLContext:
    """True (httpx's default trust: certifi, or SSL_CERT_FILE / SSL_CERT_DIR) or,
    for a CA bundle file, that trust plus the bundle's certificates. Verification
    is never turned off; a bundle that cannot be read is logged and skipped."""
    if not isinstance(ca_bundle, str) or not ca_bundle:
        return True
    context = httpx.create_ssl_context(verify=True, trust_env=True)
    try:
        context.load_verify_locations(cafile=ca_bundle)
    except (OSError, ssl.SSLError, ValueError) as exc:
        log.warning("fimServer.caBundle %s cannot be read as PEM certificates (%s); using the default trust", ca_bundle, exc)
        return True
    return context


def make_client(*, verify: bool | str = True) -> httpx.AsyncClient:
    """The one client a server uses for all provider calls (connection reuse)."""
    return httpx.AsyncClient(
        verify=tls_verification(verify),
        timeout=httpx.Timeout(30.0, connect=CONNECT_TIMEOUT_S),
        limits=httpx.Limits(max_connections=8, max_keepalive_connections=4, keepalive_expiry=KEEPALIVE_EXPIRY_S),
        trust_env=True,
    )


def request_timeout(total_s: float) -> httpx.Timeout:
    return httpx.Timeout(total_s, connect=min(CONNECT_TIMEOUT_S, total_s))


async def read_body(response: httpx.Response, limit: int = MAX_ANSWER_BYTES) -> bytes:
    """The whole body, or ``BadResponse`` once it grows past ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise BadResponse(f"the provider's answer exceeded {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json_body(body: bytes) -> Any:
    """JSON after optional keep-alive blank lines (DeepSeek sends them while queued)."""
    try:
        text = body.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise BadResponse("the provider's answer is not valid UTF-8") from None
    if not text:
        raise BadResponse("the provider sent an empty answer")
    try:
        return json.loads(text)
    except ValueError:
        raise BadResponse("the provider's answer is not valid JSON") from None


async def _lines(response: httpx.Response, limit: int) -> AsyncIterator[bytes]:
    """The body's lines (``\n``, ``\r\n`` or ``\r`` ends one) as bytes, so that a
    character split across chunks is decoded whole."""
    size = 0
    pending = b""
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise BadResponse(f"the provider's stream exceeded {limit} bytes")
        pending += chunk
        *complete, pending = pending.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        for raw in complete:
            yield raw
    if pending:
        yield pending


def _decode(raw: bytes) -> str:
    """Strict UTF-8: an answer that is not UTF-8 is a ``BadResponse``, never ghost
    text full of replacement characters."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadResponse("the provider's answer is not valid UTF-8") from None


async def sse_events(
    response: httpx.Response, limit: int = MAX_ANSWER_BYTES, *, done_marker: bool = True
) -> AsyncIterator[Any]:
    """Decoded ``data:`` payloads of a server-sent event stream.

    Blank lines and ``:`` comment lines (``: keep-alive``) are skipped; the stream
    ends at ``data: [DONE]``. What follows ``[DONE]`` is read and ignored, so that
    the connection ends cleanly and is reused. A stream that closes before
    ``[DONE]`` was cut short: ``BadResponse``, not a partial completion. Servers
    that end their streams without the marker (llama.cpp's native endpoints) pass
    ``done_marker=False`` and check their own last event.
    """
    done = False
    async for raw in _lines(response, limit):
        if done:
            continue
        line = _decode(raw)
        if not line or line.startswith(":"):
            continue
        if not line.startswith("data:"):
            continue  # event:, id:, retry: fields carry nothing we use
        payload = line[5:].strip()
        if payload == "[DONE]":
            done = True
            continue
        try:
            yield json.loads(payload)
        except ValueError:
            raise BadResponse("the provider's stream held a line that is not JSON") from None
    if not done and done_marker:
        raise BadResponse("the provider's stream ended before [DONE]")


def retry_after_seconds(headers: httpx.Headers, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds (number or HTTP date), capped; None when absent or unreadable."""
    value = headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, min(seconds, MAX_RETRY_AFTER_S))


ERROR_TEXT_CHARS = 200


def error_message(body: bytes, secrets: Iterable[str] = ()) -> str:
    """The human part of an error body (``{"error": {"message": ...}}`` and kin),
    short, with ``secrets`` and anything shaped like a key masked before it is cut
    (an upstream may echo the key it was sent)."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return redact_and_cut(text, ERROR_TEXT_CHARS, secrets)
    message: Any = data
    if isinstance(data, dict):
        message = data.get("error", data.get("message", data.get("detail", data)))
        if isinstance(message, dict):
            message = message.get("message", message)
    return redact_and_cut(str(message), ERROR_TEXT_CHARS, secrets)


async def ndjson_objects(response: httpx.Response, limit: int = MAX_ANSWER_BYTES) -> AsyncIterator[Any]:
    """Objects of a newline-delimited JSON stream (Ollama): one per non-blank line."""
    size = 0
    async for line in response.aiter_lines():
        size += len(line) + 1
        if size > limit:
            raise BadResponse(f"the provider's stream exceeded {limit} bytes")
        line = line.strip()
        if not line:
            continue
        try:
            yield json.loads(line)
        except ValueError:
            raise BadResponse("the provider's stream held a line that is not JSON") from None
