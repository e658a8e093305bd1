"""Cleaning of provider answers: one filter per module, the order written here once.

``BEFORE_CACHE`` filters depend only on the answer, so their result is what the
cache stores; ``AFTER_CACHE`` filters depend on the cursor and run on every use.
A filter returns the cleaned text (an empty string drops the suggestion) or an
``auto_closed.Replace`` that also narrows the context: the suggestion then replaces
that many code points right of the cursor.

``syntax`` needs parsers, so the caller hands in a ``SyntaxChecker`` (None: skipped);
``disabled`` names filters a user turned off (setting ``disabledFilters``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Union

from fim_server.core.context import CursorContext
from fim_server.core.postprocess import (
    auto_closed,
    blank,
    cell_boundary,
    duplicate_closer,
    fim_tokens,
    line_endings,
    min_length,
    repeated_lines,
    retype_above,
    scope_limit,
    single_line,
    suffix_overlap,
    trailing_whitespace,
)
from fim_server.core.postprocess.auto_closed import Replace
from fim_server.core.postprocess.syntax import SyntaxChecker

Filter = Callable[[str, CursorContext], Union[str, Replace]]
SYNTAX = "syntax"  # the place of the syntax check in AFTER_CACHE

BEFORE_CACHE: tuple[tuple[str, Filter], ...] = (("fim_tokens", fim_tokens.apply),)
AFTER_CACHE: tuple[tuple[str, Filter | None], ...] = (
    ("single_line", single_line.apply),  # decided on the line as the user sees it
    ("auto_closed", auto_closed.apply),
    ("suffix_overlap", suffix_overlap.apply),
    ("duplicate_closer", duplicate_closer.apply),
    ("repeated_lines", repeated_lines.apply),
    ("cell_boundary", cell_boundary.apply),  # a notebook cell's end ends the completion
    ("scope_limit", scope_limit.apply),
    ("retype_above", retype_above.apply),
    ("trailing_whitespace", trailing_whitespace.apply),
    ("min_length", min_length.apply),
    ("blank", blank.apply),
    (SYNTAX, None),
    ("line_endings", line_endings.apply),
)
# filters a user may turn off (line endings and blank answers are not a matter of taste)
OPTIONAL = tuple(name for name, _ in BEFORE_CACHE + AFTER_CACHE if name not in ("blank", "line_endings"))


@dataclass(frozen=True)
class Cleaned:
    text: str
    replace_after: int = 0  # code points right of the cursor the suggestion replaces


def before_cache(text: str, ctx: CursorContext, disabled: frozenset[str] = frozenset()) -> str:
    for name, step in BEFORE_CACHE:
        if name not in disabled:
            text = step(text, ctx)  # type: ignore[assignment]
            if not text:
                return ""
    return text


def clean(
    text: str,
    ctx: CursorContext,
    *,
    disabled: frozenset[str] = frozenset(),
    syntax: SyntaxChecker | None = None,
) -> Cleaned:
    replace_after = 0
    for name, step in AFTER_CACHE:
        if name in disabled:
            continue
        if name == SYNTAX:
            if syntax is None:
                continue
            step = syntax.apply
        out = step(text, ctx)
        if isinstance(out, Replace):
            text, ctx, replace_after = out.text, out.ctx, replace_after + out.replace_after
        else:
            text = out
        if not text:
            return Cleaned("")
    return Cleaned(text, replace_after)

