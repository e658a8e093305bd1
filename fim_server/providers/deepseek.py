"""DeepSeek FIM: ``POST {baseUrl}/completions`` with ``prompt`` and ``suffix``.

Streams are server-sent events whose chunks carry ``choices[0].text``; while a
request waits to be scheduled DeepSeek sends ``: keep-alive`` comments (streams) or
blank lines before the JSON body (non-streaming). Both are skipped (``http.py``).
Transport errors, status mapping and the answer reader are the ones every
OpenAI-style provider shares (``common.py``); what is DeepSeek's own is the body
(snippets as commented blocks, usage with prefix-cache counts) and where its model
list lives.
"""

from __future__ import annotations

from typing import Any

import httpx

from fim_server.providers.base import Completion, FimRequest, Streamed, Usage, commented_blocks, encodable
from fim_server.providers.common import HttpProvider, choice_text, num, read_choices, stop_list

NAME = "DeepSeek"


def usage_from(data: Any) -> Usage:
    """Token counts, with the prefix cache's hits and misses DeepSeek reports."""
    if not isinstance(data, dict):
        return Usage()
    return Usage(
        prompt_tokens=num(data, "prompt_tokens"),
        completion_tokens=num(data, "completion_tokens"),
        cache_hit_tokens=num(data, "prompt_cache_hit_tokens"),
        cache_miss_tokens=num(data, "prompt_cache_miss_tokens"),
    )


class DeepSeekProvider(HttpProvider):
    name = NAME
    model_hint = "set fimServer.model to a FIM-capable model your account lists (GET /models), for example deepseek-v4-flash"
    unreachable_hint = "check the network or fimServer.baseUrl"

    def body(self, request: FimRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            # snippets of other files first, as comments: the prompt's start stays stable
            "prompt": encodable(
                commented_blocks(request.extra, request.comment) + request.prompt
                if request.extra
                else request.prompt
            ),
            "suffix": encodable(request.suffix),
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "stream": request.stream,
        }
        stop = stop_list(request.stop)
        if stop:
            body["stop"] = stop
        if request.stream:
            body["stream_options"] = {"include_usage": True}
        return body

    async def complete(self, request: FimRequest, timeout_s: float, progress: Streamed | None = None) -> Completion:
        async def read(response: httpx.Response) -> Completion:
            return await read_choices(response, request, lambda data: choice_text(data, NAME), usage_from, progress)

        return await self.post("/completions", self.body(request), timeout_s, read)

    def models_root(self) -> str | None:
        """The model list lives at the API root, not under ``/beta``."""
        return self.base_url[: -len("/beta")] if self.base_url.endswith("/beta") else None
