"""Stop when the completion leaves the block it started in, by the language's block
structure (``core.language.rules``: braces or indentation).

Indentation (Python, and languages without rules of their own): the block's
indentation is that of the cursor line with the completion's first line typed in
(or, on a blank cursor line, of the completion's first non-blank line). A later line
indented less leaves the block: the completion is cut before it, and the blank lines
before the cut go too. Blank lines never end a block. A line that starts with a
closing bracket may go out to close a bracket still open (``)`` of a call spread over
lines); the language's continuation keywords (``elif``/``else``/``except``/``finally``)
continue a compound statement before the cursor, so they may dedent to it.

Braces (JS/TS, Go, Rust, C, C++, Java): inside the braces the cursor is in,
indentation is layout only (``case`` labels, preprocessor lines, anything). The
completion leaves the block when it closes that brace; after that, a line may close
more brackets, continue the statement (``} else {``, ``catch``, ``finally``, ``while``
of a do-while), or go on at the cursor's indentation or deeper (the code after a
``switch`` the cursor was in); a line indented less is running on and is cut. So are
the lines of bare closers just before the cut that close more than is open, the
document after the cursor closing those blocks already (the model wrote them again).

Either way, comment lines belong to the code line they introduce: a comment (a line
comment, a block comment, a doc comment, or several) is kept or cut with the next code
line (``# comment`` before a dedented ``elif``, ``// comment`` before ``} else {``);
comments that end the completion are judged by their own place. Lines inside a string
that spans lines (a docstring's text, a template) are text, not blocks.

At the top level (the completion starts at column 0), where indentation cannot tell
blocks apart, a second top-level definition after a blank line is cut (two functions
for one hole is running on); with braces, so is any line at column 0 after a blank
line that follows a top-level block the completion closed.
"""

from __future__ import annotations

import re
from functools import lru_cache

from fim_server.core.context import CursorContext
from fim_server.core.language import (
    BLANK, BRACES, CODE, COMMENT, LONG_STRING, closing_line, line_kinds, mask, open_at_end_of, rules, statement_start,
)
from fim_server.core.postprocess._text import CLOSERS, bracket_depth, indent_of
from fim_server.core.postprocess.suffix_overlap import trim_repeated_lines

TAIL_CHARS = 4000  # how much of the prefix is read for open brackets and statements
_BARE_CLOSERS = re.compile(r"[)\]}]+[;,)\]]*$")
_BRACES = re.compile(r"[{}]")


@lru_cache(maxsize=None)
def _patterns(language_id: str) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None, re.Pattern[str] | None]:
    r = rules(language_id)
    words = lambda names: re.compile(r"(" + "|".join(names) + r")\b") if names else None  # noqa: E731
    compound = re.compile(r"([ \t]*)(" + "|".join(r.compound) + r")\b") if r.compound else None
    top = re.compile(r.top_definitions) if r.top_definitions else None
    return words(r.continuations), compound, top


def _compound_widths(prefix: str, compound: re.Pattern[str] | None, last: int = 30) -> set[int]:
    """Indentations of compound statements among the prefix's last lines."""
    if compound is None:
        return set()
    lines = prefix.split("\n")[-last:]
    return {len(m.group(1)) for m in map(compound.match, lines) if m}


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
    language_id = ctx.language_id
    whole = ctx.prefix.count("\n") == ctx.line  # the prefix starts the file
    tail = ctx.prefix[statement_start(ctx.prefix, language_id, TAIL_CHARS, whole) :]
    at_cursor = open_at_end_of(tail, language_id)
    kinds = line_kinds(text, language_id, at_cursor)
    code = mask(text, language_id, at_cursor).split("\n")
    block = _Block(lines, kinds, code, tail, ctx.suffix, base, language_id)
    if rules(language_id).blocks == BRACES:
        kept = block.by_braces()
        # cut after the block's end: the closers it wrote that the document has already go too
        return trim_repeated_lines(kept, ctx) if kept != text else text
    in_string = at_cursor is not None and at_cursor.kind == LONG_STRING
    if in_string:
        return block.by_indentation(start, closing_line(text, language_id, at_cursor), at_cursor.closer)
    return block.by_indentation(start, -1, "")


class _Block:
    """One completion judged line by line against the block the cursor is in."""

    def __init__(self, lines, kinds, code, tail, suffix, base, language_id) -> None:
        self.lines, self.kinds, self.code, self.suffix = lines, kinds, code, suffix
        self.tail, self.base, self.language_id = tail, base, language_id
        self.continuation, self.compound, self.top = _patterns(language_id)
        self._tail_depth: int | None = None

    def brackets_open_before(self, i: int) -> int:
        """Brackets open before line ``i`` (prefix read from a statement start, and the
        completion's earlier lines), strings and comments skipped."""
        if self._tail_depth is None:
            self._tail_depth = bracket_depth(mask(self.tail, self.language_id))
        return bracket_depth("\n".join(self.code[:i]), self._tail_depth)

    def cut(self, at: int) -> str:
        kept = self.lines[:at]
        while kept and not kept[-1].strip():
            kept.pop()
        return "\n".join(kept)

    def by_indentation(self, start: int, string_ends: int, closer: str) -> str:
        """``string_ends``: the line where a string open at the cursor (a docstring)
        ends, ``closer`` its closing quotes; its text is judged by indentation as code,
        and the closing quotes may dedent to where the string began."""
        lines, kinds, base = self.lines, self.kinds, self.base
        widths = _compound_widths(self.tail, self.compound)
        seen_blank = False
        run: int | None = None  # first comment line right before the next code line
        comments: int | None = None  # first comment line out of the block since the last code line
        for i in range(start, len(lines)):
            kind = kinds[i]
            if kind == BLANK:
                seen_blank = True
                run = None  # comments before a blank line are not the next line's
                continue
            line = lines[i]
            width = indent_of(line)
            if kind == COMMENT:  # kept or cut with the code line it introduces
                run = i if run is None else run
                if width < base and comments is None:
                    comments = i
                continue
            if kind != CODE and i > string_ends:  # text of a string the completion opened
                continue
            stripped = line.strip()
            cut_at = i if comments is None else comments
            if width < base:
                if kind != CODE and closer and stripped.startswith(closer):
                    base = width  # closes a docstring open before the cursor: its text was not a block
                elif stripped[0] in CLOSERS and self.brackets_open_before(i) > 0:
                    pass  # closes a bracket still open (the ``)`` of a call over several lines)
                elif self.continuation is not None and self.continuation.match(stripped) and width in widths:
                    base = width  # ``else:`` of an ``if`` before the cursor: that block goes on
                else:
                    return self.cut(cut_at)
            elif base == 0 and width == 0 and seen_blank and self.top is not None and self.top.match(stripped):
                return self.cut(i if run is None else run)
            seen_blank = False
            run = comments = None
        if comments is not None:  # the completion ends with a comment out of its block
            return self.cut(comments)
        return "\n".join(lines)

    def by_braces(self) -> str:
        lines, kinds, code, base = self.lines, self.kinds, self.code, self.base
        depth = code[0].count("{") - code[0].count("}")  # relative to the cursor's block
        seen_blank = closed_top = False
        run: int | None = None  # first comment line right before the next code line
        comments: int | None = None  # first comment line since the last code line
        for i in range(1, len(lines)):
            kind = kinds[i]
            if kind == BLANK:
                seen_blank = True
                run = None
                continue
            if kind == COMMENT:
                comments = i if comments is None else comments
                run = i if run is None else run
                continue
            line = lines[i]
            stripped = code[i].strip() or line.strip()
            width = indent_of(line)
            cut_at = i if comments is None else comments
            if kind == CODE:
                top_level = base == 0 and width == 0 and seen_blank and depth <= 0 and stripped[0] not in CLOSERS and (
                    closed_top or (self.top is not None and self.top.match(stripped))
                )
                if depth < 0:  # the cursor's block is closed: closers, continuations, or the outer block's code
                    if stripped[0] in CLOSERS:
                        if self.brackets_open_before(i) == 0:
                            return self.cut(self.without_closers(cut_at))
                    elif (self.continuation is None or not self.continuation.match(stripped)) and width < base:
                        return self.cut(self.without_closers(cut_at))
                    elif top_level:
                        return self.cut(self.without_closers(i if run is None else run))
                elif top_level:
                    return self.cut(self.without_closers(i if run is None else run))
                seen_blank = False
                run = comments = None
            depth += code[i].count("{") - code[i].count("}")
            if base == 0 and depth == 0 and width == 0 and stripped.startswith("}"):
                closed_top = True
        if comments is not None and depth < 0:  # comments after the block closed: running on
            return self.cut(self.without_closers(comments))
        return "\n".join(lines)

    def without_closers(self, cut_at: int) -> int:
        """Where to cut a completion that ran on past the cursor's block: also before
        the lines of bare closers that end what is kept while they close more than is
        open (the document after the cursor closes those blocks already: the model
        wrote their ends again). Braces counted in the prefix read from a statement
        start, the kept lines and the suffix window (what it closes of the blocks before it)."""
        at = cut_at
        while at > 1 and not self.lines[at - 1].strip():
            at -= 1
        if at <= 1 or not _BARE_CLOSERS.match(self.code[at - 1].strip()):
            return cut_at
        depth = 0
        for ch in _BRACES.findall(mask(self.tail, self.language_id)):
            depth = depth + 1 if ch == "{" else max(0, depth - 1)
        for line in self.code[:at]:
            depth += line.count("{") - line.count("}")
        closed = low = 0
        for ch in _BRACES.findall(mask(self.suffix, self.language_id)):
            closed += 1 if ch == "}" else -1
            low = max(low, closed)
        while at > 1 and depth - low < 0 and _BARE_CLOSERS.match(self.code[at - 1].strip()):
            depth += self.code[at - 1].count("}") - self.code[at - 1].count("{")
            at -= 1
            while at > 1 and not self.lines[at - 1].strip():
                at -= 1
        return at