"""Syntax check with tree-sitter: the document with the completion applied must not
gain parse errors.

The text checked is the prefix window + completion + suffix window (so the cost does
not grow with the file). A completion that adds errors is trimmed back to its last
line that keeps the error count of the windows without it; if no line does, it is
dropped. Languages without an installed grammar package pass unchecked, as does
everything when ``tree_sitter`` is not installed.

Grammars come from packages that bundle them (``tree-sitter-python``, ...); nothing
is downloaded at run time.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from ..context import CursorContext

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
MAX_TRIES = 8  # parses per completion at most (each ~0.1-1 ms on the windows)


class SyntaxChecker:
    """Parsers per language, built on first use; one per engine."""

    def __init__(self) -> None:
        self._parsers: dict[str, Any] = {}
        self._queries: dict[str, Any] = {}
        self._baseline: tuple[str, str, int] | None = None

    def parser_for(self, language_id: str):
        if language_id in self._parsers:
            return self._parsers[language_id]
        parser = None
        spec = GRAMMARS.get(language_id)
        if spec is not None:
            try:
                import tree_sitter

                module = importlib.import_module(spec[0])
                language = tree_sitter.Language(getattr(module, spec[1])())
                parser = tree_sitter.Parser(language)
                self._queries[language_id] = tree_sitter.Query(language, "(ERROR) @e (MISSING) @m")
            except Exception as exc:  # no grammar package: the check is skipped
                log.debug("no syntax check for %s: %s", language_id, exc)
                parser = None
        self._parsers[language_id] = parser
        return parser

    def supports(self, language_id: str) -> bool:
        return self.parser_for(language_id) is not None

    def errors(self, language_id: str, text: str) -> int:
        """Number of ERROR and MISSING nodes in the parse of ``text``."""
        import tree_sitter

        tree = self.parser_for(language_id).parse(text.encode("utf-8", "surrogatepass"))
        if not tree.root_node.has_error:
            return 0
        cursor = tree_sitter.QueryCursor(self._queries[language_id])
        return sum(len(nodes) for nodes in cursor.captures(tree.root_node).values())

    def _baseline_errors(self, ctx: CursorContext) -> int:
        cached = self._baseline
        if cached is not None and cached[0] == ctx.prefix and cached[1] == ctx.suffix:
            return cached[2]
        count = self.errors(ctx.language_id, ctx.prefix + ctx.suffix)
        self._baseline = (ctx.prefix, ctx.suffix, count)
        return count

    def apply(self, text: str, ctx: CursorContext) -> str:
        if not text or not self.supports(ctx.language_id):
            return text
        base = self._baseline_errors(ctx)
        if self.errors(ctx.language_id, ctx.prefix + text + ctx.suffix) <= base:
            return text
        lines = text.split("\n")
        tries = 1
        for keep in range(len(lines) - 1, 0, -1):
            if tries >= MAX_TRIES:
                break
            candidate = "\n".join(lines[:keep])
            if not candidate.strip():
                continue
            tries += 1
            if self.errors(ctx.language_id, ctx.prefix + candidate + ctx.suffix) <= base:
                return candidate
        return ""
