"""Cleaning of provider answers: one filter per module, the order written here once.

``BEFORE_CACHE`` filters depend only on the answer, so their result is what the
cache stores; ``AFTER_CACHE`` filters depend on the cursor and run on every use.
A filter returns the cleaned text; an empty string drops the suggestion.
"""

from __future__ import annotations

from typing import Callable

from ..context import CursorContext
from . import blank, fim_tokens, line_endings, single_line, suffix_overlap, trailing_whitespace

Filter = Callable[[str, CursorContext], str]

BEFORE_CACHE: tuple[Filter, ...] = (fim_tokens.apply,)
AFTER_CACHE: tuple[Filter, ...] = (
    single_line.apply,
    suffix_overlap.apply,
    trailing_whitespace.apply,
    blank.apply,
    line_endings.apply,
)


def run(filters: tuple[Filter, ...], text: str, ctx: CursorContext) -> str:
    for step in filters:
        text = step(text, ctx)
        if not text:
            return ""
    return text


def before_cache(text: str, ctx: CursorContext) -> str:
    return run(BEFORE_CACHE, text, ctx)


def after_cache(text: str, ctx: CursorContext) -> str:
    return run(AFTER_CACHE, text, ctx)
