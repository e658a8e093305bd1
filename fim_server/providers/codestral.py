"""Mistral Codestral: ``POST {baseUrl}/fim/completions`` (base ``https://api.mistral.ai/v1``).

The body is FIM-shaped (``prompt``, ``suffix``), the answer chat-shaped: the text
is in ``choices[0].message.content``, stream deltas in ``choices[0].delta.content``.
"""

from __future__ import annotations

from typing import Any

import httpx

from fim_server.providers.base import Completion, FimRequest, Streamed
from fim_server.providers.common import HttpProvider, choice_text, read_choices, stop_list
from fim_server.providers.openai import usage_from

NAME = "Codestral"


def _chat_content(choice: dict) -> Any:
    """The text of a chat-shaped choice: the stream delta's or the message's content,
    joined when it comes as content chunks."""
    part = choice.get("delta") if isinstance(choice.get("delta"), dict) else choice.get("message")
    text = part.get("content") if isinstance(part, dict) else None
    if isinstance(text, list):  # content chunks: [{"type": "text", "text": ...}]
        text = "".join(c.get("text", "") for c in text if isinstance(c, dict))
    return text


def chat_text(data: Any) -> tuple[str, str | None]:
    """Text and finish reason of a chat-shaped answer or stream chunk."""
    return choice_text(data, NAME, _chat_content)


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

    async def complete(self, request: FimRequest, timeout_s: float, progress: Streamed | None = None) -> Completion:
        async def read(response: httpx.Response) -> Completion:
            return await read_choices(response, request, chat_text, usage_from, progress)

        return await self.post("/fim/completions", self.body(request), timeout_s, read)
