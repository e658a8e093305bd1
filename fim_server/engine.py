"""CompletionEngine: the pipeline from a cursor context to cleaned suggestions.

Read top to bottom it is the data path: typing-through, cache, health, debounce,
provider call (raced against newer requests and the deadline), cleaning. No LSP
types in here; the server converts at the edges.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from dataclasses import dataclass
import enum
import logging
import time
from typing import Callable, Protocol

import httpx

from . import postprocess
from .cache import CompletionCache, Shown, cache_key, typed_through
from .config import Settings
from .context import CursorContext
from .debounce import Debouncer, Superseded
from .errors import FatalError, ProviderError, ProviderTimeout, TransientError
from .health import ProviderHealth
from .http import make_client
from .privacy import exclusion_reason
from .prompt import build_request
from .providers import Provider, Usage, create_provider

log = logging.getLogger(__name__)


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
        self.debouncer = Debouncer()
        self.stats: Counter[str] = Counter()
        self.usage = Usage()
        # seconds each recent provider call took (benchmarks subtract it from round trips)
        self.provider_seconds: deque[float] = deque(maxlen=4096)
        self._shown: dict[str, Shown] = {}
        self.settings = settings
        self._provider: Provider | None = None
        self.cache = CompletionCache(settings.cache_size, settings.cache_ttl_seconds, clock)
        self.syntax = postprocess.SyntaxChecker()

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
        self.health.reset()
        self.health.fatal_retry_s = settings.fatal_retry_seconds

    @property
    def provider(self) -> Provider:
        if self._provider is None:
            if self._client is None:
                self._client = make_client(verify=self.settings.ca_bundle or True)
            self._provider = self._provider_factory(self.settings, self._client)
        return self._provider

    async def aclose(self) -> None:
        self.debouncer.cancel_all()
        if self._client is not None and self._own_client:
            await self._client.aclose()
            self._client = None

    def forget(self, uri: str) -> None:
        """A document closed: drop what was kept for it."""
        self._shown.pop(uri, None)
        self.debouncer.cancel(uri)
        self._excluded_logged.discard(uri)

    def may_send(self, uri: str, language_id: str) -> bool:
        """privacy.exclusion_reason under the current settings; a log line once per document."""
        reason = exclusion_reason(uri, language_id, self.settings)
        if reason is not None and uri not in self._excluded_logged:
            self._excluded_logged.add(uri)
            log.info("%s is never sent to the provider: %s", uri, reason)
        return reason is None

    # -- the pipeline -----------------------------------------------------------
    def enabled_for(self, language_id: str) -> bool:
        return self.settings.enabled and language_id not in self.settings.disabled_languages

    async def complete(self, ctx: CursorContext, trigger: Trigger = Trigger.AUTOMATIC) -> list[Suggestion]:
        settings = self.settings
        self.stats["requests"] += 1
        if not settings.enabled or not self.may_send(ctx.uri, ctx.language_id):
            self.stats["not_sent_private"] += settings.enabled
            return []
        # Every request, even one answered from memory, supersedes the older ones.
        ticket = self.debouncer.enter(ctx.uri)
        try:
            rest = self._typing_through(ctx)
            if rest is not None:
                self.stats["typing_through"] += 1
                return [Suggestion(rest.text, "typing", rest.replace_after)]

            request = build_request(ctx, settings)
            key = cache_key(settings, request)
            raw = self.cache.get(key)
            if raw is not None:
                self.stats["cache_hits"] += 1
                return self._finish(ctx, raw, "cache")

            if not self.health.may_call():
                self.stats["skipped_unhealthy"] += 1
                return []

            if trigger == Trigger.AUTOMATIC and settings.debounce_ms > 0:
                await ticket.sleep(settings.debounce_ms / 1000)

            raw = await self._call_provider(ticket, request, settings)
            if raw is None:
                return []
            raw = postprocess.before_cache(raw, ctx, frozenset(settings.disabled_filters))
            self.cache.put(key, raw)
            return self._finish(ctx, raw, "provider")
        except Superseded:
            self.stats["superseded"] += 1
            return []
        except asyncio.CancelledError:
            self.stats["cancelled"] += 1
            raise
        finally:
            self.debouncer.leave(ticket)

    def _clean(self, raw: str, ctx: CursorContext) -> postprocess.Cleaned:
        settings = self.settings
        return postprocess.clean(
            raw,
            ctx,
            disabled=frozenset(settings.disabled_filters),
            syntax=self.syntax if settings.syntax_check else None,
        )

    def _typing_through(self, ctx: CursorContext) -> postprocess.Cleaned | None:
        shown = self._shown.get(ctx.uri)
        if shown is None:
            return None
        rest = typed_through(shown, ctx)
        if rest is None:
            return None
        cleaned = self._clean(rest, ctx)
        return cleaned if cleaned.text else None

    def _finish(self, ctx: CursorContext, raw: str, source: str) -> list[Suggestion]:
        cleaned = self._clean(raw, ctx)
        if not cleaned.text:
            self._shown.pop(ctx.uri, None)
            return []
        self._shown[ctx.uri] = Shown(ctx.prefix, ctx.suffix, ctx.offset, cleaned.text)
        return [Suggestion(cleaned.text, source, cleaned.replace_after)]

    async def _call_provider(self, ticket, request, settings: Settings) -> str | None:
        """The provider's text, or None after a failure (already reported)."""
        timeout_s = settings.timeout_ms / 1000
        self.stats["provider_calls"] += 1
        started = self._clock()
        try:
            completion = await ticket.race(self.provider.complete(request, timeout_s), timeout_s)
        except asyncio.TimeoutError:
            self._failed(ProviderTimeout(f"{self.provider.name} did not answer within {timeout_s:.1f} s."))
            return None
        except ProviderError as error:
            self._failed(error)
            return None
        elapsed = self._clock() - started
        self.provider_seconds.append(elapsed)
        self.stats["provider_ms_total"] += int(elapsed * 1000)
        self.usage.add(completion.usage)
        if self.health.succeeded():
            log.info("%s answers again; completions resumed", self.provider.name)
        return completion.text

    def _failed(self, error: ProviderError) -> None:
        kind = "fatal" if isinstance(error, FatalError) else "transient" if isinstance(error, TransientError) else "other"
        self.stats[f"errors_{kind}"] += 1
        verdict = self.health.failed(error)
        log.debug("provider call failed: %s", error.message)
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
            "prompt_tokens": self.usage.prompt_tokens,
            "completion_tokens": self.usage.completion_tokens,
            "cache_hit_tokens": self.usage.cache_hit_tokens,
            "cache_miss_tokens": self.usage.cache_miss_tokens,
            "cached_answers": len(self.cache),
        }


def _close_later(client: httpx.AsyncClient) -> None:
    try:
        asyncio.get_running_loop().create_task(client.aclose())
    except RuntimeError:  # no loop running: nothing is in flight on it either
        pass
