"""Syntax check with tree-sitter: the document with the completion applied must not
gain parse errors.

The text checked is the prefix window + completion + suffix window (so the cost does
not grow with the file). A completion that adds errors is trimmed back to its last
line that parses without errors; if no line does, it is dropped. Where the code
around the cursor does not parse without the completion either (the user is in the
middle of an edit), there is no verdict and the completion passes. Languages without an installed grammar package pass unchecked, as does
everything when ``tree_sitter`` is not installed.

Grammars come from packages that bundle them (``tree-sitter-python``, ...); nothing
is downloaded at run time.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fim_server.core.context import CursorContext
from fim_server.core.language import BRACES, COMMENT, grammar, mask, masked_and_open, new_parser, open_at_end, rules, top_level_line
from fim_server.core.notebook import mask_magics
from fim_server.core.text import common_prefix_len

log = logging.getLogger(__name__)

MAX_TRIES = 4  # parses per completion at most
# The check parses only the code nearest the cursor, cut where a top-level statement
# starts (a line at column 0 that begins with a word or ``@``), so its cost is
# bounded whatever the file and a cut does not fall inside a string or a literal.
CHECK_BEFORE_CHARS = 1000
CHECK_AFTER_CHARS = 400
MAX_BEFORE_CHARS = 3000
MAX_AFTER_CHARS = 1200
_TOP = re.compile(r"^(?=[A-Za-z_@#])", re.M)
_BRACKETS = re.compile(r"[()\[\]{}]")
_CLOSING = {"(": ")", "[": "]", "{": "}"}


def _near(ctx: CursorContext) -> tuple[str, str, bool] | None:
    """The code checked: from a top-level line start 1,000 to 3,000 characters before
    the cursor to one 400 to 1,200 after it (else a line end at 400: the third value is
    then True, the window may end inside a block). None where no top-level line starts
    before the cursor (inside a long literal or docstring: the cut code would not parse
    anyway, and broken code is the slowest to parse). In a brace language a top-level
    line is one that starts a definition (``func``, ``fn``, ``function``, a C function...),
    so a cut does not land on a line at column 0 inside a block, a raw string, a
    template or a block comment (a label, ``#ifdef``, text)."""
    top_line = _top_for(ctx.language_id)
    before, after = ctx.prefix, ctx.suffix
    if ctx.cell is not None:  # a notebook cell: its own code only (a cell boundary ends every statement)
        in_cell = ctx.offset - ctx.cell[0]
        whole = in_cell <= len(before)
        before = before[len(before) - in_cell :] if whole else before
        after = after[: max(0, ctx.cell[1] - ctx.offset)]
    else:
        whole = ctx.prefix.count("\n") == ctx.line  # the prefix starts the file
    if len(before) > CHECK_BEFORE_CHARS or not whole:
        lo = max(0, len(before) - MAX_BEFORE_CHARS)
        tops = [m.start() for m in top_line.finditer(before, lo, max(lo, len(before) - CHECK_BEFORE_CHARS))]
        if not tops:
            tops = [m.start() for m in top_line.finditer(before, max(lo, len(before) - CHECK_BEFORE_CHARS), len(before) - len(ctx.line_prefix))]
            tops = tops[:1]
        if tops:
            before = before[tops[-1] :]
        elif not whole or len(before) > MAX_BEFORE_CHARS:
            return None
    inside = False
    if len(after) > CHECK_AFTER_CHARS:
        top = top_line.search(after, CHECK_AFTER_CHARS, MAX_AFTER_CHARS)
        if top is not None:
            after = after[: top.start()]
        else:
            cut = after.rfind("\n", 0, CHECK_AFTER_CHARS)
            after = after[: cut + 1] if cut > 0 else after[:CHECK_AFTER_CHARS]
            inside = True
    return before, after, inside


def _brackets_after(stack: list[str], code: str) -> list[str]:
    """``stack`` (closers owed, innermost last) after the brackets of ``code``."""
    for ch in _BRACKETS.findall(code):
        if ch in _CLOSING:
            stack.append(_CLOSING[ch])
        elif stack and stack[-1] == ch:
            stack.pop()
    return stack


def _padding(stack: list[str]) -> str:
    return "\n" + "".join(reversed(stack)) if stack else ""


def _top_for(language_id: str) -> re.Pattern[str]:
    """Where a top-level statement starts: for a brace language the start of a
    definition (``core.language.rules``), else any line at column 0 starting a word."""
    if rules(language_id).blocks == BRACES:
        found = top_level_line(language_id)
        if found is not None:
            return found
    return _TOP


def _point(text: bytes) -> tuple[int, int]:
    """(row, byte column) of the end of ``text``."""
    row = text.count(b"\n")
    return row, len(text) - (text.rfind(b"\n") + 1)


def _edited(tree, old: bytes, new: bytes):
    """``tree`` (the parse of ``old``) told where ``new`` differs from it: one edit
    from the first differing byte to the start of the common ending."""
    n = min(len(old), len(new))
    start = common_prefix_len(old, new, n)
    end = 0
    limit = n - start
    if limit > 0:
        end = common_prefix_len(old[::-1], new[::-1], limit)
    tree.edit(
        start_byte=start,
        old_end_byte=len(old) - end,
        new_end_byte=len(new) - end,
        start_point=_point(old[:start]),
        old_end_point=_point(old[: len(old) - end]),
        new_end_point=_point(new[: len(new) - end]),
    )
    return tree


class SyntaxChecker:
    """Parsers per language, built on first use; one per engine."""

    def __init__(self) -> None:
        self._parsers: dict[str, Any] = {}
        self._queries: dict[str, Any] = {}
        self._baseline: tuple[str, str, int] | None = None
        self._padding: tuple | None = None  # (before, after, brackets open at the cursor, what is open there, after masked per state)

    def parser_for(self, language_id: str):
        if language_id in self._parsers:
            return self._parsers[language_id]
        parser = new_parser(language_id)
        if parser is not None:
            import tree_sitter

            self._queries[language_id] = tree_sitter.Query(grammar(language_id), "(ERROR) @e (MISSING) @m")
        self._parsers[language_id] = parser
        return parser

    def supports(self, language_id: str) -> bool:
        return self.parser_for(language_id) is not None

    def _count(self, language_id: str, tree) -> int:
        import tree_sitter

        if not tree.root_node.has_error:
            return 0
        cursor = tree_sitter.QueryCursor(self._queries[language_id])
        return sum(len(nodes) for nodes in cursor.captures(tree.root_node).values())

    @staticmethod
    def _broken(tree) -> int:
        """1 when the tree holds an ERROR or MISSING node, else 0: all ``apply`` needs
        (it compares with a clean baseline), without counting the nodes."""
        return 1 if tree.root_node.has_error else 0

    def errors(self, language_id: str, text: str) -> int:
        """Number of ERROR and MISSING nodes in the parse of ``text``."""
        return self._count(language_id, self.parser_for(language_id).parse(text.encode("utf-8", "surrogatepass")))

    def _baseline_errors(self, language_id: str, before: str, after: str) -> int:
        cached = self._baseline
        if cached is not None and cached[0] == before and cached[1] == after:
            return cached[2]
        head, tail = before.encode("utf-8", "surrogatepass"), after.encode("utf-8", "surrogatepass")
        text = head + tail
        old = getattr(self, "_tree", None)
        if old is not None and old[3] == language_id:
            # typing changes the checked code a little at a time: an incremental
            # reparse of the last baseline, edited where the two texts differ
            tree = self.parser_for(language_id).parse(text, _edited(old[2], old[0] + old[1], text))
        else:
            tree = self.parser_for(language_id).parse(text)
        count = self._broken(tree)
        self._baseline = (before, after, count)
        self._tree = (head, tail, tree, language_id)
        return count

    def _errors_padded(self, language_id: str, before: str, middle: str, after: str) -> int:
        """1 when ``before + middle + after`` does not parse with the closers of the
        brackets still open at its end added (a window that ends inside a block), else 0;
        0 too when the window ends inside a string (a raw string, a template): no verdict.
        Where those closers are the same as without ``middle`` (most completions), an
        incremental reparse of the padded baseline; else a fresh parse."""
        cached = self._padding
        if cached is None or cached[0] is not before or cached[1] is not after:
            code, at_cursor = masked_and_open(before, language_id)
            head = _brackets_after([], code)
            afters: dict = {}
            cached = self._padding = (before, after, head, at_cursor, afters)
        head, at_cursor, afters = cached[2], cached[3], cached[4]

        def closers_owed(middle: str) -> str | None:  # the brackets open at the end, strings read through
            code, state = masked_and_open(middle, language_id, at_cursor) if middle else ("", at_cursor)
            key = None if state is None else (state.kind, state.closer)
            if key not in afters:
                afters[key] = masked_and_open(after, language_id, state)
            after_code, still_open = afters[key]
            if still_open is not None and still_open.kind != COMMENT:
                return None  # the window ends in a string: no verdict
            return _padding(_brackets_after(_brackets_after(list(head), code), after_code))

        base_pad = closers_owed("")
        pad = closers_owed(middle)
        if pad is None or base_pad is None:
            return 0
        if pad == base_pad:
            if self._baseline_errors(language_id, before, after + base_pad):
                return 1
            return self._errors_with(language_id, middle)
        text = before + middle + after + pad
        return self._broken(self.parser_for(language_id).parse(text.encode("utf-8", "surrogatepass")))

    def _errors_with(self, language_id: str, middle: str) -> int:
        """Errors with ``middle`` inserted at the cursor: an incremental reparse of
        the baseline tree (only the edited part is parsed again)."""
        head, tail, tree, _ = self._tree
        body = middle.encode("utf-8", "surrogatepass")
        edited = tree.copy()
        start = _point(head)
        edited.edit(
            start_byte=len(head),
            old_end_byte=len(head),
            new_end_byte=len(head) + len(body),
            start_point=start,
            old_end_point=start,
            new_end_point=_point(head + body),
        )
        return self._broken(self.parser_for(language_id).parse(head + body + tail, edited))

    def apply(self, text: str, ctx: CursorContext) -> str:
        if not text or not self.supports(ctx.language_id):
            return text
        near = _near(ctx)
        if near is None:
            return text
        before, after, inside = near
        # IPython lines parse as statements of the same length: in a notebook cell, and in
        # a notebook opened as a script (Neovim's jupytext.nvim keeps the .ipynb name)
        masked = ctx.cell is not None or ctx.uri.endswith(".ipynb")
        if masked:
            whole = mask_magics(before + after)
            before, after = whole[: len(before)], whole[len(before) :]
        language_id = ctx.language_id
        if inside:  # the window may end in a block: each text judged with the closers it lacks at its end
            judge = lambda middle: self._errors_padded(language_id, before, middle, after)  # noqa: E731
        else:  # an incremental reparse of the baseline
            judge = lambda middle: self._errors_with(language_id, middle)  # noqa: E731
            if self._baseline_errors(language_id, before, after):
                return text
        if inside and judge(""):
            return text  # the code around is broken already: no verdict on the completion
        check = (lambda middle: _masked_middle(before, middle, after)) if masked else (lambda middle: middle)

        def parses(middle: str) -> bool:  # as it is, or with the blocks its last line opens closed
            closers = _closers(middle, ctx)
            return not judge(check(middle)) or (bool(closers) and not judge(check(middle) + closers))

        if parses(text):
            return text
        lines = text.split("\n")
        tries = 1
        for keep in range(len(lines) - 1, 0, -1):
            if tries >= MAX_TRIES:
                break
            candidate = "\n".join(lines[:keep])
            if not candidate.strip():
                continue
            tries += 1
            if parses(candidate):
                return candidate
        return ""


def _closers(text: str, ctx: CursorContext) -> str:
    """For a completion whose last line opens a block (ends with ``{``), the ``}`` of
    the blocks it leaves open, on a line of their own: the user types the body next,
    so ``if x {`` is judged as ``if x {\n}`` (a bracket or parenthesis left open is
    judged as it is; so is a completion that starts inside a string or a comment)."""
    if open_at_end(ctx.line_prefix, ctx.language_id) is not None:
        return ""
    code = mask(text, ctx.language_id).rstrip()
    if not code.endswith("{"):
        return ""
    depth = 0
    for ch in code:
        if ch == "{":
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
    return "\n" + "}" * depth if depth else ""


def _masked_middle(before: str, middle: str, after: str) -> str:
    """``middle`` with its IPython lines masked as they would be in place (``before``
    and ``after`` are masked already, which masking the whole again leaves alone)."""
    whole = mask_magics(before + middle + after)
    return whole[len(before) : len(before) + len(middle)]
