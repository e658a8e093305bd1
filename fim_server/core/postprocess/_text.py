"""Small helpers the filters share (pure)."""

from __future__ import annotations

import re

from fim_server.core.language import LONG_STRING, STRING, mask, masked_and_open

OPENERS = "([{"
CLOSERS = ")]}"
PAIRS = {")": "(", "]": "[", "}": "{"}
_BRACKETS = re.compile(r"[()\[\]{}]")


def indent_of(line: str) -> int:
    """Width of the leading whitespace (a tab counts as one column; files mix rarely)."""
    return len(line) - len(line.lstrip(" \t"))


def open_brackets(text: str, language_id: str = "") -> int:
    """Brackets opened in ``text`` and not closed there (the language's strings and
    comments skipped: ``core.language.mask``)."""
    return bracket_depth(mask(text, language_id))


def bracket_depth(code: str, depth: int = 0) -> int:
    """Brackets opened in ``code`` (strings and comments already blanked) and not
    closed, counting on from ``depth`` open before it."""
    for ch in _BRACKETS.findall(code):
        if ch in OPENERS:
            depth += 1
        elif ch in CLOSERS:
            depth = max(0, depth - 1)
    return depth


def balance(text: str, language_id: str = "") -> int:
    """How far from balanced the brackets and quotes of ``text`` are (0 = balanced):
    open brackets plus stray closers, the language's strings and comments skipped,
    plus one for a string left open (a quote written twice opens one)."""
    code, still_open = masked_and_open(text, language_id)
    stray = 1 if still_open is not None and still_open.kind in (STRING, LONG_STRING) else 0
    return _raw_balance(code) + stray


def balances_better(trimmed: str, line: str, language_id: str = "") -> bool:
    """Whether ``trimmed`` is closer to balanced than ``line``: by the language's code
    (strings and comments skipped), or where that is no different (the cursor is in a
    comment or a docstring) by every bracket and quote."""
    ours, theirs = balance(trimmed, language_id), balance(line, language_id)
    if ours != theirs:
        return ours < theirs
    return _raw_balance(trimmed) < _raw_balance(line)


def _raw_balance(text: str) -> int:
    """Brackets of ``text`` left open plus closers with no opener (every bracket counts)."""
    stack: list[str] = []
    stray = 0
    for ch in _BRACKETS.findall(text):
        if ch in OPENERS:
            stack.append(ch)
        elif stack and stack[-1] == PAIRS[ch]:
            stack.pop()
        else:
            stray += 1
    return len(stack) + stray
