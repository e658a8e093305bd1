"""Repeated lines and blocks: a model that loops writes the same line (or the same
few lines) again and again. Cut the completion where a block of lines starts to
repeat the block just before it.

A single line counts only when it has words and is not trivially short (``)``
twice can be right); a block of two or more lines always counts. The first line is
compared as the whole cursor line (what is typed before the cursor plus the
completion's first line), so re-writing the line just completed is caught.
"""

from __future__ import annotations

from fim_server.core.context import CursorContext

MIN_LINE_CHARS = 5  # a single repeated line shorter than this may be meant
MAX_BLOCK = 8


def _meaningful(line: str) -> bool:
    s = line.strip()
    return len(s) >= MIN_LINE_CHARS and any(ch.isalnum() for ch in s)


def apply(text: str, ctx: CursorContext) -> str:
    lines = text.split("\n")
    if len(lines) < 2:
        return text
    full = [(ctx.line_prefix + lines[0]).rstrip()] + [line.rstrip() for line in lines[1:]]
    for i in range(1, len(lines)):
        for size in range(1, min(MAX_BLOCK, i) + 1):
            if i + size > len(lines):
                break
            block = full[i : i + size]
            if block != full[i - size : i] or not any(line.strip() for line in block):
                continue
            if size == 1 and not _meaningful(block[0]):
                continue
            kept = "\n".join(lines[:i])
            return kept if kept.strip() else ""
    return text
