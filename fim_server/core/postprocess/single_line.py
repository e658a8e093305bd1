"""Single-line vs multi-line: where only one line makes sense, keep one line.

One line when
* code follows the cursor on its line (a multi-line answer would push it down);
* the cursor is inside a string that ends on its line (the language's quotes; not a
  string that may span lines: Python's triple quotes, a JS template, a Go raw string);
* the cursor is at the end of a line comment *and* the completion goes on on that
  line: it finishes the comment, and what it writes on later lines is not trusted.
  A completion that starts on a new line after a comment is ordinary code (or another
  comment line) and keeps its lines.
Several lines may follow at the end of a line, after an opening bracket or ``:`` and
on a blank line. Comment markers and quotes come from ``core.language``.
"""

from __future__ import annotations

from fim_server.core.context import CursorContext
from fim_server.core.language import COMMENT, STRING, open_at_end


def _open_kind(line_prefix: str, language_id: str) -> str | None:
    span = open_at_end(line_prefix, language_id)
    return span.kind if span is not None else None


def in_comment_or_string(line_prefix: str, language_id: str) -> bool:
    """Whether the cursor at the end of ``line_prefix`` is in a line comment or in a
    string that ends on its line (a backslash escapes the character after it)."""
    return _open_kind(line_prefix, language_id) in (COMMENT, STRING)


def in_line_comment(ctx: CursorContext) -> bool:
    return _open_kind(ctx.line_prefix, ctx.language_id) == COMMENT


def wants_single_line(ctx: CursorContext) -> bool:
    """Whether the request may stop at the first line end: code after the cursor, or
    an open one-line string. (At a comment's end the completion may start a new line.)"""
    if ctx.line_suffix.strip():
        return True
    return _open_kind(ctx.line_prefix, ctx.language_id) == STRING


def _first_line(text: str) -> str:
    cut = len(text)
    for mark in ("\r", "\n"):
        at = text.find(mark)
        if at != -1:
            cut = min(cut, at)
    return text[:cut]


def apply(text: str, ctx: CursorContext) -> str:
    if wants_single_line(ctx):
        return _first_line(text)
    if in_line_comment(ctx):
        first = _first_line(text)
        if first.strip():  # goes on with the comment: that line only
            return first
    return text
