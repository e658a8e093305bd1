"""Auto-closed brackets and quotes right of the cursor: replace them, don't duplicate them.

An editor that auto-closes leaves ``)`` (or ``"]``, ``}``, ...) right of the cursor
while the user types inside. A model that writes the call to its end writes that
``)`` again. When everything right of the cursor on its line is such closers and the
completion closes each of them, in order, the suggestion *replaces* them: the
completion keeps its closers and the item's range covers the ones in the document
(``replace_after`` code points). The later filters then see the line without them.
"""

from __future__ import annotations

from dataclasses import replace

from fim_server.core.context import CursorContext
from fim_server.core.postprocess._text import CLOSERS, OPENERS, PAIRS, QUOTES, open_brackets


class Replace:
    """A filter's answer that also changes the context: ``replace_after`` code points
    right of the cursor are replaced by the completion."""

    __slots__ = ("text", "ctx", "replace_after")

    def __init__(self, text: str, ctx: CursorContext, replace_after: int) -> None:
        self.text = text
        self.ctx = ctx
        self.replace_after = replace_after


def closers_right_of_cursor(ctx: CursorContext) -> str:
    rest = ctx.line_suffix.rstrip(" \t")
    if rest and all(ch in CLOSERS or ch in QUOTES for ch in rest):
        return rest
    return ""


def closes_all(text: str, closers: str) -> bool:
    """Whether ``text`` closes each of ``closers`` in order (closers it opens itself don't count)."""
    want = 0
    stack: list[str] = []
    open_quote = ""
    for ch in text:
        if want == len(closers):
            return True
        if open_quote:
            if ch == open_quote:
                open_quote = ""
            continue
        if ch in QUOTES:
            if ch == closers[want] and not stack:
                want += 1
            else:
                open_quote = ch
        elif ch in OPENERS:
            stack.append(ch)
        elif ch in CLOSERS:
            if stack and stack[-1] == PAIRS[ch]:
                stack.pop()
            elif ch == closers[want]:
                want += 1
            else:
                return False
    return want == len(closers)


def _unmatched_closers(text: str) -> int:
    stack = 0
    stray = 0
    for ch in text:
        if ch in OPENERS:
            stack += 1
        elif ch in CLOSERS:
            if stack:
                stack -= 1
            else:
                stray += 1
    return stray


def over_closes(text: str, closers: str, ctx: CursorContext) -> bool:
    """Whether the completion and the closers together close more than is open:
    brackets counted over the prefix, quotes over the cursor line."""
    brackets = sum(ch in CLOSERS for ch in closers)
    if brackets and _unmatched_closers(text) + brackets <= open_brackets(ctx.prefix[-4000:]):
        return False
    for q in set(closers) & set(QUOTES):
        if ctx.line_prefix.count(q) % 2 == 0:
            return False  # no string open before the cursor: the quote right of it is its own
    return True


def apply(text: str, ctx: CursorContext) -> str | Replace:
    closers = closers_right_of_cursor(ctx)
    if not closers or not text or not closes_all(text, closers) or not over_closes(text, closers, ctx):
        return text
    n = len(closers)
    narrowed = replace(ctx, line_suffix=ctx.line_suffix[n:], suffix=ctx.suffix[n:],
                       cell=None if ctx.cell is None else (ctx.cell[0], ctx.cell[1] - n))
    return Replace(text, narrowed, n)
