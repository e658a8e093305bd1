"""llama.cpp's server: ``POST {baseUrl}/infill`` with ``input_prefix``/``input_suffix``.

The server builds the FIM prompt with the loaded model's own tokens; other files
go in ``input_extra``. ``cache_prompt`` reuses the KV cache of the shared prefix,
``t_max_predict_ms`` bounds the generation time. While the model loads,
``GET /health`` (and every other endpoint) answers 503: the provider asks
``/health`` before its first completion and after a 503, and stays quiet (a
transient "still loading") until the server is ready. A front without ``/health``
(404) counts as ready.

The server lays the prompt out as ``input_extra``, then ``<PRE>`` prefix ``<SUF>``
suffix ``<MID>`` (suffix first with ``--spm-infill``), and reuses its KV cache only
for the unchanged beginning of the previous prompt (``--cache-reuse N`` also moves
unchanged chunks that slid towards the start, never ones pushed later by inserted
text). So, while the user types, the part after the cursor is evaluated again at
every request, and a prefix longer than the server keeps (the last three quarters of
a batch, ``-b``: 1536 tokens by default) is cut at a front that moves with every
key. The provider therefore sends a prefix that fits (``PREFIX_CHARS``, cut only in
steps of ``PREFIX_STEP_LINES`` lines, so its start stays put) and a short suffix
(``SUFFIX_CHARS``, whole lines); bench/README.md has the measurements.

Even so the suffix sits after the cursor, so with ``/infill`` it is evaluated again at
every key. When the model's FIM tokens are known (the ``template`` setting, or with
``auto`` the family its file name suggests, checked against the server's own
``/tokenize``: each marker must be one token, and the text after the middle marker
must come back without a space put in front), the provider instead sends
``/completion`` a raw prompt laid out by ``templates.render_line_last``: the lines
above the cursor, the suffix, the middle marker, then the cursor line's text before
the cursor. Typing on one line changes only the end of that prompt, so the server
reuses all the rest. (``/infill``'s own ``prompt`` field cannot do this: llama.cpp's
README places it after the middle token, but its code appends it to the prefix,
before the suffix.) Without known tokens, or behind a front without ``/props`` or
``/tokenize``, the provider uses ``/infill``.
"""

from __future__ import annotations

from typing import Any

import httpx

from fim_server.providers import errors
from fim_server.settings import Settings
from fim_server.redaction import redact_and_cut
from fim_server.providers.http import error_message, parse_json_body, read_body, request_timeout, sse_events
from fim_server.providers.base import Completion, FimRequest, Streamed, Usage, commented_blocks
from fim_server.providers.templates import FimTemplate, render_line_last, template_for
from fim_server.providers.common import HttpProvider, num, stop_list, take_piece

NAME = "llama.cpp"
LOADING_RETRY_S = 1.0
FIM_MODELS = "qwen2.5-coder, deepseek-coder, starcoder2, codellama or codegemma GGUF files"
# 1536 tokens (the server's default prefix take) at 2.35 or more characters a token
PREFIX_CHARS = 3600
PREFIX_STEP_LINES = 8
SUFFIX_CHARS = 400


def prefix_window(prefix: str, budget: int = PREFIX_CHARS, step: int = PREFIX_STEP_LINES) -> str:
    """The end of ``prefix`` within ``budget``, dropping whole lines from its front in
    blocks of ``step`` (counted from its first line, which the prompt stage anchors),
    so that typing at the end moves the start only once a block's worth was typed.
    Only a cursor line longer than the budget is cut inside a line."""
    if len(prefix) <= budget:
        return prefix
    lines = prefix.splitlines(keepends=True)
    size, drop = len(prefix), 0
    while size > budget and drop < len(lines) - 1:
        block = lines[drop : min(drop + step, len(lines) - 1)]
        size -= sum(map(len, block))
        drop += len(block)
    kept = "".join(lines[drop:])
    return kept if len(kept) <= budget else kept[len(kept) - budget :]


def prompt_tokens_at_most(settings: Settings, chars_per_token: float = 2.5) -> int:
    """About how many tokens fim-server's longest prompt to llama.cpp takes, with the
    answer (for ``fim-server doctor``: the server's context must hold both)."""
    chars = min(settings.max_prefix_chars, PREFIX_CHARS) + min(settings.max_suffix_chars, SUFFIX_CHARS)
    if settings.workspace_context:
        chars += settings.context_budget_chars
    return int(chars / chars_per_token) + 16 + settings.max_tokens


def server_facts(props: Any) -> tuple[int, int, str]:
    """(context tokens per slot, slots, model file) from llama.cpp's ``GET /props``; 0 where absent."""
    if not isinstance(props, dict):
        return 0, 0, ""
    generation = props.get("default_generation_settings")
    n_ctx = num(generation, "n_ctx") if isinstance(generation, dict) else 0
    model = props.get("model_path") if isinstance(props.get("model_path"), str) else ""
    return n_ctx, num(props, "total_slots"), model


def suffix_window(suffix: str, budget: int = SUFFIX_CHARS) -> str:
    """The start of ``suffix`` within ``budget``, cut after a whole line where one fits."""
    if len(suffix) <= budget:
        return suffix
    cut = suffix.rfind("\n", 0, budget)
    return suffix[: cut + 1] if cut >= 0 else suffix[:budget]


def usage_from(data: Any) -> Usage:
    """Tokens from the final answer; ``timings`` splits the prompt into the tokens the
    server evaluated (``prompt_n``) and those it took from its KV cache (``cache_n``)."""
    usage = Usage(prompt_tokens=num(data, "tokens_evaluated"), completion_tokens=num(data, "tokens_predicted"))
    timings = data.get("timings") if isinstance(data, dict) else None
    if isinstance(timings, dict):
        usage.cache_hit_tokens = num(timings, "cache_n")
        usage.cache_miss_tokens = num(timings, "prompt_n")
        usage.prompt_ms = fnum(timings, "prompt_ms")
        usage.generation_ms = fnum(timings, "predicted_ms")
    return usage


def fnum(data: dict, key: str) -> float:
    value = data.get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _piece(data: Any) -> tuple[str, bool]:
    if not isinstance(data, dict):
        raise errors.BadResponse("llama.cpp's answer is not a JSON object")
    if "error" in data:
        raise errors.ProviderUnavailable(f"llama.cpp reported an error mid-answer: {redact_and_cut(str(data['error']), 200)}")
    text = data.get("content", "")
    if not isinstance(text, str):
        raise errors.BadResponse("llama.cpp's answer has a non-text content")
    return text, bool(data.get("stop"))


class LlamaCppProvider(HttpProvider):
    name = NAME
    model_hint = "the model is chosen when llama-server starts (-m)"

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        super().__init__(settings, client)
        self.ready = False  # /health said 200 since the last 503
        self.layout_known = False  # the raw-prompt check below ran
        self.template: FimTemplate | None = None  # raw /completion prompts with these FIM tokens; None: /infill

    def path(self) -> str:
        return "/infill" if self.template is None else "/completion"

    def layout_note(self) -> str:
        """Which layout the requests use (for ``fim-server doctor``)."""
        if self.template is not None:
            return (f"prompts go to /completion with the model's {self.template.name} FIM tokens and the cursor line "
                    "last, so typing on a line reuses the rest of the server's cache")
        return ("prompts go to /infill (no FIM template confirmed for this model; the text after the cursor is "
                "evaluated again at every key: set `template` to the model's family if /tokenize knows its tokens)")

    def prompt_fields(self, request: FimRequest) -> dict[str, Any]:
        prefix, suffix = prefix_window(request.prompt), suffix_window(request.suffix)
        if self.template is not None:
            files = request.extra
            if files and not self.template.takes_files:  # other files as comments at the top, in a stable order
                prefix, files = commented_blocks(files, request.comment) + prefix, ()
            return {"prompt": render_line_last(self.template, prefix, suffix, path=request.path, files=files)}
        return {
            "input_prefix": prefix,
            "input_suffix": suffix,
            "input_extra": [{"filename": path, "text": text} for path, text in request.extra],
        }

    def body(self, request: FimRequest, timeout_s: float) -> dict[str, Any]:
        body: dict[str, Any] = {
            **self.prompt_fields(request),
            "n_predict": request.max_tokens,
            "t_max_predict_ms": max(50, int(timeout_s * 1000 * 0.8)),
            "cache_prompt": True,
            "temperature": request.temperature,
            "stream": request.stream,
        }
        if request.stream:
            # every piece carries the prompt's timings, so an answer cut at its first
            # line (early stop) still says how much of the prompt the server evaluated
            body["timings_per_token"] = True
        stop = stop_list(request.stop, self.template.stop if self.template is not None else ())
        if stop:
            body["stop"] = stop
        return body

    async def resolve_layout(self, timeout_s: float) -> None:
        """Pick the raw ``/completion`` layout when the model's FIM tokens are known and
        the server's tokenizer has each marker as one special token; else ``/infill``.
        Asked once (a failure here is not an error: ``/infill`` is always right)."""
        self.layout_known = True
        choice = self._settings.template
        try:
            if choice == "auto":
                _, props = await self.get_json("/props", timeout_s)
                names = [props.get(k) for k in ("model_path", "model_alias")] if isinstance(props, dict) else []
                candidates = [template_for(n) for n in [*names, self.model] if isinstance(n, str) and n]
                template = next((t for t in candidates if t is not None), None)
            else:
                template = template_for(None, choice)
            if template is not None and template.markers and await self._one_token_each(template.markers, timeout_s):
                self.template = template
        except errors.TransientError:
            self.layout_known = False  # asked again at the next request; this one goes to /infill
        except errors.ProviderError:
            self.template = None

    async def _one_token_each(self, markers: tuple[str, ...], timeout_s: float) -> bool:
        """Whether the server's tokenizer has each marker as one token and adds nothing
        to the text after the last one (SentencePiece vocabularies with a space prefix,
        Code Llama's, put a space before every text that follows a special token: the
        cursor line would start one space further right)."""
        async with self.transport_errors(timeout_s):
            response = await self._client.post(self.base_url + "/tokenize",
                                               json={"content": "".join(markers) + "x", "with_pieces": True},
                                               headers=self.headers(), timeout=request_timeout(timeout_s))
        if response.status_code != 200:
            return False
        try:
            tokens = response.json().get("tokens")
        except (ValueError, AttributeError):
            return False
        if not isinstance(tokens, list) or not all(isinstance(t, dict) for t in tokens):
            return False  # a server without pieces cannot say: /infill
        pieces = [t.get("piece") for t in tokens]
        if not all(isinstance(p, str) for p in pieces):
            return False
        return pieces[: len(markers)] == list(markers) and "".join(pieces[len(markers) :]) == "x"

    def map_status(self, status: int, body: bytes, headers: httpx.Headers) -> errors.ProviderError:
        detail = error_message(body, self.secrets())
        if status == 503:
            self.ready = False
            return errors.ProviderUnavailable(
                f"llama.cpp is still loading the model ({detail}): completions start when it is ready.",
                status=status,
                retry_after=LOADING_RETRY_S,
            )
        lowered = detail.lower()
        if status in (400, 500, 501) and ("infill" in lowered or "fim" in lowered):
            return errors.ModelRejected(
                f"the model llama.cpp serves cannot fill in the middle ({status}: {detail}): start llama-server "
                f"with a FIM model, for example {FIM_MODELS}.",
                status=status,
            )
        return super().map_status(status, body, headers)

    async def health(self, timeout_s: float) -> None:
        """Raise ``ProviderUnavailable`` while the server is loading the model. A
        404 means a front (a proxy, a gateway) without ``/health``: nothing to wait
        for, so the provider goes on to ``/infill``."""
        try:
            await self.get_json("/health", timeout_s)
        except errors.FatalError as error:
            if error.status != 404:
                raise
        self.ready = True

    async def complete(self, request: FimRequest, timeout_s: float, progress: Streamed | None = None) -> Completion:
        if not self.ready:
            await self.health(timeout_s)
        if not self.layout_known:
            await self.resolve_layout(timeout_s)
        return await self.post(self.path(), self.body(request, timeout_s), timeout_s, lambda r: self._read(r, request, progress))

    async def _read(self, response: httpx.Response, request: FimRequest, progress: Streamed | None) -> Completion:
        if "text/event-stream" in response.headers.get("content-type", ""):
            streamed = progress if progress is not None else Streamed()
            last: Any = None
            async for event in sse_events(response, done_marker=False):
                text, stop = _piece(event)
                if take_piece(request, streamed, text):
                    return Completion(streamed.text, "early_stop", usage_from(event))
                if stop:
                    last = event
            if last is None:  # llama.cpp ends every stream with a "stop": true event
                raise errors.BadResponse("llama.cpp's stream ended before its final event")
            reason = _reason(last) if last is not None else None
            return Completion(streamed.text, reason, usage_from(last))
        data = parse_json_body(await read_body(response))
        text, _ = _piece(data)
        return Completion(text, _reason(data), usage_from(data))

    async def list_models(self, timeout_s: float) -> list[str]:
        try:
            return await super().list_models(timeout_s)  # /v1/models, newer servers
        except errors.FatalError:
            return [self.model]  # older servers: one model, whatever it is


def _reason(data: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    if data.get("stopped_limit") or data.get("stop_type") == "limit":  # older, newer servers
        return "length"
    return "stop" if data.get("stop") else None
