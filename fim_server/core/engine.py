"""CompletionEngine: the pipeline from a cursor context to cleaned suggestions.

``complete`` reads top to bottom as the data path: privacy, typing-through and the
forwarding cache, workspace snippets, prompt, answer cache, in-flight reuse, health,
debounce, provider call (``calls.py``), cleaning. No LSP types in here; the server
converts at the edges and talks to the engine through its methods.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from dataclasses import asdict, dataclass
import enum
import logging
import time
from typing import Callable, Protocol

import httpx

from fim_server.core import postprocess
from fim_server.core.calls import Call, Calls, Forwarding
from fim_server.core.context import CursorContext
from fim_server.core.debounce import Debouncer, Superseded
from fim_server.core.health import ProviderHealth
from fim_server.core.memory import CompletionCache, Shown, cache_key, typed_through
from fim_server.core.privacy import exclusion_reason
from fim_server.core.prompt import build_request
from fim_server.providers import Provider, Usage, create_provider
from fim_server.providers.base import Completion
from fim_server.providers.errors import FatalError, ProviderError, TransientError
from fim_server.providers.http import make_client
from fim_server.settings import Settings

log = logging.getLogger(__name__)

RECENT_PROVIDER_TIMES = 4096  # provider call durations kept (benchmarks read them)


class Trigger(enum.IntEnum):
    INVOKED = 1  # an explicit gesture: no debounce
    AUTOMATIC = 2  # while typing: debounced, superseded by the next keystroke


class Notifier(Protocol):
    def __call__(self, level: str, message: str) -> None: ...


@dataclass(frozen=True)
class Suggestion:
    text: str  # inserted at the cursor
    source: str  # "provider", "cache" or "typing"
    replace_after: int = 0  # code points right of the cursor the text replaces (auto-closed brackets)


class CompletionEngine:
    def __init__(
        self,
        settings: Settings,
        *,
        client: httpx.AsyncClient | None = None,
        provider_factory: Callable[[Settings, httpx.AsyncClient], Provider] = create_provider,
        notify: Notifier | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._own_client = client is None
        self._provider_factory = provider_factory
        self._notify = notify or (lambda level, message: None)
        self.clock = clock
        self.health = ProviderHealth(clock)
        self.health.fatal_retry_s = settings.fatal_retry_seconds
        self._excluded_logged: set[str] = set()
        self.debouncer = Debouncer(clock)
        self.stats: Counter[str] = Counter()
        self.usage = Usage()
        # seconds each recent provider call took (the debounce and the benchmarks read it)
        self.provider_seconds: deque[float] = deque(maxlen=RECENT_PROVIDER_TIMES)
        self._shown: dict[str, Shown] = {}  # per document: the suggestion shown last
        self.settings = settings
        self._provider: Provider | None = None
        self.cache = CompletionCache(settings.cache_size, settings.cache_ttl_seconds, clock)
        self.syntax = postprocess.SyntaxChecker()
        self.forwarding = Forwarding()
        self.calls = Calls(self)
        self._in_error = False
        # editor feedback: (state, reason) with state busy / idle / error
        self.on_status: Callable[[str, str], None] = lambda state, reason: None
        # adds the workspace snippets to a context; asked only when a request is about
        # to be built (not for answers from typing-through)
        self.with_snippets: Callable[[CursorContext], CursorContext] = lambda ctx: ctx

    def connect(
        self,
        on_status: Callable[[str, str], None],
        with_snippets: Callable[[CursorContext], CursorContext],
    ) -> None:
        """The server's hooks: status feedback, and the workspace snippets for a context."""
        self.on_status = on_status
        self.with_snippets = with_snippets

    # -- settings -------------------------------------------------------------
    def update_settings(self, settings: Settings) -> None:
        """New settings apply to the next request; a fatal block is lifted."""
        if (settings.cache_size, settings.cache_ttl_seconds) != (self.settings.cache_size, self.settings.cache_ttl_seconds):
            self.cache = CompletionCache(settings.cache_size, settings.cache_ttl_seconds, self.clock)
        if settings.ca_bundle != self.settings.ca_bundle and self._own_client and self._client is not None:
            old, self._client = self._client, None  # the next call builds one that trusts the new bundle
            _close_later(old)
        self.settings = settings
        self._excluded_logged.clear()
        self._provider = None
        self._shown.clear()
        self.forwarding.clear()
        self.health.reset()
        self.health.fatal_retry_s = settings.fatal_retry_seconds
        if self._in_error:  # new settings: the error they may fix is not the state any more
            self._in_error = False
            self.on_status("idle", "")

    def lift_block(self) -> None:
        """The provider may work again without a change of settings (the user saved
        the same configuration after fixing the account or the environment, or a
        key check passed): a block left by a fatal error and the backoff end."""
        self.health.reset()

    def failure(self) -> dict:
        """For the editor's status while in error: ``kind`` fatal (needs the user) or
        transient, with ``retryIn`` seconds for transient ones."""
        return self.health.describe()

    @property
    def provider(self) -> Provider:
        if self._provider is None:
            if self._client is None:
                self._client = make_client(verify=self.settings.ca_bundle or True)
            self._provider = self._provider_factory(self.settings, self._client)
        return self._provider

    def prepare(self) -> None:
        """Build the provider and its HTTP client now (not on the first keystroke)."""
        self.provider

    async def aclose(self) -> None:
        self.debouncer.cancel_all()
        self.calls.cancel_all()
        if self._client is not None and self._own_client:
            await self._client.aclose()
            self._client = None

    def forget(self, uri: str) -> None:
        """A document closed: drop what was kept for it."""
        self._shown.pop(uri, None)
        self.forwarding.forget(uri)
        self.calls.forget(uri)
        self.debouncer.forget(uri)
        self._excluded_logged.discard(uri)

    def may_send(self, uri: str, language_id: str) -> bool:
        """privacy.exclusion_reason under the current settings (exclusions and
        disabled languages); a log line once per document."""
        reason = exclusion_reason(uri, language_id, self.settings)
        if reason is not None and uri not in self._excluded_logged:
            self._excluded_logged.add(uri)
            log.info("%s is never sent to the provider: %s", uri, reason)
        return reason is None

    def _may_send_context(self, ctx: CursorContext) -> bool:
        """The cursor's document may be sent; in a notebook cell, the notebook too
        (exclusions name the notebook's path, not the cell's URI)."""
        return self.may_send(ctx.uri, ctx.language_id) and (not ctx.notebook or self.may_send(ctx.notebook, ctx.language_id))

    # -- the pipeline -----------------------------------------------------------
    async def complete(self, ctx: CursorContext, trigger: Trigger = Trigger.AUTOMATIC) -> list[Suggestion]:
        settings = self.settings
        self.stats["requests"] += 1
        if not settings.enabled or not self._may_send_context(ctx):
            self.stats["not_sent_private"] += settings.enabled
            return []
        if trigger == Trigger.AUTOMATIC:
            self.debouncer.keystroke(ctx.uri)
        ticket = self.debouncer.enter(ctx.uri)  # every request, even one answered from memory, supersedes the older ones
        try:
            remembered = self._typed_into(ctx)
            if remembered is not None:
                return remembered
            ctx = self.with_snippets(ctx)  # only now, when the answer is not already in memory
            request = build_request(ctx, settings)
            key = cache_key(settings, request)
            raw = self.cache.get(key)
            if raw is not None:
                self.stats["cache_hits"] += 1
                return self._finish(ctx, raw, "cache")
            if settings.inflight_reuse:
                reused = await self._reuse(ctx, ticket)
                if reused is not None:
                    return reused
            if not self.health.may_call():
                self.stats["skipped_unhealthy"] += 1
                return []
            if trigger == Trigger.AUTOMATIC:
                await self.debouncer.wait(ticket, ctx, settings, self.provider_seconds)
            raw = await self.calls.ask(ctx, request, key, ticket)
            return [] if raw is None else self._finish(ctx, raw, "provider")
        except Superseded:
            self.stats["superseded"] += 1
            return []
        except asyncio.CancelledError:
            self.stats["cancelled"] += 1
            raise
        finally:
            self.debouncer.leave(ticket)

    # -- answers from memory ------------------------------------------------------
    def _typed_into(self, ctx: CursorContext) -> list[Suggestion] | None:
        """The rest of the suggestion shown last (typing-through), or of a recent one
        (the forwarding cache: also after backspacing and typing again), when the
        user has typed its beginning; a speculative call asks for what follows."""
        rest = self._typing_through(ctx)
        source = "typing"
        if rest is None and self.settings.forward_cache:
            rest = self._forward(ctx)
            source = "cache"
        if rest is None:
            return None
        self.stats["typing_through" if source == "typing" else "forward_hits"] += 1
        self.calls.speculate(ctx, rest)
        return [Suggestion(rest.text, source, rest.replace_after)]

    def _typing_through(self, ctx: CursorContext) -> postprocess.Cleaned | None:
        shown = self._shown.get(ctx.uri)
        if shown is None:
            return None
        rest = typed_through(shown, ctx)
        if rest is None:
            return None
        cleaned = self._clean_rest(rest, ctx)
        return cleaned if cleaned.text else None

    def _forward(self, ctx: CursorContext) -> postprocess.Cleaned | None:
        """Each recent suggestion was syntax-checked in the document it completes,
        which typing its start does not change."""
        for shown in self.forwarding.newest_first(ctx.uri):
            rest = typed_through(shown, ctx)
            if rest is not None:
                cleaned = self._clean_rest(rest, ctx)
                if cleaned.text:
                    self._shown[ctx.uri] = shown
                    return cleaned
        return None

    async def _reuse(self, ctx: CursorContext, ticket) -> list[Suggestion] | None:
        """Wait for a running call whose prefix this one extends by what it has
        produced so far, instead of starting another."""
        found = self.calls.reusable(ctx)
        if found is None:
            return None
        call, typed = found
        call.owner = ticket
        self.stats["inflight_reused"] += 1
        raw = await self.calls.wait(call, ticket)
        if raw is None:
            return []
        if not typed:
            return self._finish(ctx, raw, "provider")
        full = self._clean(raw, call.ctx, syntax=False).text
        shown = Shown(call.ctx.prefix, call.ctx.suffix, call.ctx.offset, full)
        rest = typed_through(shown, ctx) if full else None
        cleaned = self._clean(rest, ctx, short_ok=True) if rest else None  # typed into: see _clean_rest
        if cleaned is None or not cleaned.text:
            self.stats["inflight_mismatch"] += 1
            return None
        self._shown[ctx.uri] = shown
        self.forwarding.remember(ctx.uri, shown)
        self.calls.speculate(ctx, cleaned)
        return [Suggestion(cleaned.text, "provider", cleaned.replace_after)]

    # -- cleaning ---------------------------------------------------------------------
    def _clean(self, raw: str, ctx: CursorContext, syntax: bool = True, short_ok: bool = False) -> postprocess.Cleaned:
        settings = self.settings
        disabled = frozenset(settings.disabled_filters)
        return postprocess.clean(
            raw,
            ctx,
            disabled=disabled | {"min_length"} if short_ok else disabled,
            syntax=self.syntax if syntax and settings.syntax_check else None,
        )

    def _clean_rest(self, rest: str, ctx: CursorContext) -> postprocess.Cleaned:
        """The rest of a suggestion the user is typing into: cleaned again for the new
        cursor, but neither syntax-checked (the whole passed in the document it
        completes, which typing its start does not change) nor dropped for being
        short (the closing ``'`` of a string being typed is worth showing)."""
        return self._clean(rest, ctx, syntax=False, short_ok=True)

    def _finish(self, ctx: CursorContext, raw: str, source: str) -> list[Suggestion]:
        cleaned = self._clean(raw, ctx)
        if not cleaned.text:
            self._shown.pop(ctx.uri, None)
            return []
        shown = Shown(ctx.prefix, ctx.suffix, ctx.offset, cleaned.text)
        self._shown[ctx.uri] = shown
        if self.settings.forward_cache:
            self.forwarding.remember(ctx.uri, shown)
        self.calls.speculate(ctx, cleaned)
        return [Suggestion(cleaned.text, source, cleaned.replace_after)]

    # -- what calls report back ------------------------------------------------------
    def answered(self, call: Call, completion: Completion) -> None:
        """A call answered: its time, usage and cleaned answer kept."""
        elapsed = self.clock() - call.started
        self.provider_seconds.append(elapsed)
        self.stats["provider_ms_total"] += int(elapsed * 1000)
        self.usage.add(completion.usage)
        if completion.finish_reason == "early_stop":
            self.stats["early_stops"] += 1
        self._in_error = False
        if self.health.succeeded():
            log.info("%s answers again; completions resumed", self.provider.name)
        self.cache.put(call.key, self.calls.raw(call, completion.text))

    def failed(self, error: ProviderError) -> None:
        kind = "fatal" if isinstance(error, FatalError) else "transient" if isinstance(error, TransientError) else "other"
        self.stats[f"errors_{kind}"] += 1
        verdict = self.health.failed(error)
        log.debug("provider call failed: %s", error.message)
        self._in_error = True
        self.on_status("error", error.message[:120])
        if verdict.notice:
            log.warning("%s", verdict.notice)
            self._notify(verdict.level, verdict.notice)

    def calls_ended(self) -> None:
        """No call runs any more: idle, unless an error is the state (until a call succeeds)."""
        if not self._in_error:
            self.on_status("idle", "")

    # -- for the server's commands and the editor's feedback ----------------------------
    def count(self, event: str, n: int = 1) -> None:
        """Count an event the server saw (document changes, suggestions shown or accepted)."""
        self.stats[event] += n

    def drain_provider_seconds(self) -> list[float]:
        """The recent provider call durations, emptied (for the benchmarks)."""
        times = list(self.provider_seconds)
        self.provider_seconds.clear()
        return times

    @property
    def http_client(self) -> httpx.AsyncClient | None:
        return self._client

    def snapshot(self) -> dict:
        """Counters and token usage (for the stats command and the benchmarks)."""
        return {
            **dict(self.stats),
            # tokens, and the server's prompt_ms/generation_ms where it reports them
            **{k: round(v, 1) if isinstance(v, float) else v for k, v in asdict(self.usage).items()},
            "cached_answers": len(self.cache),
        }


def _close_later(client: httpx.AsyncClient) -> None:
    try:
        asyncio.get_running_loop().create_task(client.aclose())
    except RuntimeError:  # no loop running: nothing is in flight on it either
        pass
