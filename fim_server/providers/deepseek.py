"""DeepSeek FIM: ``POST {baseUrl}/completions`` with ``prompt`` and ``suffix``.

Streams are server-sent events whose chunks carry ``choices[0].text``; while a
request waits to be scheduled DeepSeek sends ``: keep-alive`` comments (streams) or
blank lines before the JSON body (non-streaming). Both are skipped.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from .. import errors
from ..config import Settings
from ..http import error_message, parse_json_body, read_body, request_timeout, retry_after_seconds, sse_events
from ..postprocess.single_line import comment_marker
from ..snippets import commented_blocks
from .base import Completion, FimRequest, Usage, encodable

NAME = "DeepSeek"
# An error text that says the model name itself is wrong (not, say, "this model's
# maximum context length is ...").
_MODEL_REJECTED = re.compile(
    r"model[^.]*\b(not exist|does not exist|not found|unknown|invalid|not supported|unsupported)"
    r"|(unknown|invalid|unsupported) model",
    re.IGNORECASE,
)
KEY_HINT = "set DEEPSEEK_API_KEY or fimServer.apiKey"  # the default provider's convention
MAX_STOP_STRINGS = 16


def usage_from(data: Any) -> Usage:
    if not isinstance(data, dict):
        return Usage()

    def num(key: str) -> int:
        value = data.get(key)
        return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0

    return Usage(
        prompt_tokens=num("prompt_tokens"),
        completion_tokens=num("completion_tokens"),
        cache_hit_tokens=num("prompt_cache_hit_tokens"),
        cache_miss_tokens=num("prompt_cache_miss_tokens"),
    )


def _choice_text(data: Any) -> tuple[str, str | None]:
    """Text and finish reason of the first choice of a chunk or answer."""
    if not isinstance(data, dict):
        raise errors.BadResponse("the provider's answer is not a JSON object")
    if "error" in data:
        raise errors.ProviderUnavailable(f"{NAME} reported an error mid-answer: {error_message_from(data)}")
    choices = data.get("choices")
    if not isinstance(choices, list):
        raise errors.BadResponse("the provider's answer has no choices")
    if not choices:
        return "", None  # the usage-only chunk of a stream
    first = choices[0]
    if not isinstance(first, dict):
        raise errors.BadResponse("the provider's answer has a malformed choice")
    text = first.get("text")
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise errors.BadResponse("the provider's answer has a non-text completion")
    reason = first.get("finish_reason")
    return text, reason if isinstance(reason, str) else None


def error_message_from(data: dict) -> str:
    err = data.get("error")
    if isinstance(err, dict):
        return str(err.get("message", err))[:200]
    return str(err)[:200]


def map_status(status: int, body: bytes, headers: httpx.Headers, model: str) -> errors.ProviderError:
    """The error for a non-200 answer, with the cause and the fix in its message."""
    detail = error_message(body)
    if status == 401:
        return errors.AuthenticationFailed(f"{NAME} rejected the API key (401): {KEY_HINT}.", status=status)
    if status == 402:
        return errors.InsufficientBalance(
            f"{NAME} reports insufficient balance (402): top up the account, then completions resume.", status=status
        )
    if status in (400, 404, 422) and _MODEL_REJECTED.search(detail):
        return errors.ModelRejected(
            f"{NAME} rejected the model name {model!r} ({status}: {detail}): set fimServer.model to a FIM-capable "
            "model your account lists (GET /models), for example deepseek-v4-flash.",
            status=status,
        )
    if status in (400, 404, 422):
        return errors.RequestRejected(
            f"{NAME} rejected the request ({status}: {detail}): check fimServer.baseUrl, fimServer.maxTokens "
            "and fimServer.temperature.",
            status=status,
        )
    if status == 429:
        return errors.RateLimited(
            f"{NAME} rate limit reached (429): completions pause and resume by themselves.",
            status=status,
            retry_after=retry_after_seconds(headers),
        )
    return errors.ProviderUnavailable(
        f"{NAME} is unavailable ({status}: {detail}): completions pause and resume by themselves.",
        status=status,
        retry_after=retry_after_seconds(headers),
    )


class DeepSeekProvider:
    name = NAME

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self._settings = settings
        self._client = client
        self._base_url = settings.resolved_base_url()
        self._model = settings.resolved_model()
        self._url = self._base_url + "/completions"

    @property
    def base_url(self) -> str:
        return self._base_url

    def body(self, request: FimRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self._model,
            # snippets of other files first, as comments: the prompt's start stays stable
            "prompt": encodable(
                commented_blocks(request.extra, comment_marker(request.language_id)) + request.prompt
                if request.extra
                else request.prompt
            ),
            "suffix": encodable(request.suffix),
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "stream": request.stream,
        }
        if request.stop:
            body["stop"] = list(dict.fromkeys(request.stop))[:MAX_STOP_STRINGS]
        if request.stream:
            body["stream_options"] = {"include_usage": True}
        return body

    def headers(self) -> dict[str, str]:
        key = self._settings.resolved_api_key()
        if not key:
            raise errors.MissingApiKey(f"No {NAME} API key: {KEY_HINT}.")
        if not (key.isascii() and key.isprintable()) or any(c.isspace() for c in key):
            raise errors.MissingApiKey(
                f"The {NAME} API key holds a character an HTTP header cannot carry (a space, a line break or a "
                f"non-ASCII character, often picked up when copying): paste it again; {KEY_HINT}."
            )
        return {"Authorization": f"Bearer {key}", "Accept": "application/json, text/event-stream"}

    async def complete(self, request: FimRequest, timeout_s: float) -> Completion:
        headers = self.headers()
        try:
            async with self._client.stream(
                "POST", self._url, json=self.body(request), headers=headers, timeout=request_timeout(timeout_s)
            ) as response:
                if response.status_code != 200:
                    body = await read_body(response, limit=64 * 1024)
                    raise map_status(response.status_code, body, response.headers, self._model)
                if "text/event-stream" in response.headers.get("content-type", ""):
                    return await self._read_stream(response, request)
                data = parse_json_body(await read_body(response))
                text, reason = _choice_text(data)
                return Completion(text=text, finish_reason=reason, usage=usage_from(data.get("usage")))
        except httpx.TimeoutException:
            raise errors.ProviderTimeout(f"{NAME} did not answer within {timeout_s:.1f} s.") from None
        except httpx.ConnectError:
            raise errors.ProviderUnavailable(
                f"cannot connect to {NAME} at {self._base_url}: check the network or fimServer.baseUrl."
            ) from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError, httpx.NetworkError):
            raise errors.ProviderUnavailable(f"the connection to {NAME} dropped mid-answer.") from None
        except httpx.UnsupportedProtocol:
            raise errors.RequestRejected(
                f"fimServer.baseUrl {self._base_url!r} is not an http(s) address."
            ) from None
        except httpx.DecodingError:
            raise errors.BadResponse(f"{NAME} sent an answer that cannot be decoded.") from None
        except (httpx.HTTPError, httpx.InvalidURL, UnicodeError) as exc:
            # anything else: never an exception to the editor, never the request's details (the key)
            raise errors.ProviderUnavailable(f"the request to {NAME} failed ({type(exc).__name__}).") from None

    async def _read_stream(self, response: httpx.Response, request: FimRequest | None = None) -> Completion:
        parts: list[str] = []
        reason: str | None = None
        usage = Usage()
        early = request is not None and request.first_line_only
        progress = request.progress if request is not None else None
        async for event in sse_events(response):
            text, finish = _choice_text(event)
            if text:
                parts.append(text)
                if progress is not None:
                    progress.append(text)
                if early and ("\n" in text or "\r" in text):
                    # the first line is complete: answer now; leaving the block closes the stream
                    return Completion(text="".join(parts), finish_reason="early_stop", usage=usage)
            if finish:
                reason = finish
            if isinstance(event, dict) and event.get("usage"):
                usage = usage_from(event["usage"])
        return Completion(text="".join(parts), finish_reason=reason, usage=usage)

    async def list_models(self, timeout_s: float) -> list[str]:
        """``GET /models`` (the list lives at the API root, not under ``/beta``)."""
        root = self._base_url[: -len("/beta")] if self._base_url.endswith("/beta") else self._base_url
        try:
            async with self._client.stream(
                "GET", root + "/models", headers=self.headers(), timeout=request_timeout(timeout_s)
            ) as response:
                body = await read_body(response, limit=4 << 20)
                if response.status_code != 200:
                    raise map_status(response.status_code, body, response.headers, self._model)
        except httpx.TimeoutException:
            raise errors.ProviderTimeout(f"{NAME} did not answer within {timeout_s:.1f} s.") from None
        except httpx.ConnectError:
            raise errors.ProviderUnavailable(
                f"cannot connect to {NAME} at {self._base_url}: check the network or fimServer.baseUrl."
            ) from None
        except (httpx.TransportError, httpx.DecodingError):
            raise errors.ProviderUnavailable(f"the connection to {NAME} dropped mid-answer.") from None
        data = parse_json_body(body)
        items = data.get("data") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise errors.BadResponse(f"{NAME}'s model list is not in the expected shape")
        return [str(m.get("id")) for m in items if isinstance(m, dict) and m.get("id")]
