"""Mid-line, keep one line: code follows the cursor on its line, so a multi-line
answer would push that code down (it belongs after the first line)."""

from __future__ import annotations

from ..context import CursorContext


def wants_single_line(ctx: CursorContext) -> bool:
    return bool(ctx.line_suffix.strip())


def apply(text: str, ctx: CursorContext) -> str:
    if not wants_single_line(ctx):
        return text
    cut = len(text)
    for mark in ("\r", "\n"):
        at = text.find(mark)
        if at != -1:
            cut = min(cut, at)
    return text[:cut]
