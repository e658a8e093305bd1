"""Provider calls and what makes typing cheap around them: a call (its task, its
deadline, its streamed text), in-flight reuse (a newer request waits for a running
call it extends), speculation (ask for what follows the suggestion being typed
through) and the forwarding cache (recent suggestions the user may type into).

The engine (``engine.py``) decides when a call is needed; this module runs it.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from dataclasses import dataclass, field, replace
import logging
from typing import TYPE_CHECKING, Any

from fim_server.core.context import CursorContext
from fim_server.core.debounce import Superseded
from fim_server.core.memory import Shown, bounded_answer, cache_key, typed_since
from fim_server.core.postprocess import Cleaned, before_cache
from fim_server.core.prompt import build_request
from fim_server.core.text import common_prefix_len
from fim_server.providers.base import Completion, FimRequest, Streamed
from fim_server.providers.errors import ProviderError, ProviderTimeout

if TYPE_CHECKING:
    from fim_server.core.engine import CompletionEngine

log = logging.getLogger(__name__)

RECENT_PER_DOC = 32  # forwarding cache: suggestions kept per document
RECENT_DOCS = 4  # ... for this many documents, the most recently completed in
RELEASE_GRACE_S = 0.05  # a call whose owner left waits this long for a newer request to take it


@dataclass(eq=False)
class Call:
    """One provider call in flight: the context it was made for, its request and cache
    key, the request (ticket) answering with it (None: speculative), the text
    streamed so far, its task, and its answer cleaned for the cache once it came
    (``raw``)."""

    ctx: CursorContext
    request: FimRequest
    key: tuple
    owner: Any
    started: float
    progress: Streamed = field(default_factory=Streamed)
    task: asyncio.Future = field(init=False)
    raw: str | None = None


class Forwarding:
    """The forwarding cache: the last RECENT_PER_DOC suggestions shown in each of the
    RECENT_DOCS documents used last (each holds its prompt windows, so the total
    stays bounded however many documents a session opens)."""

    def __init__(self) -> None:
        self._recent: OrderedDict[str, deque[Shown]] = OrderedDict()

    def remember(self, uri: str, shown: Shown) -> None:
        kept = self._recent.get(uri)
        if kept is None:
            kept = self._recent[uri] = deque(maxlen=RECENT_PER_DOC)
            while len(self._recent) > RECENT_DOCS:
                self._recent.popitem(last=False)
        else:
            self._recent.move_to_end(uri)
        kept.append(shown)

    def newest_first(self, uri: str):
        return reversed(self._recent.get(uri, ()))

    def forget(self, uri: str) -> None:
        self._recent.pop(uri, None)

    def clear(self) -> None:
        self._recent.clear()


class Calls:
    """The provider calls of one engine: started, shared, speculated, ended.

    Every call, owned or speculative, ends by its deadline (``timeoutMs`` from its
    start): an upstream that only trickles keep-alives cannot hold a connection.
    """

    def __init__(self, engine: "CompletionEngine") -> None:
        self._engine = engine
        self._inflight: dict[str, Call] = {}  # per document: the call a request owns
        self._speculative: dict[str, Call] = {}  # per document: the speculative call
        self._running: set[Call] = set()
        self._last_prompt = ""

    @property
    def running(self) -> int:
        return len(self._running)

    # -- starting and waiting ------------------------------------------------------
    def start(self, ctx: CursorContext, request: FimRequest, key: tuple, owner: Any) -> Call:
        engine = self._engine
        stats = engine.stats
        stats["provider_calls"] += 1
        shared = common_prefix_len(self._last_prompt, request.prompt)
        stats["prompt_chars"] += len(request.prompt)
        stats["prompt_shared_chars"] += shared
        self._last_prompt = request.prompt
        timeout_s = engine.settings.timeout_ms / 1000
        call = Call(ctx, request, key, owner, engine.clock())
        call.task = asyncio.ensure_future(self._run(call, timeout_s))
        if not self._running:
            engine.on_status("busy", "")
        self._running.add(call)
        if owner is not None:
            self._inflight[ctx.uri] = call
        call.task.add_done_callback(lambda task, call=call: self._done(call))
        return call

    async def _run(self, call: Call, timeout_s: float) -> Completion:
        """The provider call within its deadline, whoever waits for it."""
        provider = self._engine.provider
        try:
            return await asyncio.wait_for(provider.complete(call.request, timeout_s, call.progress), timeout_s)
        except asyncio.TimeoutError:
            raise ProviderTimeout(f"{provider.name} did not answer within {timeout_s:.1f} s.") from None

    async def ask(self, ctx: CursorContext, request: FimRequest, key: tuple, ticket) -> str | None:
        """A new call owned by ``ticket``: its answer cleaned for the cache, or None."""
        return await self.wait(self.start(ctx, request, key, ticket), ticket)

    async def wait(self, call: Call, ticket) -> str | None:
        """The call's text cleaned for the cache, or None after a failure (reported)."""
        engine = self._engine
        timeout_s = engine.settings.timeout_ms / 1000
        remaining = max(0.001, timeout_s - (engine.clock() - call.started))
        try:
            completion = await ticket.race(asyncio.shield(call.task), remaining)
        except asyncio.TimeoutError:
            self.cancel(call)
            engine.failed(ProviderTimeout(f"{engine.provider.name} did not answer within {timeout_s:.1f} s."))
            return None
        except (Superseded, asyncio.CancelledError):
            self._release(call, ticket)
            raise
        except ProviderError:
            return None  # reported when the call ended
        return self.raw(call, completion.text)

    def raw(self, call: Call, text: str) -> str:
        """The call's answer, cut to a sane length and cleaned for the cache, once
        (the cache and the waiting request both want it)."""
        if call.raw is None:
            call.raw = before_cache(bounded_answer(text), call.ctx, frozenset(self._engine.settings.disabled_filters))
        return call.raw

    def _done(self, call: Call) -> None:
        engine = self._engine
        self._running.discard(call)
        for calls in (self._inflight, self._speculative):
            if calls.get(call.ctx.uri) is call:
                del calls[call.ctx.uri]
        task = call.task
        if task.cancelled():
            pass
        elif task.exception() is not None:
            error = task.exception()
            if isinstance(error, ProviderError):
                engine.failed(error)
        else:
            engine.answered(call, task.result())
        if not self._running:
            engine.calls_ended()

    def cancel(self, call: Call) -> None:
        if not call.task.done():
            call.task.cancel()
            self._engine.stats["provider_cancelled"] += 1
            self._engine.stats["cancelled_prompt_chars"] += len(call.request.prompt)

    def _release(self, call: Call, ticket) -> None:
        """The owner of a call leaves before its answer: end the call, unless a newer
        request takes it over (in-flight reuse waits a moment for one)."""
        if call.owner is not ticket:
            return
        if not self._engine.settings.inflight_reuse:
            self.cancel(call)
            return

        def later() -> None:
            if call.owner is ticket:
                self.cancel(call)

        asyncio.get_running_loop().call_later(RELEASE_GRACE_S, later)

    # -- in-flight reuse and speculation -------------------------------------------
    def reusable(self, ctx: CursorContext) -> tuple[Call, str] | None:
        """A running call (speculative first) whose context this one extends by text
        that agrees with what it has streamed so far: (the call, the text typed)."""
        for calls in (self._speculative, self._inflight):
            call = calls.get(ctx.uri)
            if call is None or call.task.done() or call.ctx.suffix != ctx.suffix:
                continue
            typed = extension(call.ctx, ctx)
            if typed is None:
                continue
            so_far = call.progress.text
            if not (so_far.startswith(typed) or typed.startswith(so_far)):
                continue
            return call, typed
        return None

    def speculate(self, ctx: CursorContext, cleaned: Cleaned) -> None:
        """Ask now for what follows the suggestion being typed through (or just
        shown), so the next ghost text is ready when the cursor gets there."""
        engine = self._engine
        settings = engine.settings
        text = cleaned.text
        if not settings.speculative_next or cleaned.replace_after or "\r" in text or not engine.health.may_call():
            return
        if len(ctx.prefix) + len(text) > settings.max_prefix_chars:
            return  # the real window would start elsewhere
        target = advanced(ctx, text)
        old = self._speculative.get(ctx.uri)
        running = old is not None and not old.task.done()
        if running and old.ctx.offset == target.offset and old.ctx.prefix == target.prefix and old.ctx.suffix == target.suffix:
            return  # already asked (typing through keeps the same target: no work per keystroke)
        target = engine.with_snippets(target)
        request = build_request(target, settings)
        key = cache_key(settings, request)
        if engine.cache.get(key) is not None:
            return
        if running:
            if old.key == key:
                return
            if old.owner is None:
                self.cancel(old)
        engine.stats["speculative_calls"] += 1
        self._speculative[ctx.uri] = self.start(target, request, key, None)

    # -- ending ----------------------------------------------------------------------
    def forget(self, uri: str) -> None:
        for calls in (self._inflight, self._speculative):
            call = calls.pop(uri, None)
            if call is not None and not call.task.done():
                call.task.cancel()

    def cancel_all(self) -> None:
        for call in list(self._running):
            call.task.cancel()


def advanced(ctx: CursorContext, text: str) -> CursorContext:
    """The context after ``text`` is typed at the cursor (the text after it unchanged)."""
    breaks = text.count("\n")
    if breaks:
        line_prefix = text[text.rfind("\n") + 1 :]
    else:
        line_prefix = ctx.line_prefix + text
    return replace(
        ctx,
        prefix=ctx.prefix + text,
        line_prefix=line_prefix,
        line=ctx.line + breaks,
        column=len(line_prefix),
        offset=ctx.offset + len(text),
        cell=None if ctx.cell is None else (ctx.cell[0], ctx.cell[1] + len(text)),
    )


def extension(old: CursorContext, new: CursorContext) -> str | None:
    """The text typed since ``old`` when ``new`` is ``old`` plus typing at its cursor
    (``""`` for the same place), else None. Both prefixes are windows (tails) of the
    same text, so the shorter must end the longer."""
    return typed_since(old.prefix, old.offset, old.suffix, new)
