"""Small helpers the filters share (pure)."""

from __future__ import annotations

import re

from fim_server.core.language import mask

OPENERS = "([{"
CLOSERS = ")]}"
PAIRS = {")": "(", "]": "[", "}": "{"}
QUOTES = "\"'`"
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
