"""Single-line vs multi-line: where only one line makes sense, keep one line.

One line when
* code follows the cursor on its line (a multi-line answer would push it down);
* the cursor is inside a line comment or inside a string that is open on its line.
Several lines may follow at the end of a line, after an opening bracket or ``:`` and
on a blank line.
"""

from __future__ import annotations

from ..context import CursorContext
from ._text import QUOTES

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


def in_comment_or_string(line_prefix: str, language_id: str) -> bool:
    """Whether the cursor at the end of ``line_prefix`` is in a line comment or an open string."""
    marker = comment_marker(language_id) or ("#" if not language_id else None)
    quote = ""
    i = 0
    while i < len(line_prefix):
        ch = line_prefix[i]
        if quote:
            if ch == "\\":
                i += 1
            elif line_prefix.startswith(quote, i):
                i += len(quote) - 1
                quote = ""
        elif line_prefix.startswith(('"""', "'''"), i):
            quote = line_prefix[i : i + 3]
            i += 2
        elif ch in QUOTES:
            quote = ch
        elif marker and line_prefix.startswith(marker, i):
            return True
        i += 1
    return bool(quote) and len(quote) == 1


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
