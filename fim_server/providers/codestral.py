"""Mistral Codestral: ``POST {baseUrl}/fim/completions`` (base ``https://api.mistral.ai/v1``).

The body is FIM-shaped (``prompt``, ``suffix``), the answer chat-shaped: the text
is in ``choices[0].message.content``, stream deltas in ``choices[0].delta.content``.
"""

from __future__ import annotations

from typing import Any

import httpx

from .. import errors
from .base import Completion, FimRequest
from .common import HttpProvider, error_message_from, read_choices, stop_list
from .openai import usage_from

NAME = "Codestral"


def chat_text(data: Any) -> tuple[str, str | None]:
    """Text and finish reason of a chat-shaped answer or stream chunk."""
    if not isinstance(data, dict):
        raise errors.BadResponse("the provider's answer is not a JSON object")
    if "error" in data:
        raise errors.ProviderUnavailable(f"{NAME} reported an error mid-answer: {error_message_from(data)}")
    choices = data.get("choices")
    if not isinstance(choices, list):
        raise errors.BadResponse("Codestral's answer has no choices")
    if not choices:
        return "", None
    first = choices[0]
    if not isinstance(first, dict):
        raise errors.BadResponse("Codestral's answer has a malformed choice")
    part = first.get("delta") if isinstance(first.get("delta"), dict) else first.get("message")
    text = part.get("content") if isinstance(part, dict) else None
    if text is None:
        text = ""
    if isinstance(text, list):  # content chunks: [{"type": "text", "text": ...}]
        text = "".join(c.get("text", "") for c in text if isinstance(c, dict))
    if not isinstance(text, str):
        raise errors.BadResponse("Codestral's answer has a non-text completion")
    reason = first.get("finish_reason")
    return text, reason if isinstance(reason, str) else None


class CodestralProvider(HttpProvider):
    name = NAME
    model_hint = "set fimServer.model to codestral-latest or another model your account lists (GET /v1/models)"

    def body(self, request: FimRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "prompt": request.prompt,
            "suffix": request.suffix,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "stream": request.stream,
        }
        stop = stop_list(request.stop)
        if stop:
            body["stop"] = stop
        return body

    async def complete(self, request: FimRequest, timeout_s: float) -> Completion:
        async def read(response: httpx.Response) -> Completion:
            return await read_choices(response, request, chat_text, usage_from)

        return await self.post("/fim/completions", self.body(request), timeout_s, read)
