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

from fim_server.core.context import CursorContext, Selected, cursor_context
from fim_server.core.documents import Document, DocumentStore
from fim_server.core.privacy import uri_path
from fim_server.core.repo.index import Indexer, RepoIndex
from fim_server.core.repo.selection import STAGES, Chooser, Cursor, cost
from fim_server.core.notebook import CODE, Cell, Notebook, Notebooks, cell_context
from fim_server.core.snippets import Held, RecentEdits, SnippetIndex, Source, around_cursor, words

if TYPE_CHECKING:
    from fim_server.settings import Settings


def repo_wanted(settings: "Settings") -> bool:
    """Whether the settings ask for the repository index."""
    return settings.repo_context and settings.workspace_context and settings.repo_context_max_files > 0


class Workspace:
    def __init__(self) -> None:
        self.documents = DocumentStore()
        self.snippet_index = SnippetIndex()
        self.recent_edits = RecentEdits()
        self.notebooks = Notebooks()
        # the repository index (``repoContext``): None until workspace folders are indexed
        self.repo: RepoIndex | None = None
        self.indexer: Indexer | None = None
        self.chooser: Chooser | None = None
        self.repo_stages: tuple[str, ...] = STAGES  # ``eval --recall`` turns stages off
        self._held: dict[str, tuple[Document, Held]] = {}  # per document: the snippets its last prompt got

    # -- the repository index ---------------------------------------------------------------
    def start_index(self, roots: list[str], may_read: Callable[[str, str], bool], max_files: int,
                    background: bool = True, may_enter: Callable[[str], bool] = lambda folder: True) -> Indexer:
        """Index the files under ``roots`` (folder paths): on a worker thread, or
        here and now with ``background=False``. ``may_read(path, languageId)`` is
        asked before any file is opened, ``may_enter(path)`` before a folder is listed."""
        self.stop_index()
        self.repo = RepoIndex(roots)
        self.chooser = Chooser(self.repo)
        self.indexer = Indexer(self.repo, may_read, max_files, may_enter)
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

    def busy(self) -> None:
        """A completion is being answered: the index's worker waits a moment."""
        if self.indexer is not None:
            self.indexer.hold()

    def document_closed(self, uri: str) -> None:
        """Closed without saving, its disk text counts again."""
        if self.indexer is not None and uri.startswith("file:"):
            self.indexer.closed(uri_path(uri))

    def open(self, uri: str, text: str, version: int | None = None, language_id: str = "") -> Document:
        return self.documents.open(uri, text, version, language_id)

    def close(self, uri: str) -> None:
        notebook = self.notebooks.of_cell(uri)
        if notebook is not None:  # a cell closed on its own (not through its notebook)
            notebook.parts = None
        self.documents.close(uri)
        self.snippet_index.forget(uri)
        self.recent_edits.forget(uri)
        self._held.pop(uri, None)

    def context(self, doc: Document, line: int, col: int, settings: "Settings", selected: Selected | None = None) -> CursorContext:
        """The cursor context: ``cursor_context`` for a file, ``cell_context`` (the
        notebook around it) for a notebook cell. Raises ``NoContext``."""
        if self.notebooks.of_cell(doc.uri) is not None:
            return cell_context(self.notebooks, self.documents, doc.uri, line, col, settings, selected)
        return cursor_context(doc, line, col, settings, selected)

    # -- notebooks: the cells' texts live in ``documents``, their order in ``notebooks``
    def open_notebook(self, uri: str, cells: list[Cell], texts: list[tuple[str, str, int | None, str]],
                      notebook_type: str = "jupyter-notebook", version: int | None = None) -> Notebook:
        """A notebook opened with its cells (``texts``: uri, text, version, languageId
        of each cell document). Opened again, it starts afresh."""
        if self.notebooks.get(uri) is not None:
            self.close_notebook(uri)
        for cell_uri, text, cell_version, language_id in texts:
            self.documents.open(cell_uri, text, cell_version, language_id)
        return self.notebooks.open(uri, cells, notebook_type, version)

    def change_cells(self, uri: str, start: int, delete_count: int, cells: list[Cell],
                     opened: list[tuple[str, str, int | None, str]], closed: list[str]) -> list[str]:
        """Cells added, removed or moved (``opened``: uri, text, version, languageId of
        new cell documents; ``closed``: cell documents that end). Returns the URIs of
        the cell documents closed."""
        for cell_uri, text, cell_version, language_id in opened:
            self.documents.open(cell_uri, text, cell_version, language_id)
        self.notebooks.splice(uri, start, delete_count, cells)
        notebook = self.notebooks.get(uri)
        still = {cell.uri for cell in notebook.cells} if notebook is not None else set()
        gone = [cell_uri for cell_uri in dict.fromkeys(closed) if cell_uri not in still]
        for cell_uri in gone:
            self.documents.close(cell_uri)
            self.notebooks.forget_cell(cell_uri)
        return gone

    def close_notebook(self, uri: str) -> list[str]:
        """The notebook and its cell documents forgotten; returns the cells' URIs."""
        cells = self.notebooks.close(uri)
        for cell_uri in cells:
            self.documents.close(cell_uri)
        self.snippet_index.forget(uri)
        self.recent_edits.forget(uri)
        return cells

    def settings_changed(self) -> None:
        """The snippet chooser's last choice was made under the old exclusions: gone."""
        self.snippet_index.clear_choice()
        self._held.clear()
        if self.chooser is not None:
            self.chooser.clear_choice()

    def with_snippets(self, ctx: CursorContext, settings: "Settings", may_send: Callable[[str], bool],
                      may_send_file: Callable[[str, str], bool] | None = None) -> CursorContext:
        """The context with workspace snippets added, when its document is open and
        the settings ask for them; ``may_send(uri)`` says which documents may leave
        the machine (exclusions, disabled languages). While the user types in one
        place the last prompt's snippets stand (``Held.still``), so the prompt's
        start stays the same for the provider's prefix cache."""
        doc = self.documents.get(ctx.uri)
        if doc is None or not settings.workspace_context or settings.context_budget_chars <= 0:
            return ctx
        if ctx.notebook:  # a cell: its notebook's other cells change under it
            return dataclasses.replace(ctx, snippets=self.snippets(ctx, settings, may_send, may_send_file))
        around = words(around_cursor(ctx.prefix, ctx.suffix))
        world = (settings, self.repo_stages, id(self.repo),  # settings: budgets and exclusions
                 self.repo.generation if self.repo is not None else 0,
                 tuple((d.uri, d.version) for d in self.documents if d is not doc))
        kept = self._held.get(ctx.uri)
        if kept is not None and kept[0] is doc and kept[1].still(ctx.line, around, world):
            return dataclasses.replace(ctx, snippets=kept[1].snippets)
        snippets = self.snippets(ctx, settings, may_send, may_send_file)
        self._held[ctx.uri] = (doc, Held(ctx.line, around, world, snippets))
        return dataclasses.replace(ctx, snippets=snippets)

    def snippets(self, ctx: CursorContext, settings: "Settings", may_send: Callable[[str], bool],
                 may_send_file: Callable[[str, str], bool] | None = None) -> tuple[tuple[str, str], ...]:
        """(path, text) of snippets within the budget (never of a document
        ``may_send`` refuses): definitions from the repository index (up to two
        thirds of the budget), then other open documents and recent edits, then
        lexically similar windows of the index. A notebook is one source, read as
        one file under its own URI (its cells are never sources of their own)."""
        budget = settings.context_budget_chars
        around = around_cursor(ctx.prefix, ctx.suffix)
        chooser = self.chooser if settings.repo_context else None
        definitions: tuple = ()
        cur = None
        if chooser is not None:
            uri = ctx.notebook or ctx.uri  # in a notebook cell: the notebook, read as one file
            path = uri_path(uri) if uri.startswith("file:") else ""
            cur = Cursor(path, ctx.language_id, self.source_of(ctx), ctx.line, around, ctx.line_prefix)
            may_file = may_send_file or (lambda uri, language: may_send(uri))
            # two thirds of the budget, or all of it when no other document is open
            alone = all(d.uri == ctx.uri or self.notebooks.of_cell(d.uri) is not None for d in self.documents)
            definitions = chooser.choose(cur, budget, may_file, [s for s in self.repo_stages if s != "lexical"],
                                         defs_budget=budget if alone else budget * 2 // 3)
            budget -= cost(definitions)
        notebooks = self.notebooks
        sources = [
            Source(other.uri, other.version, other.lines, other.language_id)
            for other in self.documents if notebooks.of_cell(other.uri) is None
        ]
        for notebook in notebooks:  # a notebook is one source, read as one file under its own URI
            if notebook.uri != ctx.notebook:  # the cursor's notebook is in the prompt already
                view = notebooks.view(notebook, self.documents)
                sources.append(Source(notebook.uri, notebook.revision, view.lines, self.notebook_language(notebook)))
        window = (ctx.line - ctx.prefix.count("\n") - 1, ctx.line + ctx.suffix.count("\n") + 1)
        chosen = self.snippet_index.collect(
            ctx.notebook or ctx.uri,
            around,
            sources,
            budget_chars=budget,
            recent=self.recent_edits,
            may_send=may_send,
            skip_lines=window,
            roots=tuple(self.repo.roots) if self.repo is not None else (),
        )
        out = tuple((p.path, p.text) for p in definitions) + tuple((s.path, s.text) for s in chosen)
        if chooser is not None and "lexical" in self.repo_stages:
            budget -= sum(len(s.text) + len(s.path) + 16 for s in chosen)
            # windows of open documents are the snippets' part; files that gave definitions gave enough
            skip = {uri_path(d.uri) for d in self.documents if d.uri.startswith("file:")} | {p.file for p in definitions}
            lexical = chooser.choose(cur, budget, may_file, ["lexical"], skip_files=frozenset(skip))
            out += tuple((p.path, p.text) for p in lexical)
        return out

    def snippet_hook(self, engine) -> Callable[[CursorContext], CursorContext]:
        """For ``engine.connect``: a context of ``engine`` with this workspace's
        snippets, under the engine's current settings and privacy rules."""

        def may_send(uri: str) -> bool:
            notebook = self.notebooks.get(uri)
            if notebook is not None:
                return engine.may_send(uri, self.notebook_language(notebook))
            doc = self.documents.get(uri)
            owner = self.notebooks.of_cell(uri)
            if owner is not None and not engine.may_send(owner.uri, doc.language_id if doc is not None else ""):
                return False
            return engine.may_send(uri, doc.language_id if doc is not None else "")

        return lambda ctx: self.with_snippets(ctx, engine.settings, may_send, engine.may_send)

    def notebook_language(self, notebook: Notebook) -> str:
        """The language of a notebook's code cells (its first code cell's)."""
        for cell in notebook.cells:
            doc = self.documents.get(cell.uri) if cell.kind == CODE else None
            if doc is not None:
                return doc.language_id
        return ""

    def source_of(self, ctx: CursorContext) -> str:
        """The text of the cursor's document; of its notebook, read as one file, in a cell."""
        notebook = self.notebooks.get(ctx.notebook) if ctx.notebook else None
        if notebook is not None:
            return "".join(self.notebooks.view(notebook, self.documents, focus=ctx.uri).lines)
        doc = self.documents.get(ctx.uri)
        return doc.source if doc is not None else ""
