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

from fim_server.providers import errors
from fim_server.settings import Settings
from fim_server.providers.templates import TEMPLATE_NAMES, FimTemplate, template_for
from fim_server.providers.base import Completion, FimRequest, Streamed, Usage
from fim_server.providers.common import HttpProvider, choice_text, num, read_choices, stop_list

log = logging.getLogger(__name__)
NAME = "OpenAI-compatible server"
# How servers say they do not take ``suffix``.
_SUFFIX_REJECTED = re.compile(r"suffix", re.IGNORECASE)


def usage_from(data: Any) -> Usage:
    return Usage(prompt_tokens=num(data, "prompt_tokens"), completion_tokens=num(data, "completion_tokens"))


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

    async def complete(self, request: FimRequest, timeout_s: float, progress: Streamed | None = None) -> Completion:
        async def read(response: httpx.Response) -> Completion:
            return await read_choices(response, request, lambda data: choice_text(data, NAME), usage_from, progress)

        try:
            return await self.post("/completions", self.body(request), timeout_s, read)
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
        return await self.post("/completions", self.body(request), timeout_s, read)
