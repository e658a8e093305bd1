"""OpenAI-compatible ``POST {baseUrl}/completions`` (vLLM, SGLang, llama-cpp-python, LM Studio...).

First the request carries ``suffix``. Most servers do not take it (vLLM answers
400 "suffix is not currently supported"); then the provider switches, once and
for the rest of the session, to a raw prompt built with the model family's FIM
template (``templates.py``), whose stop tokens it sends along.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx

from .. import errors
from ..config import Settings
from ..http import parse_json_body, read_body, sse_events
from ..templates import TEMPLATE_NAMES, FimTemplate, template_for
from .base import Completion, FimRequest, Usage
from .common import HttpProvider, num, stop_list

log = logging.getLogger(__name__)
NAME = "OpenAI-compatible server"
# How servers say they do not take ``suffix``.
_SUFFIX_REJECTED = re.compile(r"suffix", re.IGNORECASE)


def usage_from(data: Any) -> Usage:
    return Usage(prompt_tokens=num(data, "prompt_tokens"), completion_tokens=num(data, "completion_tokens"))


def choice_text(data: Any, name: str) -> tuple[str, str | None]:
    if not isinstance(data, dict):
        raise errors.BadResponse("the provider's answer is not a JSON object")
    if "error" in data:
        raise errors.ProviderUnavailable(f"{name} reported an error mid-answer: {str(data['error'])[:200]}")
    choices = data.get("choices")
    if not isinstance(choices, list):
        raise errors.BadResponse("the provider's answer has no choices")
    if not choices:
        return "", None
    first = choices[0]
    if not isinstance(first, dict):
        raise errors.BadResponse("the provider's answer has a malformed choice")
    text = first.get("text") or ""
    if not isinstance(text, str):
        raise errors.BadResponse("the provider's answer has a non-text completion")
    reason = first.get("finish_reason")
    return text, reason if isinstance(reason, str) else None


class OpenAICompatibleProvider(HttpProvider):
    name = NAME
    model_hint = "set fimServer.model to a model the server lists (GET /v1/models)"

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        super().__init__(settings, client)
        self.template: FimTemplate | None = template_for(self.model, settings.template)
        self.raw_mode = False  # set once the server rejected ``suffix``; kept for the session

    def body(self, request: FimRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "stream": request.stream,
        }
        if self.raw_mode and self.template is not None:
            body["prompt"] = self.template.render(request.prompt, request.suffix, path=request.path, files=request.extra)
            stop = stop_list(request.stop, self.template.stop)
        else:
            body["prompt"] = request.prompt
            body["suffix"] = request.suffix
            stop = stop_list(request.stop)
        if stop:
            body["stop"] = stop
        if request.stream:
            body["stream_options"] = {"include_usage": True}
        return body

    async def complete(self, request: FimRequest, timeout_s: float) -> Completion:
        try:
            return await self.post("/completions", self.body(request), timeout_s, self._read)
        except errors.RequestRejected as error:
            if self.raw_mode or error.status != 400 or not _SUFFIX_REJECTED.search(error.message):
                raise
        # The server does not take ``suffix``: raw prompts from now on.
        if self.template is None:
            raise errors.RequestRejected(
                f"{NAME} at {self.base_url} does not accept `suffix`, and no FIM template is known for the model "
                f"{self.model!r}: set fimServer.template to one of {', '.join(TEMPLATE_NAMES)}.",
                status=400,
            )
        self.raw_mode = True
        log.info("%s rejects `suffix`; using the %s FIM template from now on", NAME, self.template.name)
        return await self.post("/completions", self.body(request), timeout_s, self._read)

    async def _read(self, response: httpx.Response) -> Completion:
        if "text/event-stream" in response.headers.get("content-type", ""):
            parts: list[str] = []
            reason: str | None = None
            usage = Usage()
            async for event in sse_events(response):
                text, finish = choice_text(event, NAME)
                parts.append(text)
                reason = finish or reason
                if isinstance(event, dict) and event.get("usage"):
                    usage = usage_from(event["usage"])
            return Completion("".join(parts), reason, usage)
        data = parse_json_body(await read_body(response))
        text, reason = choice_text(data, NAME)
        return Completion(text, reason, usage_from(data.get("usage")))
