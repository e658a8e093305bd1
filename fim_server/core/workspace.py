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
from fim_server.core.privacy import uri_path
from fim_server.core.repo.index import Indexer, RepoIndex
from fim_server.core.repo.selection import STAGES, Chooser, Cursor, cost
from fim_server.core.snippets import RecentEdits, SnippetIndex, Source, around_cursor

if TYPE_CHECKING:
    from fim_server.settings import Settings


class Workspace:
    def __init__(self) -> None:
        self.documents = DocumentStore()
        self.snippet_index = SnippetIndex()
        self.recent_edits = RecentEdits()
        # the repository index (``repoContext``): None until workspace folders are indexed
        self.repo: RepoIndex | None = None
        self.indexer: Indexer | None = None
        self.chooser: Chooser | None = None
        self.repo_stages: tuple[str, ...] = STAGES  # ``eval --recall`` turns stages off

    # -- the repository index ---------------------------------------------------------------
    def start_index(self, roots: list[str], may_read: Callable[[str, str], bool], max_files: int,
                    background: bool = True) -> Indexer:
        """Index the files under ``roots`` (folder paths): on a worker thread, or
        here and now with ``background=False``. ``may_read(path, languageId)`` is
        asked before any file is opened."""
        self.stop_index()
        self.repo = RepoIndex(roots)
        self.chooser = Chooser(self.repo)
        self.indexer = Indexer(self.repo, may_read, max_files)
        for doc in self.documents:  # open documents: their live text wins over the disk
            self.document_changed(doc.uri, doc.language_id, doc.source)
        if background:
            self.indexer.start()
        else:
            self.indexer.run_now()
        return self.indexer

    def stop_index(self) -> None:
        if self.indexer is not None:
            self.indexer.stop()
        self.repo = self.indexer = self.chooser = None

    def document_changed(self, uri: str, language_id: str, text: str) -> None:
        """An open document's live text (opened, saved) for the index."""
        if self.indexer is not None and uri.startswith("file:"):
            self.indexer.edited(uri_path(uri), language_id, text)

    def document_closed(self, uri: str) -> None:
        """Closed without saving, its disk text counts again."""
        if self.indexer is not None and uri.startswith("file:"):
            self.indexer.closed(uri_path(uri))

    def open(self, uri: str, text: str, version: int | None = None, language_id: str = "") -> Document:
        return self.documents.open(uri, text, version, language_id)

    def close(self, uri: str) -> None:
        self.documents.close(uri)
        self.snippet_index.forget(uri)
        self.recent_edits.forget(uri)

    def settings_changed(self) -> None:
        """The snippet chooser's last choice was made under the old exclusions: gone."""
        self.snippet_index.clear_choice()
        if self.chooser is not None:
            self.chooser.clear_choice()

    def with_snippets(self, ctx: CursorContext, settings: "Settings", may_send: Callable[[str], bool],
                      may_send_file: Callable[[str, str], bool] | None = None) -> CursorContext:
        """The context with workspace snippets added, when its document is open and
        the settings ask for them; ``may_send(uri)`` says which documents may leave
        the machine (exclusions, disabled languages)."""
        if self.documents.get(ctx.uri) is None or not settings.workspace_context or settings.context_budget_chars <= 0:
            return ctx
        return dataclasses.replace(ctx, snippets=self.snippets(ctx, settings, may_send, may_send_file))

    def snippets(self, ctx: CursorContext, settings: "Settings", may_send: Callable[[str], bool],
                 may_send_file: Callable[[str, str], bool] | None = None) -> tuple[tuple[str, str], ...]:
        """(path, text) of snippets within the budget (never of a document
        ``may_send`` refuses): definitions from the repository index (up to two
        thirds of the budget), then other open documents and recent edits, then
        lexically similar windows of the index."""
        budget = settings.context_budget_chars
        around = around_cursor(ctx.prefix, ctx.suffix)
        chooser = self.chooser if settings.repo_context else None
        definitions: tuple = ()
        cur = None
        if chooser is not None:
            doc = self.documents.get(ctx.uri)
            path = uri_path(ctx.uri) if ctx.uri.startswith("file:") else ""
            cur = Cursor(path, ctx.language_id, doc.source if doc is not None else "", ctx.line, around)
            may_file = may_send_file or (lambda uri, language: may_send(uri))
            definitions = chooser.choose(cur, budget, may_file, [s for s in self.repo_stages if s != "lexical"],
                                         defs_budget=budget * 2 // 3)
            budget -= cost(definitions)
        sources = [Source(other.uri, other.version, other.lines, other.language_id) for other in self.documents]
        window = (ctx.line - ctx.prefix.count("\n") - 1, ctx.line + ctx.suffix.count("\n") + 1)
        chosen = self.snippet_index.collect(
            ctx.uri,
            around,
            sources,
            budget_chars=budget,
            recent=self.recent_edits,
            may_send=may_send,
            skip_lines=window,
        )
        out = tuple((p.path, p.text) for p in definitions) + tuple((s.path, s.text) for s in chosen)
        if chooser is not None and "lexical" in self.repo_stages:
            budget -= sum(len(s.text) + len(s.path) + 16 for s in chosen)
            opened = frozenset(uri_path(d.uri) for d in self.documents if d.uri.startswith("file:"))
            lexical = chooser.choose(cur, budget, may_file, ["lexical"], skip_files=opened)
            out += tuple((p.path, p.text) for p in lexical)
        return out

    def snippet_hook(self, engine) -> Callable[[CursorContext], CursorContext]:
        """For ``engine.connect``: a context of ``engine`` with this workspace's
        snippets, under the engine's current settings and privacy rules."""

        def may_send(uri: str) -> bool:
            doc = self.documents.get(uri)
            return engine.may_send(uri, doc.language_id if doc is not None else "")

        return lambda ctx: self.with_snippets(ctx, engine.settings, may_send, engine.may_send)
