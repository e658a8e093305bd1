"""The text around the cursor, cut into a prefix and a suffix window (pure).

The prefix window starts at a line boundary and is *anchored*: its first line is
rounded to a multiple of ``ANCHOR_LINES`` so that it stays put while the user types,
and consecutive prompts share a long common beginning (DeepSeek's prefix cache can
only serve a repeated beginning). The suffix window ends at a line boundary.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
import re
from typing import Sequence

from fim_server.core.documents import line_content

ANCHOR_LINES = 32
_WORD_TAIL = re.compile(r"\w+$")


@dataclass(frozen=True)
class CursorContext:
    """Everything the later stages need to know about the cursor, as plain text."""

    uri: str
    language_id: str
    prefix: str  # window of text before the cursor (cut at a line start)
    suffix: str  # window of text after the cursor (cut at a line end)
    line_prefix: str  # the cursor line up to the cursor
    line_suffix: str  # the cursor line after the cursor, without its terminator
    line: int  # 0-based line of the cursor
    column: int  # code points from the start of the line
    offset: int  # absolute code-point offset of the cursor in the document
    newline: str = "\n"  # the document's line terminator at the cursor
    # (path, text) of snippets from other open documents / recent edits, placed first in the prompt
    snippets: tuple[tuple[str, str], ...] = ()

    @property
    def word_before(self) -> str:
        match = _WORD_TAIL.search(self.line_prefix)
        return match.group(0) if match else ""


def _newline_of(lines: list[str], line: int) -> str:
    for candidate in (lines[line], lines[line - 1] if line > 0 else ""):
        if candidate.endswith("\r\n"):
            return "\r\n"
        if candidate.endswith("\r"):
            return "\r"
        if candidate.endswith("\n"):
            return "\n"
    return "\n"


def prefix_start_line(
    lines: list[str], line: int, col: int, budget: int, anchor: int = ANCHOR_LINES, starts: Sequence[int] | None = None
) -> int:
    """First line of the prefix window: as early as the budget allows, rounded up to
    a multiple of ``anchor`` so it moves only every ``anchor`` lines.

    When lines are so long that the rounding would give up more than a quarter of
    the lines that fit, the step halves (16, 8, ...): multiples of 32 are multiples
    of 16, so the window still moves rarely, and never loses much context.

    ``starts`` (code points before each line, valid up to ``line``; the document
    keeps them) finds the start by bisection instead of walking the lines.
    """
    if starts is not None:
        # the earliest start with starts[line] - starts[start] + col <= budget
        start = min(line, bisect_left(starts, starts[line] + col - budget, 0, line + 1))
    else:
        used = col
        start = line
        while start > 0 and used + len(lines[start - 1]) <= budget:
            start -= 1
            used += len(lines[start])
    if start == 0:
        return 0
    step = anchor
    while step > 1 and step > (line - start) // 4:
        step //= 2
    return -(-start // step) * step


def build_context(
    uri: str,
    lines: list[str],
    line: int,
    col: int,
    *,
    max_prefix_chars: int,
    max_suffix_chars: int,
    language_id: str = "",
    offset: int | None = None,
    anchor: int = ANCHOR_LINES,
    line_starts: Sequence[int] | None = None,
) -> CursorContext:
    """Cut the windows around (line, col), both given in code points.

    The cursor line is always included; when the part of it before (after) the
    cursor alone exceeds the budget, it is cut at the budget, never at the cursor.
    """
    current = lines[line]
    content = line_content(current)
    line_prefix = content[:col]
    line_suffix = content[col:]
    start = prefix_start_line(lines, line, col, max_prefix_chars, anchor, line_starts)
    prefix = "".join(lines[start:line]) + line_prefix
    if len(prefix) > max_prefix_chars:
        prefix = prefix[len(prefix) - max_prefix_chars :]

    suffix_parts = [current[col:]]
    used = len(suffix_parts[0])
    for index in range(line + 1, len(lines)):  # no copy of the rest of a large file
        nxt = lines[index]
        if used + len(nxt) > max_suffix_chars:
            break
        suffix_parts.append(nxt)
        used += len(nxt)
    suffix = "".join(suffix_parts)
    if len(suffix) > max_suffix_chars:
        suffix = suffix[:max_suffix_chars]

    if offset is None:
        offset = sum(map(len, lines[:line])) + col
    return CursorContext(
        uri=uri,
        language_id=language_id,
        prefix=prefix,
        suffix=suffix,
        line_prefix=line_prefix,
        line_suffix=line_suffix,
        line=line,
        column=col,
        offset=offset,
        newline=_newline_of(lines, line),
    )
