"""Ollama: ``POST {baseUrl}/api/generate`` with ``prompt`` and ``suffix``.

Ollama applies the model's own FIM template when ``suffix`` is given; an EMPTY
suffix skips it (the model would just continue the prefix), so an empty suffix
is sent as one space. With an explicit ``template`` setting the provider sends a
raw prompt (``raw: true``) built from that family's template instead, laid out with
the cursor line last (``templates.render_line_last``): Ollama keeps the previous
prompt's KV cache and reuses its longest common beginning, so typing on one line
makes it evaluate only the typed text, where with ``suffix`` (its own template:
prefix, suffix, middle marker) the suffix after the typed text is evaluated again at
every key (Code Llama, whose vocabulary puts a space before text after a special
token, keeps the ordinary layout). ``auto`` keeps Ollama's own template: a guessed family's tokens sent raw
to a model that lacks them would give poor answers silently, where Ollama refuses a
model without FIM (``does not support insert``) with a message. Streams
are NDJSON: one object per line with ``response``; the last has ``done: true``
and the token counts. ``keep_alive`` keeps the model loaded between keystrokes.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import httpx

from fim_server.providers import errors
from fim_server.settings import Settings
from fim_server.redaction import redact_and_cut
from fim_server.providers.http import error_message, ndjson_objects, parse_json_body, read_body
from fim_server.providers.templates import render_line_last, template_for
from fim_server.providers.base import Completion, FimRequest, Streamed, Usage
from fim_server.providers.common import HttpProvider, num, stop_list, take_piece

NAME = "Ollama"
KEEP_ALIVE = "30m"  # keep the model in memory while the user types
FIM_MODELS = "qwen2.5-coder, deepseek-coder-v2, starcoder2, codellama:code, codegemma:code or codestral"


def usage_from(data: Any) -> Usage:
    return Usage(prompt_tokens=num(data, "prompt_eval_count"), completion_tokens=num(data, "eval_count"))


def _piece(data: Any) -> tuple[str, bool]:
    if not isinstance(data, dict):
        raise errors.BadResponse("Ollama's answer is not a JSON object")
    if "error" in data:
        raise errors.ProviderUnavailable(f"Ollama reported an error mid-answer: {redact_and_cut(str(data['error']), 200)}")
    text = data.get("response", "")
    if not isinstance(text, str):
        raise errors.BadResponse("Ollama's answer has a non-text response")
    return text, bool(data.get("done"))


class OllamaProvider(HttpProvider):
    name = NAME

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        super().__init__(settings, client)
        self.model_hint = f"pull it (`ollama pull {self.model}`) or set fimServer.model to a model `ollama list` shows"
        # Raw prompts only when the user named a template; otherwise Ollama's own.
        self.template = template_for(self.model, settings.template) if settings.template != "auto" else None

    def body(self, request: FimRequest) -> dict[str, Any]:
        options: dict[str, Any] = {"num_predict": request.max_tokens, "temperature": request.temperature}
        body: dict[str, Any] = {"model": self.model, "stream": request.stream, "keep_alive": KEEP_ALIVE}
        if self.template is not None:
            # Ollama cannot be asked how it tokenizes: a family known to put a space before
            # the text after the middle marker (Code Llama) gets the ordinary layout
            render = self.template.render if self.template.spaced_text else partial(render_line_last, self.template)
            body["prompt"] = render(request.prompt, request.suffix, path=request.path, files=request.extra)
            body["raw"] = True
            stop = stop_list(request.stop, self.template.stop)
        else:
            body["prompt"] = request.prompt
            body["suffix"] = request.suffix or " "  # an empty suffix would skip the FIM template
            stop = stop_list(request.stop)
        if stop:
            options["stop"] = stop
        body["options"] = options
        return body

    def map_status(self, status: int, body: bytes, headers: httpx.Headers) -> errors.ProviderError:
        detail = error_message(body, self.secrets())
        if "does not support insert" in detail:
            return errors.ModelRejected(
                f"Ollama's model {self.model!r} cannot fill in the middle (it does not support insert): set "
                f"fimServer.model to a FIM model such as {FIM_MODELS} (base or code variants, not instruct/chat).",
                status=status,
            )
        if status == 404 and "not found" in detail:
            return errors.ModelRejected(
                f"Ollama has no model {self.model!r} ({detail}): run `ollama pull {self.model}` or set fimServer.model "
                "to a model `ollama list` shows.",
                status=status,
            )
        return super().map_status(status, body, headers)

    async def complete(self, request: FimRequest, timeout_s: float, progress: Streamed | None = None) -> Completion:
        return await self.post("/api/generate", self.body(request), timeout_s, lambda r: self._read(r, request, progress))

    async def _read(self, response: httpx.Response, request: FimRequest, progress: Streamed | None) -> Completion:
        content_type = response.headers.get("content-type", "")
        if "ndjson" in content_type:
            streamed = progress if progress is not None else Streamed()
            last: Any = None
            async for obj in ndjson_objects(response):
                text, done = _piece(obj)
                if take_piece(request, streamed, text):
                    return Completion(streamed.text, "early_stop", Usage())
                if done:
                    last = obj
            if last is None:
                raise errors.ProviderUnavailable("Ollama's stream ended before it was done.")
            reason = last.get("done_reason")
            return Completion(streamed.text, reason if isinstance(reason, str) else None, usage_from(last))
        data = parse_json_body(await read_body(response))
        text, _ = _piece(data)
        reason = data.get("done_reason")
        return Completion(text, reason if isinstance(reason, str) else None, usage_from(data))

    async def list_models(self, timeout_s: float) -> list[str]:
        _, data = await self.get_json("/api/tags", timeout_s)
        items = data.get("models") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise errors.BadResponse("Ollama's model list (/api/tags) is not in the expected shape")
        names = [str(m.get("name") or m.get("model")) for m in items if isinstance(m, dict)]
        # "qwen2.5-coder" means "qwen2.5-coder:latest" to Ollama
        return names + [n[: -len(":latest")] for n in names if n.endswith(":latest")]
