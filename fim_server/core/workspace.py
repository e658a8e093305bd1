"""The open documents and what a prompt may borrow from them: snippets of other
open documents and of recently edited regions (``snippets.py`` chooses them).

One ``Workspace`` serves the language server (documents the editor opened) and the
command line (``fim-server complete`` and ``eval`` with ``--open FILE``), so the
workspace settings (``workspaceContext``, ``contextBudgetChars``) act the same in
all three.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Callable

from fim_server.core.context import CursorContext
from fim_server.core.documents import Document, DocumentStore
from fim_server.core.snippets import RecentEdits, SnippetIndex, Source, around_cursor

if TYPE_CHECKING:
    from fim_server.settings import Settings


class Workspace:
    def __init__(self) -> None:
        self.documents = DocumentStore()
        self.snippet_index = SnippetIndex()
        self.recent_edits = RecentEdits()

    def open(self, uri: str, text: str, version: int | None = None, language_id: str = "") -> Document:
        return self.documents.open(uri, text, version, language_id)

    def close(self, uri: str) -> None:
        self.documents.close(uri)
        self.snippet_index.forget(uri)
        self.recent_edits.forget(uri)

    def settings_changed(self) -> None:
        """The snippet chooser's last choice was made under the old exclusions: gone."""
        self.snippet_index.clear_choice()

    def with_snippets(self, ctx: CursorContext, settings: "Settings", may_send: Callable[[str], bool]) -> CursorContext:
        """The context with workspace snippets added, when its document is open and
        the settings ask for them; ``may_send(uri)`` says which documents may leave
        the machine (exclusions, disabled languages)."""
        if self.documents.get(ctx.uri) is None or not settings.workspace_context or settings.context_budget_chars <= 0:
            return ctx
        return dataclasses.replace(ctx, snippets=self.snippets(ctx, settings, may_send))

    def snippets(self, ctx: CursorContext, settings: "Settings", may_send: Callable[[str], bool]) -> tuple[tuple[str, str], ...]:
        """(path, text) of other open documents and recent edits within the budget
        (never of a document ``may_send`` refuses)."""
        sources = [Source(other.uri, other.version, other.lines, other.language_id) for other in self.documents]
        window = (ctx.line - ctx.prefix.count("\n") - 1, ctx.line + ctx.suffix.count("\n") + 1)
        chosen = self.snippet_index.collect(
            ctx.uri,
            around_cursor(ctx.prefix, ctx.suffix),
            sources,
            budget_chars=settings.context_budget_chars,
            recent=self.recent_edits,
            may_send=may_send,
            skip_lines=window,
        )
        return tuple((s.path, s.text) for s in chosen)

    def snippet_hook(self, engine) -> Callable[[CursorContext], CursorContext]:
        """For ``engine.connect``: a context of ``engine`` with this workspace's
        snippets, under the engine's current settings and privacy rules."""

        def may_send(uri: str) -> bool:
            doc = self.documents.get(uri)
            return engine.may_send(uri, doc.language_id if doc is not None else "")

        return lambda ctx: self.with_snippets(ctx, engine.settings, may_send)
