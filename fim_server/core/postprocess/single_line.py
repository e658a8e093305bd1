"""Single-line vs multi-line: where only one line makes sense, keep one line.

One line when
* code follows the cursor on its line (a multi-line answer would push it down);
* the cursor is inside a line comment or inside a string that is open on its line.
Several lines may follow at the end of a line, after an opening bracket or ``:`` and
on a blank line.
"""

from __future__ import annotations

import re

from fim_server.core.context import CursorContext
from fim_server.core.postprocess._text import QUOTES

_LINE_COMMENTS = ("#", "//", "--", ";")
_COMMENT_LANGS = {
    "#": ("python", "shellscript", "sh", "bash", "ruby", "perl", "r", "yaml", "toml", "makefile", "dockerfile", "elixir", "julia", "nim", "powershell", "coffeescript"),
    "//": ("c", "cpp", "csharp", "java", "javascript", "typescript", "javascriptreact", "typescriptreact", "go", "rust", "kotlin", "swift", "scala", "dart", "php", "zig", "jsonc", "groovy"),
    "--": ("lua", "sql", "haskell", "ada", "elm"),
    ";": ("lisp", "clojure", "scheme", "asm", "ini"),
}


def comment_marker(language_id: str) -> str | None:
    for marker, langs in _COMMENT_LANGS.items():
        if language_id in langs:
            return marker
    return None


def _openers(marker: str | None) -> re.Pattern[str]:
    pattern = _OPENERS.get(marker)
    if pattern is None:
        alternatives = ['"""', "\'\'\'", "[" + re.escape(QUOTES) + "]"] + ([re.escape(marker)] if marker else [])
        pattern = _OPENERS[marker] = re.compile("|".join(alternatives))
    return pattern


_OPENERS: dict[str | None, re.Pattern[str]] = {}


def in_comment_or_string(line_prefix: str, language_id: str) -> bool:
    """Whether the cursor at the end of ``line_prefix`` is in a line comment or an open
    (single-quoted) string. The scan jumps from quote to quote with ``re``/``find``
    (a minified line can be thousands of characters long); a backslash escapes the
    character after it inside a string."""
    marker = comment_marker(language_id) or ("#" if not language_id else None)
    openers = _openers(marker)
    pos = 0
    while True:
        found = openers.search(line_prefix, pos)
        if found is None:
            return False
        token = found.group()
        if token == marker:
            return True
        quote, pos = token, found.end()
        while True:  # find the closing quote, skipping escaped ones
            end = line_prefix.find(quote, pos)
            if end < 0:
                return len(quote) == 1  # open to the end of the line (a triple quote may span lines)
            slashes = end
            while slashes > pos and line_prefix[slashes - 1] == "\\":
                slashes -= 1
            if (end - slashes) % 2 == 0:
                pos = end + len(quote)
                break
            pos = end + 1


def wants_single_line(ctx: CursorContext) -> bool:
    if ctx.line_suffix.strip():
        return True
    return in_comment_or_string(ctx.line_prefix, ctx.language_id)


def apply(text: str, ctx: CursorContext) -> str:
    if not wants_single_line(ctx):
        return text
    cut = len(text)
    for mark in ("\r", "\n"):
        at = text.find(mark)
        if at != -1:
            cut = min(cut, at)
    return text[:cut]
