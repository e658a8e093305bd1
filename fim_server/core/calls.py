"""Pure helpers of the typing optimisations: the running call record, where the
cursor ends after a suggestion, whether a context extends an older one."""

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
