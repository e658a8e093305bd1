"""Minimum useful length: ghost text of a lone punctuation mark is noise.

Dropped when it has fewer than ``MIN_CHARS`` non-blank characters and no letter or
digit (``x`` after ``return `` stays; a stray ``,`` goes).
"""

from __future__ import annotations

from ..context import CursorContext

MIN_CHARS = 2


def apply(text: str, ctx: CursorContext) -> str:
    visible = "".join(text.split())
    if len(visible) < MIN_CHARS and not any(ch.isalnum() for ch in visible):
        return ""
    return text
