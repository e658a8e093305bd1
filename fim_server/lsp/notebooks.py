"""Notebook document sync (LSP 3.17): the ``notebookDocument/*`` notifications
turned into plain data for the workspace (``core/workspace.py``, ``core/notebook.py``).

Cell documents live in the same document store as files and take the same
incremental edits in the negotiated position encoding; the notebook keeps their
order and kinds. pygls's own workspace copy of notebooks is not kept (the protocol
routes these messages here instead, ``lsp/protocol.py``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from lsprotocol import types

from fim_server.core.notebook import CODE, MARKUP, Cell

if TYPE_CHECKING:
    from fim_server.lsp.server import FimServer

log = logging.getLogger(__name__)

NOTEBOOK_TYPE = "jupyter-notebook"
# the cells synced: Python code cells, and markdown cells (they become comments in the prompt)
CELL_LANGUAGES = ("python", "markdown")
SYNC = types.NotebookDocumentSyncOptions(
    notebook_selector=[
        types.NotebookDocumentFilterWithCells(
            notebook=types.NotebookDocumentFilterNotebookType(notebook_type=NOTEBOOK_TYPE),
            cells=[types.NotebookCellLanguage(language=language) for language in CELL_LANGUAGES],
        )
    ],
    save=True,
)


def _cells(cells) -> list[Cell]:
    return [Cell(cell.document, MARKUP if cell.kind == types.NotebookCellKind.Markup else CODE) for cell in cells or ()]


def _texts(items) -> list[tuple[str, str, int | None, str]]:
    return [(item.uri, item.text, item.version, item.language_id) for item in items or ()]


def did_open(ls: "FimServer", params: types.DidOpenNotebookDocumentParams) -> None:
    notebook = params.notebook_document
    ls.open_files.open_notebook(
        notebook.uri, _cells(notebook.cells), _texts(params.cell_text_documents), notebook.notebook_type, notebook.version
    )
    log.debug("notebook opened: %s (%d cells)", notebook.uri, len(notebook.cells))


def did_change(ls: "FimServer", params: types.DidChangeNotebookDocumentParams) -> None:
    uri = params.notebook_document.uri
    workspace = ls.open_files
    notebook = workspace.notebooks.get(uri)
    if notebook is None:
        log.warning("change for a notebook that is not open: %s", uri)
        return
    notebook.version = params.notebook_document.version
    cells = params.change.cells
    if cells is None:
        return  # metadata only: nothing the prompt shows
    if cells.structure is not None:
        array = cells.structure.array
        gone = workspace.change_cells(
            uri,
            array.start,
            array.delete_count,
            _cells(array.cells),
            _texts(cells.structure.did_open),
            [doc.uri for doc in cells.structure.did_close or ()],
        )
        for cell_uri in gone:
            ls.engine.forget(cell_uri)
    for cell in cells.data or ():
        workspace.notebooks.set_kind(cell.document, MARKUP if cell.kind == types.NotebookCellKind.Markup else CODE)
    for content in cells.text_content or ():
        ls.apply_edits(content.document.uri, content.document.version, content.changes)


def did_save(ls: "FimServer", params: types.DidSaveNotebookDocumentParams) -> None:
    """Nothing to do: the cells' texts are already the saved ones."""


def did_close(ls: "FimServer", params: types.DidCloseNotebookDocumentParams) -> None:
    for cell_uri in ls.open_files.close_notebook(params.notebook_document.uri):
        ls.engine.forget(cell_uri)
