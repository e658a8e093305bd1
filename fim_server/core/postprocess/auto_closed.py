"""Auto-closed brackets and quotes right of the cursor: replace them, don't duplicate them.

An editor that auto-closes leaves ``)`` (or ``"]``, ``}``, ...) right of the cursor
while the user types inside. A model that writes the call to its end writes that
``)`` again. When everything right of the cursor on its line is such closers and the
completion closes each of them, in order, the suggestion *replaces* them: the
completion keeps its closers and the item's range covers the ones in the document
(``replace_after`` code points). The later filters then see the line without them.
Which quotes an editor auto-closes, and which strings and comments to skip when
counting brackets, are the language's (``core.language.rules``: no ``'`` in Rust,
where it starts lifetimes; backticks in JS/TS and Go).
"""

from __future__ import annotations

from dataclasses import replace
import re

from fim_server.core.context import CursorContext
from fim_server.core.language import LONG_STRING, STRING, mask, open_at_end, rules, statement_start
from fim_server.core.postprocess._text import CLOSERS, OPENERS, PAIRS

TAIL_CHARS = 4000  # how much of the prefix is read for the brackets open at the cursor


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
    quotes = rules(ctx.language_id).auto_closed
    if rest and all(ch in CLOSERS or ch in quotes for ch in rest):
        return rest
    return ""


def closes_all(text: str, closers: str, quotes: str = "\"'`") -> bool:
    """Whether ``text`` closes each of ``closers`` in order (closers it opens itself
    don't count; ``quotes``: the language's quote characters, a backslash escaping the
    character after it inside a string)."""
    want = 0
    stack: list[str] = []
    open_quote = ""
    escaped = False
    for ch in text:
        if want == len(closers):
            return True
        if open_quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == open_quote:
                open_quote = ""
            continue
        if ch in quotes:
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


def _open_stack(code: str) -> list[str]:
    """The brackets left open in ``code`` (strings and comments blanked), innermost last."""
    stack: list[str] = []
    for ch in code:
        if ch in OPENERS:
            stack.append(ch)
        elif ch in CLOSERS and stack and stack[-1] == PAIRS[ch]:
            stack.pop()
    return stack


def _unmatched_closers(code: str) -> list[str]:
    """The closers in ``code`` that close brackets opened before it, in order."""
    depth = 0
    stray: list[str] = []
    for ch in code:
        if ch in OPENERS:
            depth += 1
        elif ch in CLOSERS:
            if depth:
                depth -= 1
            else:
                stray.append(ch)
    return stray


def over_closes(text: str, closers: str, ctx: CursorContext) -> bool:
    """Whether the completion and the closers together close more than is open:
    the brackets open before the cursor (the prefix read from a statement start, the
    language's strings and comments skipped) closed in turn by the completion's
    closers and then the document's, each by its own kind; quotes by the string open
    at the cursor."""
    language_id = ctx.language_id
    if any(ch in CLOSERS for ch in closers):
        whole = ctx.prefix.count("\n") == ctx.line
        prefix = ctx.prefix[statement_start(ctx.prefix, language_id, TAIL_CHARS, whole) :]
        stack = _open_stack(_NOT_BRACKETS.sub(_keep, mask(prefix, language_id)))
        at_cursor = open_at_end(ctx.line_prefix, language_id)  # the completion may go on with a string
        for ch in _unmatched_closers(mask(text, language_id, at_cursor)) + [c for c in closers if c in CLOSERS]:
            if not stack or stack[-1] != PAIRS[ch]:
                break  # more closed than is open (or another kind): the document's closer is one too many
            stack.pop()
        else:
            return False
    quotes = set(closers) & set(rules(language_id).auto_closed)
    if quotes:
        span = open_at_end(ctx.line_prefix, language_id)
        in_string = span is not None and span.kind in (STRING, LONG_STRING)
        for q in quotes:
            if not (in_string and span.closer.startswith(q)):
                return False  # no string open before the cursor: the quote right of it is its own
    return True


_NOT_BRACKETS = re.compile(r"[^()\[\]{}]+")


def _keep(_match: re.Match[str]) -> str:
    return ""


def apply(text: str, ctx: CursorContext) -> str | Replace:
    closers = closers_right_of_cursor(ctx)
    if not closers or not text or not closes_all(text, closers, rules(ctx.language_id).auto_closed):
        return text
    if not over_closes(text, closers, ctx):
        return text
    n = len(closers)
    narrowed = replace(ctx, line_suffix=ctx.line_suffix[n:], suffix=ctx.suffix[n:],
                       cell=None if ctx.cell is None else (ctx.cell[0], ctx.cell[1] - n))
    return Replace(text, narrowed, n)
