"""Pure helpers of the typing optimisations: the running call record, where the
cursor ends after a suggestion, whether a context extends an older one, the
adaptive debounce."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import Any

from fim_server.core.context import CursorContext


@dataclass(eq=False)
class Call:
    """One provider call in flight: the context it was made for, its request and cache
    key, the request (ticket) answering with it (None: speculative), its task, and
    its answer cleaned for the cache once it came (``raw``)."""

    ctx: CursorContext
    request: Any
    key: tuple
    owner: Any
    started: float
    task: asyncio.Future = field(init=False)
    raw: str | None = None


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
    )


def extension(old: CursorContext, new: CursorContext) -> str | None:
    """The text typed since ``old`` when ``new`` is ``old`` plus typing at its cursor
    (``""`` for the same place), else None. Both prefixes are windows (tails) of the
    same text, so the shorter must end the longer."""
    typed = new.offset - old.offset
    if typed < 0 or typed > len(new.prefix) or new.suffix != old.suffix:
        return None
    before = new.prefix[: len(new.prefix) - typed]
    if not (before.endswith(old.prefix) or old.prefix.endswith(before)):
        return None
    if not before and old.prefix:
        return None
    return new.prefix[len(new.prefix) - typed :]


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def adaptive_delay(base_s: float, gaps: list[float], ctx: CursorContext, provider_s: list[float]) -> float:
    """Debounce from the user's own rhythm, the character typed, the cursor place and
    the provider's recent latency.

    Waiting a little longer than nearly all of this user's gaps between keys (the
    90th percentile) lets a burst finish without a call; a word character or a
    space says the burst goes on; at a line end after punctuation (``:``, ``(``,
    ``{``, ``,``) a pause is likely, so ask sooner; with a slow provider start
    sooner still.
    """
    wait = base_s
    if len(gaps) >= 8:
        wait = min(max(_quantile(gaps, 0.9) * 1.1, 0.04), max(2 * base_s, 0.4))
    last = ctx.line_prefix[-1:]
    at_line_end = not ctx.line_suffix.strip()
    if at_line_end and last and not (last.isalnum() or last in "_ \t"):
        wait *= 0.6
    if provider_s and sorted(provider_s)[len(provider_s) // 2] > 0.8:
        wait *= 0.8
    return max(0.0, min(wait, 1.0))
