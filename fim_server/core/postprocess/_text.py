"""Small helpers the filters share (pure)."""

from __future__ import annotations

OPENERS = "([{"
CLOSERS = ")]}"
PAIRS = {")": "(", "]": "[", "}": "{"}
QUOTES = "\"'`"


def indent_of(line: str) -> int:
    """Width of the leading whitespace (a tab counts as one column; files mix rarely)."""
    return len(line) - len(line.lstrip(" \t"))


def open_brackets(text: str) -> int:
    """Brackets opened in ``text`` and not closed there (strings and ``#`` comments skipped roughly)."""
    depth = 0
    quote = ""
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote or ch == "\n":
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            nl = text.find("\n", i)
            if nl == -1:
                break
            i = nl
        elif ch in OPENERS:
            depth += 1
        elif ch in CLOSERS:
            depth = max(0, depth - 1)
        i += 1
    return depth
