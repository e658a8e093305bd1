"""Languages in one place: which tree-sitter grammar parses a languageId, which
languageId a file extension means.

Grammars come from wheels that bundle them (``tree-sitter-python``,
``tree-sitter-javascript``, ...; installed with the server, see pyproject.toml);
nothing is downloaded at run time. A languageId whose grammar package is missing
gets ``None`` and the features that need a parse pass over it.

The per-language rules of the filters live in this package too: ``rules(id)``
(language/rules.py: comment markers (line, block, doc), string forms (quotes, strings
that may span lines, raw strings), braces versus indentation, the keywords that
continue a statement on a dedented line, top-level definitions) and a small scanner
(language/scan.py) that finds comments and strings with them. The filters read these
and hold no language literals of their own.
"""

from __future__ import annotations

import importlib
import logging
from functools import lru_cache
from pathlib import PurePath
from typing import Any

log = logging.getLogger(__name__)

# languageId -> (module, function returning the language pointer)
GRAMMARS: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "javascriptreact": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "typescriptreact": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
    "java": ("tree_sitter_java", "language"),
    "json": ("tree_sitter_json", "language"),
    "bash": ("tree_sitter_bash", "language"),
    "shellscript": ("tree_sitter_bash", "language"),
}

# The grammars installed with the server (pyproject.toml's dependencies).
SHIPPED: tuple[str, ...] = (
    "python", "javascript", "javascriptreact", "typescript", "typescriptreact", "go", "rust", "c", "cpp", "java",
)

# file extension -> languageId (the ids VS Code uses)
EXTENSIONS: dict[str, str] = {
    ".py": "python", ".pyi": "python",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascriptreact",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript", ".tsx": "typescriptreact",
    ".go": "go", ".rs": "rust",
    ".c": "c", ".h": "c", ".cpp": "cpp", ".cc": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp",
    ".java": "java", ".rb": "ruby", ".lua": "lua", ".sh": "shellscript",
}


# languages whose files use each other's definitions (a header of C in C++, a
# JavaScript module in TypeScript); any other language only its own
_FAMILIES: dict[str, str] = {
    "javascript": "js", "javascriptreact": "js", "typescript": "js", "typescriptreact": "js",
    "c": "c", "cpp": "c", "objective-c": "c", "objective-cpp": "c",
    "shellscript": "sh", "bash": "sh",
}


def family(language_id: str) -> str:
    """The family of a languageId: ``typescript`` and ``javascript`` are one."""
    return _FAMILIES.get(language_id, language_id)


def language_for_path(path: str | PurePath, default: str = "plaintext") -> str:
    """The languageId of a file, from its extension."""
    return EXTENSIONS.get(PurePath(path).suffix.lower(), default)


@lru_cache(maxsize=None)
def grammar(language_id: str) -> Any | None:
    """The ``tree_sitter.Language`` for ``language_id``, or None where tree-sitter or the
    grammar package is not installed (or the languageId has no grammar)."""
    spec = GRAMMARS.get(language_id)
    if spec is None:
        return None
    try:
        import tree_sitter

        module = importlib.import_module(spec[0])
        return tree_sitter.Language(getattr(module, spec[1])())
    except Exception as exc:  # no grammar package, or an ABI the runtime refuses
        log.debug("no grammar for %s: %s", language_id, exc)
        return None


def new_parser(language_id: str) -> Any | None:
    """A fresh ``tree_sitter.Parser`` for ``language_id`` (parsers are not shared
    between threads), or None without a grammar."""
    language = grammar(language_id)
    if language is None:
        return None
    import tree_sitter

    return tree_sitter.Parser(language)


# the rules and the scanner, importable from here
from fim_server.core.language.rules import BRACES, INDENT, Rules, comment_marker, rules, statement_start, top_level_line  # noqa: E402
from fim_server.core.language.scan import (  # noqa: E402
    BLANK, BLOCK_COMMENT, CODE, COMMENT, LONG_STRING, STRING, TEXT, Span, closing_line, line_kinds, mask,
    masked_and_open, open_at_end, open_at_end_of, scan,
)

__all__ = [
    "GRAMMARS", "SHIPPED", "EXTENSIONS", "language_for_path", "grammar", "new_parser",
    "BRACES", "INDENT", "Rules", "comment_marker", "rules", "statement_start", "top_level_line",
    "BLANK", "BLOCK_COMMENT", "CODE", "COMMENT", "LONG_STRING", "STRING", "TEXT", "Span",
    "closing_line", "line_kinds", "mask", "masked_and_open", "open_at_end", "open_at_end_of", "scan",
]
