"""Per-language rules the filters read: comment markers (line, block, doc), string
forms (one-line quotes, strings that may span lines, raw strings, Rust's char literals
versus lifetimes), braces versus indentation, the keywords that continue a statement
on a dedented line or after ``}``, and what starts a top-level definition.

The shipped languages (JavaScript/JSX, TypeScript/TSX, Go, Rust, C, C++, Java, Python)
have rules of their own; any other language gets its line-comment marker and
indentation blocks (the guess that served before the rules were per language).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
import re

BRACES = "braces"  # blocks are ``{ ... }``; indentation is layout only
INDENT = "indent"  # blocks are indentation (Python), or unknown: indentation is the best guess


@dataclass(frozen=True)
class Rules:
    """What the filters need to know of a language's surface."""

    name: str
    line_comments: tuple[str, ...] = ()  # markers of comments that end at the line end
    block_comments: tuple[tuple[str, str], ...] = ()  # (opener, closer)
    doc_comments: tuple[str, ...] = ()  # doc-comment markers (each also a line or block comment above)
    quotes: str = "\"'"  # string quotes that end on their line; editors auto-close these
    long_strings: tuple[tuple[str, str, bool], ...] = ()  # (opener, closer, escapes): may span lines
    raw_string: str = ""  # regex of a raw-string opener; its group ``d`` goes into the closer
    raw_closer: str = ""  # the closer, ``{}`` standing for group ``d``
    raw_starts: tuple[str, ...] = ()  # literal starts of a raw string (found first, then matched)
    char_literal: str = ""  # when set, ``'`` opens a string only where this regex matches (Rust lifetimes)
    auto_closed: str = "\"'`"  # quote characters an editor may have auto-closed right of the cursor
    blocks: str = INDENT
    continuations: tuple[str, ...] = ()  # keywords that continue a statement on a dedented line / after "}"
    compound: tuple[str, ...] = ()  # statements the continuations continue (indentation languages)
    top_definitions: str = ""  # regex of a line starting a top-level definition


_C_LIKE = dict(
    line_comments=("//",), block_comments=(("/*", "*/"),), blocks=BRACES,
    continuations=("else", "catch", "finally", "case", "default", "while"),
)
# a C/C++ function definition's first line: type words, a name, "(" and no ";" after it
_C_FUNCTION = r"(?:[A-Za-z_][\w:<>,]*[ \t*&]+)*[A-Za-z_][\w:~]*[ \t]*\([^;\n]*$"
_JS = dict(
    _C_LIKE, doc_comments=("/**",), long_strings=(("`", "`", True),),
    top_definitions=r"(export\s+)?(default\s+)?(async\s+)?(function|class)\b",
)

_RULES: dict[str, Rules] = {
    "python": Rules(
        "python", line_comments=("#",), auto_closed="\"'",
        long_strings=(('"""', '"""', True), ("'''", "'''", True)),
        blocks=INDENT,
        continuations=("elif", "else", "except", "finally", "case"),
        compound=("if", "elif", "try", "except", "for", "while", "with", "match", "case", "async"),
        top_definitions=r"(async\s+def|def|class)\b",
    ),
    "javascript": Rules("javascript", **_JS),
    "typescript": Rules(
        "typescript", **dict(_JS, top_definitions=r"(export\s+)?(default\s+)?(declare\s+)?(abstract\s+)?(async\s+)?(function|class|interface|type|enum|namespace)\b"),
    ),
    "go": Rules(
        "go", **dict(_C_LIKE, continuations=("else", "case", "default")), long_strings=(("`", "`", False),),
        top_definitions=r"(func|type)\b",
    ),
    "rust": Rules(
        "rust", **dict(_C_LIKE, continuations=("else",)), doc_comments=("///", "//!", "/**", "/*!"),
        quotes="", long_strings=(('"', '"', True),), auto_closed='"',
        raw_string=r'b?r(?P<d>#*)"', raw_closer='"{}', raw_starts=('r"', "r#", 'br"', "br#"),
        char_literal=r"'(?:[^'\\\n]|\\(?:u\{[0-9a-fA-F]{1,6}\}|x[0-9a-fA-F]{2}|.))'",
        top_definitions=r"(pub(\([^)]*\))?\s+)?((async|const|unsafe|extern(\s+\"[^\"]*\")?)\s+)*(fn|impl|struct|enum|trait|mod|union)\b",
    ),
    "c": Rules("c", **_C_LIKE, doc_comments=("/**", "///"), auto_closed="\"'",
               top_definitions=r"(struct|union|enum|typedef)\b|" + _C_FUNCTION),
    "cpp": Rules(
        "cpp", **_C_LIKE, doc_comments=("/**", "///", "//!"), auto_closed="\"'",
        raw_string=r'(?:u8|[uUL])?R"(?P<d>[^()\\\s"]{0,16})\(', raw_closer=')' + '{}"', raw_starts=('R"', 'u8R"', 'uR"', 'UR"', 'LR"'),
        top_definitions=r"(template|namespace|class|struct|union|enum|typedef)\b|" + _C_FUNCTION,
    ),
    "java": Rules(
        "java", **_C_LIKE, doc_comments=("/**",), auto_closed="\"'",
        long_strings=(('"""', '"""', True),),
        top_definitions=r"((public|private|protected|abstract|final|sealed|static)\s+)*(class|interface|enum|record)\b",
    ),
}
_RULES["javascriptreact"] = _RULES["javascript"]
_RULES["typescriptreact"] = _RULES["typescript"]

# Line-comment markers of languages without rules of their own (their blocks: indentation).
_LINE_COMMENT_LANGS: dict[str, tuple[str, ...]] = {
    "#": ("shellscript", "sh", "bash", "ruby", "perl", "r", "yaml", "toml", "makefile", "dockerfile", "elixir", "julia", "nim", "powershell", "coffeescript"),
    "//": ("csharp", "kotlin", "swift", "scala", "dart", "php", "zig", "jsonc", "groovy"),
    "--": ("lua", "sql", "haskell", "ada", "elm"),
    ";": ("lisp", "clojure", "scheme", "asm", "ini"),
}
# The guess for any other language: indentation, the common continuation keywords.
_GENERIC_CONTINUATIONS = ("else", "elif", "except", "finally", "case")
_GENERIC_COMPOUND = ("if", "elif", "try", "except", "for", "while", "with", "match", "case", "switch")


@lru_cache(maxsize=None)
def rules(language_id: str) -> Rules:
    """The rules of ``language_id``; for a language without rules of its own, its line
    comment marker (``#`` when no languageId is known) and indentation blocks."""
    known = _RULES.get(language_id)
    if known is not None:
        return known
    marker = next((m for m, ids in _LINE_COMMENT_LANGS.items() if language_id in ids), "#" if not language_id else None)
    return Rules(
        language_id, line_comments=(marker,) if marker else (),
        long_strings=(('"""', '"""', True), ("'''", "'''", True)),
        continuations=_GENERIC_CONTINUATIONS, compound=_GENERIC_COMPOUND,
        top_definitions=r"(async\s+def|def|class|function|func|fn|pub\s+fn|impl|struct|interface|type)\b",
    )


def comment_marker(language_id: str) -> str | None:
    """The language's line-comment marker, None when it has none (or is unknown)."""
    if not language_id:
        return None
    found = rules(language_id).line_comments
    return found[0] if found else None



@lru_cache(maxsize=None)
def top_level_line(language_id: str) -> re.Pattern[str] | None:
    """A multi-line regex matching the start of a line that starts a top-level definition."""
    r = rules(language_id)
    return re.compile("^(?:" + r.top_definitions + ")", re.M) if r.top_definitions else None


def statement_start(prefix: str, language_id: str, want: int, whole_file: bool) -> int:
    """Where to start reading ``prefix`` so that about ``want`` characters before its
    end are read and the reading starts outside any string or comment: the last start
    of a top-level definition (a line at column 0) at least ``want`` back, else the
    first one after that, else the file's start when ``whole_file``, else ``want``
    characters back (a guess: it may start in a string)."""
    lo = max(0, len(prefix) - want)
    if lo == 0 and whole_file:
        return 0
    top = top_level_line(language_id)
    if top is not None:
        before = None
        for found in top.finditer(prefix, 0, lo + 1):
            before = found.start()
        if before is not None:
            return before
        if whole_file:
            return 0
        found = top.search(prefix, lo)
        if found is not None:
            return found.start()
    elif whole_file:
        return 0
    return lo
