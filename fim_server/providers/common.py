"""What the HTTP providers share: key headers, the status-to-error table, and
the mapping of transport failures to ``errors`` classes with messages that name
the fix. Each provider module adds its own endpoint, body and answer reader."""

from __future__ import annotations

import contextlib
import re
from typing import Any, AsyncIterator, Awaitable, Callable

import httpx

from fim_server.providers import errors
from fim_server.settings import Settings
from fim_server.providers.http import ERROR_TEXT_CHARS, error_message, parse_json_body, read_body, request_timeout, retry_after_seconds, sse_events
from fim_server.providers.base import Completion, FimRequest, Streamed, Usage
from fim_server.redaction import redact_and_cut, secret_forms

# An error text that says the model name itself is wrong (not, say, "this model's
# maximum context length is ...").
MODEL_REJECTED = re.compile(
    r"model[^.]*\b(not exist|does not exist|not found|unknown|invalid|not supported|unsupported)"
    r"|(unknown|invalid|unsupported) model|invalid_model",
    re.IGNORECASE,
)
ERROR_BODY_LIMIT = 64 * 1024
MAX_STOP_STRINGS = 16


def stop_list(*groups: tuple[str, ...] | list[str]) -> list[str]:
    """The stop strings of all groups, each once, in order, capped."""
    seen: dict[str, None] = {}
    for group in groups:
        for item in group:
            seen.setdefault(item, None)
    return list(seen)[:MAX_STOP_STRINGS]


def num(data: Any, key: str) -> int:
    value = data.get(key) if isinstance(data, dict) else None
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def error_message_from(data: dict) -> str:
    """The message of an ``{"error": ...}`` object in an answer or a stream chunk."""
    err = data.get("error")
    if isinstance(err, dict):
        return redact_and_cut(str(err.get("message", err)), ERROR_TEXT_CHARS)
    return redact_and_cut(str(err), ERROR_TEXT_CHARS)


def _completion_text(choice: dict) -> Any:
    return choice.get("text")


def choice_text(data: Any, name: str, text_of: Callable[[dict], Any] = _completion_text) -> tuple[str, str | None]:
    """Text and finish reason of the first choice of an OpenAI-style answer (a whole
    answer or one stream chunk); a usage-only chunk has no choices. ``text_of`` finds
    the text in the choice: ``choice["text"]`` for completions, the message or delta
    content for chat-shaped answers (Codestral)."""
    if not isinstance(data, dict):
        raise errors.BadResponse("the provider's answer is not a JSON object")
    if "error" in data:
        raise errors.ProviderUnavailable(f"{name} reported an error mid-answer: {error_message_from(data)}")
    choices = data.get("choices")
    if not isinstance(choices, list):
        raise errors.BadResponse("the provider's answer has no choices")
    if not choices:
        return "", None
    first = choices[0]
    if not isinstance(first, dict):
        raise errors.BadResponse("the provider's answer has a malformed choice")
    text = text_of(first)
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise errors.BadResponse("the provider's answer has a non-text completion")
    reason = first.get("finish_reason")
    return text, reason if isinstance(reason, str) else None


def take_piece(request: FimRequest, streamed: Streamed, text: str) -> bool:
    """Keep one streamed piece in ``streamed`` (which in-flight reuse may watch);
    True when a single-line request (``first_line_only``) now has its first line:
    the reader answers at once, and leaving the caller's ``stream`` block closes
    the connection."""
    if not text:
        return False
    streamed.add(text)
    return request.first_line_only and ("\n" in text or "\r" in text)


async def read_choices(
    response: httpx.Response,
    request: FimRequest,
    text_of: Callable[[Any], tuple[str, str | None]],
    usage_from: Callable[[Any], Usage],
    progress: Streamed | None = None,
) -> Completion:
    """An OpenAI-style answer, streamed (SSE) or whole; ``text_of`` takes the text
    and finish reason out of the answer or of one chunk (``choice_text`` for
    completion-shaped answers, Codestral's for chat-shaped ones).

    Streamed pieces go through ``take_piece`` (into ``progress``, early stop).
    """
    if "text/event-stream" not in response.headers.get("content-type", ""):
        data = parse_json_body(await read_body(response))
        text, reason = text_of(data)
        return Completion(text, reason, usage_from(data.get("usage")))
    streamed = progress if progress is not None else Streamed()
    reason: str | None = None
    usage = Usage()
    async for event in sse_events(response):
        text, finish = text_of(event)
        if take_piece(request, streamed, text):
            return Completion(streamed.text, "early_stop", usage)
        reason = finish or reason
        if event.get("usage"):
            usage = usage_from(event["usage"])
    return Completion(streamed.text, reason, usage)


class HttpProvider:
    """Base of the HTTP providers: settings resolved once, one ``post`` helper."""

    name = "provider"
    model_hint = "set fimServer.model to a model the server lists"
    unreachable_hint = "start the server or check fimServer.baseUrl"  # a local server; an API says "check the network"

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self._settings = settings
        self._client = client
        self.base_url = settings.resolved_base_url()
        self.model = settings.resolved_model()

    # -- requests --------------------------------------------------------------
    def secrets(self) -> list[str]:
        """The key as an error text may echo it: masked there before it is cut."""
        return secret_forms(self._settings.resolved_api_key())

    def headers(self) -> dict[str, str]:
        key = self._settings.resolved_api_key()
        if not key:
            if self._settings.defaults.key_required:
                raise errors.MissingApiKey(f"No {self.name} API key: {self._settings.key_hint()}.")
            return {}
        if not (key.isascii() and key.isprintable()) or any(c.isspace() for c in key):
            # httpx would raise with the header (the key) in its message
            raise errors.MissingApiKey(
                f"The {self.name} API key holds a character an HTTP header cannot carry (a space, a line break "
                f"or a non-ASCII character, often picked up when copying): paste it again; {self._settings.key_hint()}."
            )
        return {"Authorization": f"Bearer {key}"}

    async def post(
        self,
        path: str,
        body: dict[str, Any],
        timeout_s: float,
        read: Callable[[httpx.Response], Awaitable[Completion]],
    ) -> Completion:
        headers = {"Accept": "application/json, text/event-stream, application/x-ndjson", **self.headers()}
        async with self.transport_errors(timeout_s):
            retried = False
            while True:
                answered = False
                try:
                    async with self._client.stream(
                        "POST", self.base_url + path, json=body, headers=headers, timeout=request_timeout(timeout_s)
                    ) as response:
                        answered = True
                        if response.status_code != 200:
                            raw = await read_body(response, limit=ERROR_BODY_LIMIT)
                            raise self.map_status(response.status_code, raw, response.headers)
                        return await read(response)
                except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
                    # closed before any byte of an answer: most likely a kept-alive connection the server
                    # closed (idle too long) just as the request went out; sent once more, on a new
                    # connection, and never again once an answer began
                    if answered or retried:
                        raise
                    retried = True

    async def get_json(self, path: str, timeout_s: float, root: str | None = None) -> tuple[int, Any]:
        """A GET for checks (doctor, health): status and decoded body (None when not JSON).
        ``root`` replaces ``baseUrl`` in front of ``path``."""
        async with self.transport_errors(timeout_s):
            async with self._client.stream(
                "GET", (root or self.base_url) + path, headers=self.headers(), timeout=request_timeout(timeout_s)
            ) as response:
                raw = await read_body(response, limit=4 << 20)
                try:
                    data = parse_json_body(raw)
                except errors.BadResponse:
                    data = None
                if response.status_code != 200:
                    raise self.map_status(response.status_code, raw, response.headers)
                return response.status_code, data

    @contextlib.asynccontextmanager
    async def transport_errors(self, timeout_s: float) -> AsyncIterator[None]:
        try:
            yield
        except httpx.TimeoutException:
            raise errors.ProviderTimeout(f"{self.name} did not answer within {timeout_s:.1f} s.") from None
        except httpx.ConnectError:
            raise errors.ProviderUnavailable(
                f"cannot connect to {self.name} at {self.base_url}: {self.unreachable_hint}."
            ) from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError, httpx.NetworkError):
            raise errors.ProviderUnavailable(f"the connection to {self.name} dropped mid-answer.") from None
        except httpx.UnsupportedProtocol:
            raise errors.RequestRejected(f"fimServer.baseUrl {self.base_url!r} is not an http(s) address.") from None
        except httpx.DecodingError:
            raise errors.BadResponse(f"{self.name} sent an answer that cannot be decoded.") from None
        except (httpx.HTTPError, httpx.InvalidURL, UnicodeError) as exc:
            # anything else: never an exception to the editor, never the request's details (the key)
            raise errors.ProviderUnavailable(f"the request to {self.name} failed ({type(exc).__name__}).") from None

    # -- errors ----------------------------------------------------------------
    def map_status(self, status: int, body: bytes, headers: httpx.Headers) -> errors.ProviderError:
        """The error for a non-200 answer, with the cause and the fix in its message."""
        detail = error_message(body, self.secrets())
        if status in (401, 403):
            return errors.AuthenticationFailed(
                f"{self.name} rejected the API key ({status}): {self._settings.key_hint()}.", status=status
            )
        if status == 402:
            return errors.InsufficientBalance(
                f"{self.name} reports insufficient balance (402): top up the account, then completions resume.",
                status=status,
            )
        if status in (400, 404, 422) and MODEL_REJECTED.search(detail):
            return errors.ModelRejected(
                f"{self.name} rejected the model name {self.model!r} ({status}: {detail}): {self.model_hint}.",
                status=status,
            )
        if status in (400, 404, 405, 422):
            return errors.RequestRejected(
                f"{self.name} rejected the request ({status}: {detail}): check fimServer.baseUrl "
                f"({self.base_url}), fimServer.maxTokens and fimServer.temperature.",
                status=status,
            )
        if status == 429:
            return errors.RateLimited(
                f"{self.name} rate limit reached (429): completions pause and resume by themselves.",
                status=status,
                retry_after=retry_after_seconds(headers),
            )
        return errors.ProviderUnavailable(
            f"{self.name} is unavailable ({status}: {detail}): completions pause and resume by themselves.",
            status=status,
            retry_after=retry_after_seconds(headers),
        )

    # -- checks (doctor) ---------------------------------------------------------
    def models_root(self) -> str | None:
        """Where ``/models`` lives when not under ``baseUrl`` (None: under it)."""
        return None

    async def list_models(self, timeout_s: float) -> list[str]:
        """Model ids the server offers (OpenAI-style ``GET /models``)."""
        _, data = await self.get_json("/models", timeout_s, root=self.models_root())
        items = data.get("data") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise errors.BadResponse(f"{self.name}'s model list is not in the expected shape")
        return [str(m.get("id")) for m in items if isinstance(m, dict) and m.get("id")]
