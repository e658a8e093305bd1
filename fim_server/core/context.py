"""The text around the cursor, cut into a prefix and a suffix window (pure).

The prefix window starts at a line boundary and is *anchored*: its first line is
rounded to a multiple of ``ANCHOR_LINES`` so that it stays put while the user types,
and consecutive prompts share a long common beginning (DeepSeek's prefix cache can
only serve a repeated beginning). The suffix window ends at a line boundary.
"""

from __future__ import annotations

from bisect import bisect_left
import dataclasses
from dataclasses import dataclass
import re
from typing import TYPE_CHECKING, Sequence

from fim_server.core.documents import Document, line_content

if TYPE_CHECKING:
    from fim_server.settings import Settings

ANCHOR_LINES = 32
MAX_DOCUMENT_CHARS = 5_000_000  # larger documents get no completions (a log line says so)
MAX_LINE_CHARS = 50_000  # nor does a cursor line longer than this
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
    start_line: int = 0  # the prefix window's first line (0-based)
    # (path, text) of snippets from other open documents / recent edits, placed first in the prompt
    snippets: tuple[tuple[str, str], ...] = ()
    # in a notebook cell (core/notebook.py): the notebook's URI (privacy rules apply to
    # it), and the code-point offsets where the cursor's cell starts and ends in the
    # notebook read as one file (``offset`` counts in that file too)
    notebook: str = ""
    cell: tuple[int, int] | None = None

    def in_cell(self, notebook: str, start: int, end: int) -> "CursorContext":
        return dataclasses.replace(self, notebook=notebook, cell=(start, end))

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
    lines: list[str],
    line: int,
    col: int,
    budget: int,
    anchor: int = ANCHOR_LINES,
    starts: Sequence[int] | None = None,
    previous: int | None = None,
) -> int:
    """First line of the prefix window: as early as the budget allows, rounded up to
    a multiple of ``anchor`` so it moves only every ``anchor`` lines.

    When lines are so long that the rounding would give up more than a quarter of
    the lines that fit, the step halves (16, 8, ...): multiples of 32 are multiples
    of 16, so the window still moves rarely, and never loses much context.

    ``previous`` (the start the document's last window had, -1 before its first
    window) turns on hysteresis:
    the window keeps that start while the budget still holds it and it gives up
    less than two steps of the lines that fit, so typing on and small cursor moves
    do not shift it. A fresh placement leaves between half a step and one and a half
    steps of room: half a step of typing down, or of moving up, before it moves.
    Without ``previous`` the start depends on the cursor alone.

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
    if previous is not None and start <= previous <= line and previous - start < 2 * step:
        return previous
    snapped = -(-start // step) * step
    if previous is not None and snapped - start < step // 2:
        snapped += step  # still at most half of the lines that fit: step <= (line - start) / 4
    return snapped


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
    previous_start: int | None = None,
) -> CursorContext:
    """Cut the windows around (line, col), both given in code points.

    The cursor line is always included; when the part of it before (after) the
    cursor alone exceeds the budget, it is cut at the budget, never at the cursor.
    ``previous_start``: see ``prefix_start_line``.
    """
    current = lines[line]
    content = line_content(current)
    line_prefix = content[:col]
    line_suffix = content[col:]
    start = prefix_start_line(lines, line, col, max_prefix_chars, anchor, line_starts, previous_start)
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
        start_line=start,
    )


class NoContext(Exception):
    """No completion at this place; the message says why (for a log line or the
    command line)."""


@dataclass(frozen=True)
class Selected:
    """The completion-menu item selected at the cursor, on the cursor's line: the
    columns (code points) it replaces and its text."""

    start: int
    end: int
    text: str


def too_big(doc_chars: int, line_chars: int) -> str | None:
    """Why a document is not completed at all, or None: beyond these sizes it is
    generated or minified text (or a log), and building windows in it costs more
    than a keystroke may."""
    if doc_chars > MAX_DOCUMENT_CHARS:
        return f"it has {doc_chars:,} characters (more than {MAX_DOCUMENT_CHARS:,})"
    if line_chars > MAX_LINE_CHARS:
        return f"the cursor's line has {line_chars:,} characters (more than {MAX_LINE_CHARS:,}: minified or generated)"
    return None


def cursor_context(doc: Document, line: int, col: int, settings: "Settings", selected: Selected | None = None) -> CursorContext:
    """The context at (line, col) in code points, shaped by the settings: the one
    place the server, ``fim-server complete`` and ``fim-server eval`` get it from.

    With ``selected``, the context is the one after the menu item is inserted.
    The prefix window's start is kept on the document (``window_start``): the next
    context keeps it while it fits (``prefix_start_line``'s hysteresis).
    Raises ``NoContext`` for a document too large or holding binary data.
    """
    reason = too_big(doc.size, len(doc.lines[line]))
    if reason is not None:
        raise NoContext(reason)
    ctx = context_of_lines(doc.uri, doc.lines, line, col, doc.offset_of(line, col), settings, doc.language_id,
                           selected, line_starts=doc.line_starts(line), previous_start=doc.window_start)
    doc.window_start = ctx.start_line
    return ctx


def context_of_lines(
    uri: str,
    lines: Sequence[str],
    line: int,
    col: int,
    offset: int,
    settings: "Settings",
    language_id: str,
    selected: Selected | None = None,
    line_starts: list[int] | None = None,
    previous_start: int | None = None,
) -> CursorContext:
    """The context at (line, col) of ``lines`` (a document's, or a notebook's cells
    joined), the cursor at ``offset`` in their text, shaped by the settings. With
    ``selected``, after the menu item is inserted on the cursor's line (``lines`` is
    left as it is). ``previous_start``: see ``prefix_start_line``. Raises
    ``NoContext`` for text holding binary data."""
    if selected is not None:
        current = lines[line]
        content = line_content(current)
        lines = list(lines)
        lines[line] = content[: selected.start] + selected.text + content[selected.end :] + current[len(content) :]
        offset += len(selected.text) - (col - selected.start)
        col = selected.start + len(selected.text)
        line_starts = None  # the cursor's line changed length
    ctx = build_context(
        uri,
        lines,
        line,
        col,
        max_prefix_chars=settings.max_prefix_chars,
        max_suffix_chars=settings.max_suffix_chars,
        language_id=language_id,
        anchor=settings.prompt_anchor_lines,
        offset=offset,
        line_starts=line_starts,
        previous_start=previous_start,
    )
    if "\x00" in ctx.prefix or "\x00" in ctx.suffix:
        raise NoContext("it holds NUL characters (binary data)")
    return ctx
