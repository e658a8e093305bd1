"""CompletionEngine: the pipeline from a cursor context to cleaned suggestions.

Read top to bottom it is the data path: typing-through, cache, health, debounce,
provider call (raced against newer requests and the deadline), cleaning. No LSP
types in here; the server converts at the edges.
"""

from __future__ import annotations

import asyncio
from collections import Counter, OrderedDict, deque
from dataclasses import asdict, dataclass, replace
import enum
import logging
import time
from typing import Callable, Protocol

import httpx

from fim_server.core import postprocess
from fim_server.core.memory import CompletionCache, Shown, cache_key, typed_through
from fim_server.core.calls import Call, advanced, extension
from fim_server.core.text import common_prefix_len
from fim_server.settings import Settings
from fim_server.core.context import CursorContext
from fim_server.core.debounce import Debouncer, Superseded
from fim_server.providers.errors import FatalError, ProviderError, ProviderTimeout, TransientError
from fim_server.core.health import ProviderHealth
from fim_server.providers.http import make_client
from fim_server.core.privacy import exclusion_reason
from fim_server.core.prompt import build_request
from fim_server.providers import Provider, Usage, create_provider

log = logging.getLogger(__name__)

RECENT_PER_DOC = 32  # forwarding cache: suggestions kept per document
RECENT_DOCS = 4  # ... for this many documents, the most recently completed in


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
        self._clock = clock
        self.health = ProviderHealth(clock)
        self.health.fatal_retry_s = settings.fatal_retry_seconds
        self._excluded_logged: set[str] = set()
        self.debouncer = Debouncer(clock)
        self.stats: Counter[str] = Counter()
        self.usage = Usage()
        # seconds each recent provider call took (benchmarks subtract it from round trips)
        self.provider_seconds: deque[float] = deque(maxlen=4096)
        self._shown: dict[str, Shown] = {}
        self.settings = settings
        self._provider: Provider | None = None
        self.cache = CompletionCache(settings.cache_size, settings.cache_ttl_seconds, clock)
        self.syntax = postprocess.SyntaxChecker()
        # replay optimisations: recent suggestions per document (forwarding cache), the
        # running provider calls (in-flight reuse, speculation), the typing rhythm
        self._recent: OrderedDict[str, deque[Shown]] = OrderedDict()
        self._inflight: dict[str, Call] = {}
        self._speculative: dict[str, Call] = {}
        self._running: set[Call] = set()
        self._last_prompt = ""
        # editor feedback: (state, reason) with state busy / idle / error; set by the server
        self.on_status: Callable[[str, str], None] = lambda state, reason: None
        self._in_error = False
        # adds the workspace snippets to a context; set by the server, asked only when
        # a request is about to be built (not for answers from typing-through)
        self.with_snippets: Callable[[CursorContext], CursorContext] = lambda ctx: ctx

    # -- settings -------------------------------------------------------------
    def update_settings(self, settings: Settings) -> None:
        """New settings apply to the next request; a fatal block is lifted."""
        if (settings.cache_size, settings.cache_ttl_seconds) != (
            self.settings.cache_size,
            self.settings.cache_ttl_seconds,
        ):
            self.cache = CompletionCache(settings.cache_size, settings.cache_ttl_seconds, self._clock)
        if settings.ca_bundle != self.settings.ca_bundle and self._own_client and self._client is not None:
            old, self._client = self._client, None  # the next call builds one that trusts the new bundle
            _close_later(old)
        self.settings = settings
        self._excluded_logged.clear()
        self._provider = None
        self._shown.clear()
        self._recent.clear()
        self.health.reset()
        self.health.fatal_retry_s = settings.fatal_retry_seconds
        if self._in_error:  # new settings: the error they may fix is not the state any more
            self._in_error = False
            self.on_status("idle", "")

    @property
    def provider(self) -> Provider:
        if self._provider is None:
            if self._client is None:
                self._client = make_client(verify=self.settings.ca_bundle or True)
            self._provider = self._provider_factory(self.settings, self._client)
        return self._provider

    async def aclose(self) -> None:
        self.debouncer.cancel_all()
        for call in list(self._running):
            call.task.cancel()
        if self._client is not None and self._own_client:
            await self._client.aclose()
            self._client = None

    def forget(self, uri: str) -> None:
        """A document closed: drop what was kept for it."""
        self._shown.pop(uri, None)
        self._recent.pop(uri, None)
        for calls in (self._inflight, self._speculative):
            call = calls.pop(uri, None)
            if call is not None and not call.task.done():
                call.task.cancel()
        self.debouncer.forget(uri)
        self._excluded_logged.discard(uri)

    def may_send(self, uri: str, language_id: str) -> bool:
        """privacy.exclusion_reason under the current settings; a log line once per document."""
        reason = exclusion_reason(uri, language_id, self.settings)
        if reason is not None and uri not in self._excluded_logged:
            self._excluded_logged.add(uri)
            log.info("%s is never sent to the provider: %s", uri, reason)
        return reason is None

    # -- the pipeline -----------------------------------------------------------
    async def complete(self, ctx: CursorContext, trigger: Trigger = Trigger.AUTOMATIC) -> list[Suggestion]:
        settings = self.settings
        self.stats["requests"] += 1
        if not settings.enabled or not self.may_send(ctx.uri, ctx.language_id):
            self.stats["not_sent_private"] += settings.enabled
            return []
        if trigger == Trigger.AUTOMATIC:
            self.debouncer.keystroke(ctx.uri)
        # Every request, even one answered from memory, supersedes the older ones.
        ticket = self.debouncer.enter(ctx.uri)
        try:
            rest = self._typing_through(ctx)
            if rest is not None:
                self.stats["typing_through"] += 1
                self._speculate(ctx, rest)
                return [Suggestion(rest.text, "typing", rest.replace_after)]
            if settings.forward_cache:
                rest = self._forward(ctx)
                if rest is not None:
                    self.stats["forward_hits"] += 1
                    self._speculate(ctx, rest)
                    return [Suggestion(rest.text, "cache", rest.replace_after)]

            # workspace snippets: only now, when the answer is not already in memory
            ctx = self.with_snippets(ctx)

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

            call = self._start_call(ctx, request, key, ticket)
            raw = await self._await_call(call, ticket)
            if raw is None:
                return []
            return self._finish(ctx, raw, "provider")
        except Superseded:
            self.stats["superseded"] += 1
            return []
        except asyncio.CancelledError:
            self.stats["cancelled"] += 1
            raise
        finally:
            self.debouncer.leave(ticket)

    # -- optimisations ----------------------------------------------------------
    def _forward(self, ctx: CursorContext) -> postprocess.Cleaned | None:
        """A recent suggestion of this document that the user has since typed into
        (also after backspacing and typing again). Each was syntax-checked in the
        document it completes, which typing its start does not change."""
        for shown in reversed(self._recent.get(ctx.uri, ())):
            rest = typed_through(shown, ctx)
            if rest is not None:
                cleaned = self._clean_rest(rest, ctx)
                if cleaned.text:
                    self._shown[ctx.uri] = shown
                    return cleaned
        return None

    def _remember(self, uri: str, shown: Shown) -> None:
        """Keep a shown suggestion for the forwarding cache: the last RECENT_PER_DOC of
        the RECENT_DOCS documents used last (each holds its prompt windows, so the
        total stays bounded however many documents a session opens)."""
        kept = self._recent.get(uri)
        if kept is None:
            kept = self._recent[uri] = deque(maxlen=RECENT_PER_DOC)
            while len(self._recent) > RECENT_DOCS:
                self._recent.popitem(last=False)
        else:
            self._recent.move_to_end(uri)
        kept.append(shown)

    async def _reuse(self, ctx: CursorContext, ticket) -> list[Suggestion] | None:
        """Wait for a running call whose prefix this one extends by what it has
        produced so far, instead of starting another."""
        for calls in (self._speculative, self._inflight):
            call = calls.get(ctx.uri)
            if call is None or call.task.done() or call.ctx.suffix != ctx.suffix:
                continue
            typed = extension(call.ctx, ctx)
            if typed is None:
                continue
            so_far = "".join(call.request.progress or ())
            if not (so_far.startswith(typed) or typed.startswith(so_far)):
                continue
            call.owner = ticket
            self.stats["inflight_reused"] += 1
            raw = await self._await_call(call, ticket)
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
            self._remember(ctx.uri, shown)
            self._speculate(ctx, cleaned)
            return [Suggestion(cleaned.text, "provider", cleaned.replace_after)]
        return None

    def _speculate(self, ctx: CursorContext, cleaned: postprocess.Cleaned) -> None:
        """Ask now for what follows the suggestion being typed through (or just
        shown), so the next ghost text is ready when the cursor gets there."""
        settings = self.settings
        text = cleaned.text
        if not settings.speculative_next or cleaned.replace_after or "\r" in text or not self.health.may_call():
            return
        if len(ctx.prefix) + len(text) > settings.max_prefix_chars:
            return  # the real window would start elsewhere
        target = advanced(ctx, text)
        old = self._speculative.get(ctx.uri)
        running = old is not None and not old.task.done()
        if running and old.ctx.offset == target.offset and old.ctx.prefix == target.prefix and old.ctx.suffix == target.suffix:
            return  # already asked (typing through keeps the same target: no work per keystroke)
        target = self.with_snippets(target)
        request = build_request(target, settings)
        key = cache_key(settings, request)
        if self.cache.get(key) is not None:
            return
        if running:
            if old.key == key:
                return
            if old.owner is None:
                self._cancel_call(old)
        self.stats["speculative_calls"] += 1
        self._speculative[ctx.uri] = self._start_call(target, request, key, None)

    # -- provider calls -----------------------------------------------------------
    def _start_call(self, ctx: CursorContext, request, key, owner) -> Call:
        request = replace(request, progress=[])
        self.stats["provider_calls"] += 1
        shared = common_prefix_len(self._last_prompt, request.prompt)
        self.stats["prompt_chars"] += len(request.prompt)
        self.stats["prompt_shared_chars"] += shared
        self._last_prompt = request.prompt
        timeout_s = self.settings.timeout_ms / 1000
        call = Call(ctx, request, key, owner, self._clock())
        call.task = asyncio.ensure_future(self.provider.complete(request, timeout_s))
        if not self._running:
            self.on_status("busy", "")
        self._running.add(call)
        if owner is not None:
            self._inflight[ctx.uri] = call
        call.task.add_done_callback(lambda task, call=call: self._call_done(call))
        return call

    def _call_done(self, call: Call) -> None:
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
                self._failed(error)
        else:
            completion = task.result()
            elapsed = self._clock() - call.started
            self.provider_seconds.append(elapsed)
            self.stats["provider_ms_total"] += int(elapsed * 1000)
            self.usage.add(completion.usage)
            if completion.finish_reason == "early_stop":
                self.stats["early_stops"] += 1
            self._in_error = False
            if self.health.succeeded():
                log.info("%s answers again; completions resumed", self.provider.name)
            self.cache.put(call.key, self._raw(call, completion.text))
        if not self._running and not self._in_error:
            self.on_status("idle", "")  # an error stays the state until a call succeeds

    def _cancel_call(self, call: Call) -> None:
        if not call.task.done():
            call.task.cancel()
            self.stats["provider_cancelled"] += 1
            self.stats["cancelled_prompt_chars"] += len(call.request.prompt)

    def _release(self, call: Call, ticket) -> None:
        """The owner of a call leaves before its answer: end the call, unless a newer
        request takes it over (in-flight reuse waits a moment for one)."""
        if call.owner is not ticket:
            return
        if not self.settings.inflight_reuse:
            self._cancel_call(call)
            return

        def later() -> None:
            if call.owner is ticket:
                self._cancel_call(call)

        asyncio.get_running_loop().call_later(0.05, later)

    async def _await_call(self, call: Call, ticket) -> str | None:
        """The call's text cleaned for the cache, or None after a failure (reported)."""
        timeout_s = self.settings.timeout_ms / 1000
        remaining = max(0.001, timeout_s - (self._clock() - call.started))
        try:
            completion = await ticket.race(asyncio.shield(call.task), remaining)
        except asyncio.TimeoutError:
            self._cancel_call(call)
            self._failed(ProviderTimeout(f"{self.provider.name} did not answer within {timeout_s:.1f} s."))
            return None
        except (Superseded, asyncio.CancelledError):
            self._release(call, ticket)
            raise
        except ProviderError:
            return None  # reported when the call ended
        return self._raw(call, completion.text)

    def _raw(self, call: Call, text: str) -> str:
        """The call's answer cleaned for the cache, once (the cache and the waiting
        request both want it)."""
        if call.raw is None:
            call.raw = postprocess.before_cache(text, call.ctx, frozenset(self.settings.disabled_filters))
        return call.raw

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

    def _typing_through(self, ctx: CursorContext) -> postprocess.Cleaned | None:
        shown = self._shown.get(ctx.uri)
        if shown is None:
            return None
        rest = typed_through(shown, ctx)
        if rest is None:
            return None
        cleaned = self._clean_rest(rest, ctx)
        return cleaned if cleaned.text else None

    def _finish(self, ctx: CursorContext, raw: str, source: str) -> list[Suggestion]:
        cleaned = self._clean(raw, ctx)
        if not cleaned.text:
            self._shown.pop(ctx.uri, None)
            return []
        shown = Shown(ctx.prefix, ctx.suffix, ctx.offset, cleaned.text)
        self._shown[ctx.uri] = shown
        if self.settings.forward_cache:
            self._remember(ctx.uri, shown)
        self._speculate(ctx, cleaned)
        return [Suggestion(cleaned.text, source, cleaned.replace_after)]

    def _failed(self, error: ProviderError) -> None:
        kind = "fatal" if isinstance(error, FatalError) else "transient" if isinstance(error, TransientError) else "other"
        self.stats[f"errors_{kind}"] += 1
        verdict = self.health.failed(error)
        log.debug("provider call failed: %s", error.message)
        self._in_error = True
        self.on_status("error", error.message[:120])
        if verdict.notice:
            log.warning("%s", verdict.notice)
            self._notify(verdict.level, verdict.notice)

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
