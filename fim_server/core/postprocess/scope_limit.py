"""Stop when the completion leaves the block it started in (by indentation).

The block's indentation is that of the cursor line with the completion's first line
typed in (or, on a blank cursor line, of the completion's first non-blank line). A
later line indented less leaves the block: the completion is cut before it, and the
blank lines before the cut go too.

Blank lines never end a block (Python allows any number inside one). A line that
starts with a closing bracket may go out to close a bracket still open (``)`` of a
call spread over lines); Python's ``else:``/``elif``/``except``/``finally`` continue a
statement the completion itself opened, so they may dedent to it; so may the triple
quotes that close a docstring the cursor is in (the docstring's indentation is text, not
a block). At the top level
(indentation 0), where indentation cannot tell blocks apart, a completion that
begins with a line at column 0 and reaches a second top-level definition after a
blank line is cut there (two functions for one hole is running on).
"""

from __future__ import annotations

import re

from fim_server.core.context import CursorContext
from fim_server.core.postprocess._text import CLOSERS, indent_of, open_brackets

_CONTINUATION = re.compile(r"(else|elif|except|finally|case)\b")
_TOP_DEF = re.compile(r"(async\s+def|def|class|function|func|fn|pub\s+fn|impl|struct|interface|type)\b")


_COMPOUND = re.compile(r"([ \t]*)(if|elif|try|except|for|while|with|match|case|switch)\b")


def _compound_widths(prefix: str, last: int = 30) -> set[int]:
    """Indentations of compound statements among the prefix's last lines."""
    lines = prefix.split("\n")[-last:]
    return {len(m.group(1)) for m in map(_COMPOUND.match, lines) if m}


def _cut(lines: list[str], at: int) -> str:
    kept = lines[:at]
    while kept and not kept[-1].strip():
        kept.pop()
    return "\n".join(kept)


def apply(text: str, ctx: CursorContext) -> str:
    lines = text.split("\n")
    if len(lines) < 2:
        return text
    first = ctx.line_prefix + lines[0]
    start = 1
    if first.strip():
        base = indent_of(first)
    else:
        nonblank = [i for i in range(1, len(lines)) if lines[i].strip()]
        if not nonblank:
            return text
        start = nonblank[0] + 1
        base = indent_of(lines[nonblank[0]])
    tail = ctx.prefix[-4000:]
    compound = _compound_widths(tail)
    seen_blank = False
    for i in range(1, len(lines)):
        line = lines[i]
        if i >= start:
            stripped = line.strip()
            if not stripped:
                seen_blank = True
                continue
            width = indent_of(line)
            if width < base:
                if stripped[0] in CLOSERS and open_brackets(tail + "\n".join(lines[:i])) > 0:
                    pass  # closes a bracket still open (the ``)`` of a call over several lines)
                elif _CONTINUATION.match(stripped) and width in compound:
                    base = width  # ``else:`` of an ``if`` before the cursor: that block goes on
                elif stripped[:3] in ('"""', "'''") and (tail + "\n".join(lines[:i])).count(stripped[:3]) % 2 == 1:
                    base = width  # closes a docstring open before the cursor: its text was not a block
                else:
                    return _cut(lines, i)
            elif base == 0 and width == 0 and seen_blank and _TOP_DEF.match(stripped):
                return _cut(lines, i)
            seen_blank = False
    return text
