"""Trim the end of a completion that repeats the text already after the cursor.

Two shapes:

* whole lines at the end of the completion that equal the document's next
  non-blank lines: lines with words match whatever their indentation, and so do
  lines of bare openers (a ``{`` on its own line, the document's next line); other
  lines of bare punctuation only with the same indentation (a ``}`` closing the
  completion's own block is not the document's ``}`` one level out; a ``/**``
  opening a member's doc comment is not the document's next top-level one);
* a last line that ends with everything right of the cursor on its line
  (``foo(x)`` typed before ``)``), trimmed only when that does not unbalance the
  brackets of the line (``bar()`` typed inside ``foo(█)`` keeps its own ``)``).
"""

from __future__ import annotations

import re

from fim_server.core.context import CursorContext
from fim_server.core.postprocess._text import balances_better

def _lines_after_cursor(ctx: CursorContext) -> list[str]:
    rest = ctx.suffix.replace("\r\n", "\n").replace("\r", "\n").split("\n")[1:]
    return [line.rstrip() for line in rest if line.strip()]


def _same_line(ours: str, theirs: str) -> bool:
    ours = ours.rstrip()
    if not ours:
        return False
    stripped = ours.strip()
    if any(ch.isalnum() for ch in ours) or _OPENERS_ONLY.match(stripped):
        return stripped == theirs.strip()  # a { line opens what the document opens next, however indented
    return ours == theirs


_OPENERS_ONLY = re.compile(r"[(\[{]+$")


def trim_repeated_lines(text: str, ctx: CursorContext) -> str:
    """Whole lines at the end of ``text`` that equal the document's next non-blank lines, trimmed."""
    body = text.rstrip("\n")
    lines = body.split("\n")
    following = _lines_after_cursor(ctx)
    if len(lines) < 2 or not following:
        return text
    for m in range(min(len(lines) - 1, len(following)), 0, -1):
        if all(_same_line(ours, theirs) for ours, theirs in zip(lines[-m:], following[:m])):
            return "\n".join(lines[:-m])
    return text


def _trim_line_rest(text: str, ctx: CursorContext) -> str:
    rest = ctx.line_suffix.rstrip()
    if not rest.strip():
        return text
    lines = text.split("\n")
    last = lines[-1].rstrip()
    if not (len(last) > len(rest) and last.endswith(rest)):
        rest = rest.strip()  # the completion may space differently before the repeat
    repeats = (len(last) > len(rest) and last.endswith(rest)) or (len(lines) > 1 and last.strip() == rest)
    if not repeats:
        return text
    trimmed = text[: len(text) - (len(lines[-1]) - len(last)) - len(rest)]
    if any(ch in rest for ch in "()[]{}"):
        line_of = lambda middle: ctx.line_prefix + middle.split("\n")[0] + ctx.line_suffix  # noqa: E731
        if len(lines) == 1 and not balances_better(line_of(trimmed), line_of(text), ctx.language_id):
            return text
    return trimmed


def apply(text: str, ctx: CursorContext) -> str:
    if not text:
        return text
    return _trim_line_rest(trim_repeated_lines(text, ctx), ctx)
