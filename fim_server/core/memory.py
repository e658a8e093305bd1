"""Answers kept in memory: an LRU+TTL cache keyed on everything that decides the
answer, and typing-through (the user types into the suggestion being shown)."""

from __future__ import annotations

from dataclasses import dataclass
import hashlib
import time
from typing import Callable

from cachetools import TTLCache

from fim_server.settings import Settings
from fim_server.core.context import CursorContext
from fim_server.providers.base import FimRequest


def cache_key(settings: Settings, request: FimRequest) -> tuple:
    """Provider, endpoint, model and sampling settings plus a digest of prompt and suffix."""
    digest = hashlib.blake2b(digest_size=20)
    digest.update(request.prompt.encode("utf-8", "surrogatepass"))
    digest.update(b"\x00\x01")
    digest.update(request.suffix.encode("utf-8", "surrogatepass"))
    for path, text in request.extra:
        digest.update(b"\x00\x02" + path.encode("utf-8", "surrogatepass") + b"\x00" + text.encode("utf-8", "surrogatepass"))
    return (
        settings.provider,
        settings.resolved_base_url(),
        settings.resolved_model(),
        settings.template,
        request.max_tokens,
        request.temperature,
        request.stop,
        digest.digest(),
    )


class CompletionCache:
    """Cleaned-before-cache answers by key; size 0 turns it off."""

    def __init__(self, maxsize: int, ttl_s: float, timer: Callable[[], float] = time.monotonic) -> None:
        self._cache: TTLCache | None = TTLCache(maxsize=maxsize, ttl=ttl_s, timer=timer) if maxsize > 0 and ttl_s > 0 else None

    def get(self, key: tuple) -> str | None:
        return None if self._cache is None else self._cache.get(key)

    def put(self, key: tuple, text: str) -> None:
        if self._cache is not None:
            self._cache[key] = text

    def __len__(self) -> int:
        return 0 if self._cache is None else len(self._cache)


@dataclass(frozen=True)
class Shown:
    """The suggestion last shown in a document, and where."""

    prefix: str
    suffix: str
    offset: int
    text: str


def typed_through(shown: Shown, ctx: CursorContext) -> str | None:
    """The rest of ``shown`` when the user has since typed its beginning, else None.

    The text after the cursor must be unchanged, the cursor must have moved forward
    by the typed characters, and the text before the cursor must be the old text
    followed by exactly those characters (both windows are tails of the same text,
    so the shorter must end the longer).
    """
    typed = ctx.offset - shown.offset
    if typed <= 0 or typed >= len(shown.text) or ctx.suffix != shown.suffix:
        return None
    head = shown.text[:typed]
    if not ctx.prefix.endswith(head):
        return None
    before = ctx.prefix[: len(ctx.prefix) - typed]
    if not (before.endswith(shown.prefix) or shown.prefix.endswith(before)):
        return None
    if not before and shown.prefix:
        return None
    return shown.text[typed:]
