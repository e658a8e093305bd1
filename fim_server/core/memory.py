"""Answers kept in memory: an LRU+TTL cache keyed on everything that decides the
answer (bounded by count and by bytes; a single answer by length), and
typing-through (the user types into the suggestion being shown)."""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
import hashlib
import sys
import time
from typing import Callable

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


MAX_CACHE_BYTES = 16 * 1024 * 1024  # the answers kept, all together (memory, not characters)
MAX_ANSWER_CHARS = 32_000  # a suggestion longer than this (about twice the 4096-token maximum) is cut


def bounded_answer(text: str) -> str:
    """An answer cut to MAX_ANSWER_CHARS, at its last line break before the limit
    (an upstream that ignores ``max_tokens`` cannot fill memory or the editor)."""
    if len(text) <= MAX_ANSWER_CHARS:
        return text
    cut = text.rfind("\n", 0, MAX_ANSWER_CHARS)
    return text[: cut if cut > 0 else MAX_ANSWER_CHARS]


def answer_bytes(text: str) -> int:
    """What keeping ``text`` costs in memory."""
    return sys.getsizeof(text)


class CompletionCache:
    """Cleaned-before-cache answers by key, least recently used evicted first, each
    kept ``ttl_s`` from when it was stored; bounded by count (``maxsize``) and by
    memory (``max_bytes``). Size 0 or ttl 0 turns it off."""

    def __init__(
        self, maxsize: int, ttl_s: float, timer: Callable[[], float] = time.monotonic, max_bytes: int = MAX_CACHE_BYTES
    ) -> None:
        self.maxsize = maxsize
        self.max_bytes = max_bytes
        self._ttl = ttl_s
        self._timer = timer
        self._on = maxsize > 0 and ttl_s > 0
        self._entries: OrderedDict[tuple, tuple[float, str, int]] = OrderedDict()  # key -> (expires, text, bytes); LRU first
        self._expiry: deque[tuple[float, tuple]] = deque()  # (expires, key) in the order stored (the same ttl for all)
        self.bytes = 0  # the sum of answer_bytes over the answers kept

    def get(self, key: tuple) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._timer():
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: tuple, text: str) -> None:
        if not self._on:
            return
        size = answer_bytes(text)
        if size > self.max_bytes:
            return
        now = self._timer()
        if key in self._entries:
            self._drop(key)
        expires = now + self._ttl
        self._entries[key] = (expires, text, size)
        self._expiry.append((expires, key))
        self.bytes += size
        self._expire(now)
        while len(self._entries) > self.maxsize or self.bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def _expire(self, now: float) -> None:
        expiry, entries = self._expiry, self._entries
        while expiry and expiry[0][0] <= now:
            expires, key = expiry.popleft()
            entry = entries.get(key)
            if entry is not None and entry[0] == expires:
                self._drop(key)
        if len(expiry) > 2 * len(entries) + 16:  # records of answers replaced or evicted since
            self._expiry = deque(sorted(((entry[0], key) for key, entry in entries.items()), key=lambda item: item[0]))

    def _drop(self, key: tuple) -> None:
        entry = self._entries.pop(key)
        self.bytes -= entry[2]

    def __len__(self) -> int:
        return len(self._entries)


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
    typed = typed_since(shown.prefix, shown.offset, shown.suffix, ctx)
    if not typed or len(typed) >= len(shown.text) or not shown.text.startswith(typed):
        return None
    return shown.text[len(typed):]


def typed_since(prefix: str, offset: int, suffix: str, ctx: CursorContext) -> str | None:
    """The text typed at the cursor since the place (``prefix``, ``offset``, ``suffix``)
    when ``ctx`` is that place plus typing (``""`` for the same place), else None.
    Both prefixes are windows (tails) of the same text, so the shorter must end the
    longer. The one rule behind typing-through and the scheduler's ``extension``."""
    typed = ctx.offset - offset
    if typed < 0 or typed > len(ctx.prefix) or ctx.suffix != suffix:
        return None
    before = ctx.prefix[: len(ctx.prefix) - typed]
    if not (before.endswith(prefix) or prefix.endswith(before)):
        return None
    if not before and prefix:
        return None
    return ctx.prefix[len(ctx.prefix) - typed :]
