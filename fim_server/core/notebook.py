"""Jupyter notebooks as the prompt sees them (pure, plain data: no LSP types).

A notebook is a list of cells, each a document of its own (the server keeps their
text in its ``DocumentStore`` like any other document). Completing in a code cell,
the notebook is read as one Python file in the percent format Jupytext writes and
code models have read (``# %%`` opens a cell, a markdown cell is ``# %% [markdown]``
followed by its text as ``#`` comments):

    # %%
    import pandas as pd

    # %% [markdown]
    # Load the prices and drop empty rows.

    # %%
    prices = pd.read_csv("prices.csv").dro|        <- the cursor's cell

    # %%
    prices.plot()

So the prompt holds the cells above in order, then the cell's text before the
cursor; the suffix holds the rest of the cell, then the cells below. Line numbers
count from the notebook's first cell, so the prompt window's anchored start (see
``context.py``) stays where it is when the user moves from one cell to the next,
and the provider's prefix cache keeps serving it. Outputs are never part of it: the
protocol does not carry them.

Markdown cells are kept, as comments: in a notebook they say what the next cell is
for ("Load the prices and drop empty rows"), which is what a fill-in-the-middle
model completes best from, and comments change nothing for the syntax check or the
filters. A long one is cut at ``MAX_MARKDOWN_CHARS`` so prose cannot crowd the code
out of the prompt's budget.

IPython lines (``%pip install``, ``!ls``, ``%%time``, ``x = !pwd``, ``obj?``) are sent
as written (the model knows them), but the syntax check parses them as a statement
of the same length (``mask_magics``), and it parses the cursor's cell only: a cell
boundary ends every statement, so a broken cell elsewhere never makes a verdict
impossible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import re
from typing import TYPE_CHECKING, Iterator, Protocol

from fim_server.core.context import CursorContext, NoContext, Selected, context_of_lines, too_big
from fim_server.core.documents import Document, line_content

if TYPE_CHECKING:
    from fim_server.settings import Settings

MARKUP = 1  # LSP's NotebookCellKind
CODE = 2
CELL_MARKER = "# %%"
MARKDOWN_MARKER = "# %% [markdown]"
MAX_MARKDOWN_CHARS = 1200
_MARKER_LINE = re.compile(r"^# %%(?:[ \t].*)?$")
# IPython: line and cell magics, shell escapes, an assignment from either, help (obj?, ?obj)
_MAGIC = re.compile(r"^([ \t]*)((?:[%!?]|[\w.]+[ \t]*=[ \t]*[%!]|[^#\n]*[^\s#\"'][ \t]*\?\??[ \t]*$)[^\n]*)", re.M)


@dataclass
class Cell:
    uri: str  # the cell's own document (in VS Code ``vscode-notebook-cell:/path/nb.ipynb#...``)
    kind: int = CODE


@dataclass
class Notebook:
    uri: str  # the notebook's own URI (``file:///path/nb.ipynb``): privacy rules apply to it
    notebook_type: str = "jupyter-notebook"
    version: int | None = None
    cells: list[Cell] = field(default_factory=list)
    revision: int = 0  # bumped on every change of a cell or of the structure
    # the rendered cells around the last focus: (focus, revision, above, above size, below,
    # below size); kept while only the focus cell changes (``Notebooks.touched``)
    parts: tuple | None = field(default=None, repr=False)
    # the first line of the last prompt window cut in the notebook read as one file,
    # -1 before the first (core/context.py keeps it put while it fits)
    window_start: int = field(default=-1, repr=False)

    def index_of(self, cell_uri: str) -> int:
        for i, cell in enumerate(self.cells):
            if cell.uri == cell_uri:
                return i
        return -1


class Texts(Protocol):
    def get(self, uri: str) -> Document | None: ...


class Notebooks:
    """The open notebooks and which notebook each cell belongs to."""

    def __init__(self) -> None:
        self._notebooks: dict[str, Notebook] = {}
        self._owner: dict[str, str] = {}  # cell uri -> notebook uri
        self._markdown: dict[str, tuple[int | None, list[str]]] = {}  # cell uri -> (version, rendered lines)

    def open(self, uri: str, cells: list[Cell], notebook_type: str = "jupyter-notebook", version: int | None = None) -> Notebook:
        if uri in self._notebooks:
            self.close(uri)
        notebook = Notebook(uri, notebook_type, version, list(cells))
        self._notebooks[uri] = notebook
        for cell in cells:
            self._owner[cell.uri] = uri
        return notebook

    def close(self, uri: str) -> list[str]:
        """Forget the notebook; returns its cells' URIs (their documents go too)."""
        notebook = self._notebooks.pop(uri, None)
        if notebook is None:
            return []
        for cell in notebook.cells:
            self._forget_cell(cell.uri)
        return [cell.uri for cell in notebook.cells]

    def splice(self, uri: str, start: int, delete_count: int, cells: list[Cell]) -> list[str]:
        """``delete_count`` cells from ``start`` replaced by ``cells`` (LSP's
        NotebookCellArrayChange; a move is one splice over the cells between). A
        cell's document stays until it is closed (``forget_cell``): a cell taken
        out may come back. Returns the URIs of the cells no longer in the notebook."""
        notebook = self._notebooks.get(uri)
        if notebook is None:
            return []
        start = max(0, min(start, len(notebook.cells)))
        removed = notebook.cells[start : start + max(0, delete_count)]
        notebook.cells[start : start + max(0, delete_count)] = list(cells)
        notebook.revision += 1
        notebook.parts = None
        for cell in cells:
            self._owner[cell.uri] = uri
        kept = {cell.uri for cell in notebook.cells}
        return [cell.uri for cell in removed if cell.uri not in kept]

    def forget_cell(self, cell_uri: str) -> None:
        """A cell document closed: it belongs to no notebook any more."""
        self._forget_cell(cell_uri)

    def set_kind(self, cell_uri: str, kind: int) -> None:
        notebook = self.of_cell(cell_uri)
        if notebook is not None:
            for cell in notebook.cells:
                if cell.uri == cell_uri and cell.kind != kind:
                    cell.kind = kind
                    notebook.revision += 1
                    notebook.parts = None
                    self._markdown.pop(cell_uri, None)

    def touched(self, cell_uri: str) -> Notebook | None:
        """A cell's text changed: its notebook's revision moves (snippets re-read it),
        and the cells rendered around another cell are rendered again."""
        notebook = self.of_cell(cell_uri)
        if notebook is not None:
            notebook.revision += 1
            if notebook.parts is not None and notebook.parts[0] != cell_uri:
                notebook.parts = None
        return notebook

    def get(self, uri: str) -> Notebook | None:
        return self._notebooks.get(uri)

    def of_cell(self, cell_uri: str) -> Notebook | None:
        owner = self._owner.get(cell_uri)
        return None if owner is None else self._notebooks.get(owner)

    def __iter__(self) -> Iterator[Notebook]:
        return iter(list(self._notebooks.values()))

    def __len__(self) -> int:
        return len(self._notebooks)

    def _forget_cell(self, cell_uri: str) -> None:
        self._owner.pop(cell_uri, None)
        self._markdown.pop(cell_uri, None)

    # -- the notebook as one file ------------------------------------------------------
    def markdown_lines(self, doc: Document) -> list[str]:
        """A markdown cell as ``#`` comment lines (cut at MAX_MARKDOWN_CHARS), kept per version."""
        cached = self._markdown.get(doc.uri)
        if cached is not None and cached[0] == doc.version and doc.version is not None:
            return cached[1]
        out, used = [], 0
        for line in doc.lines:
            text = line_content(line)
            if used + len(text) > MAX_MARKDOWN_CHARS:
                break
            used += len(text) + 1
            out.append(f"# {text}\n" if text.strip() else "#\n")
        while out and out[-1] == "#\n":
            out.pop()
        self._markdown[doc.uri] = (doc.version, out)
        return out

    def view(self, notebook: Notebook, documents: Texts, focus: str | None = None) -> "View":
        """The notebook as one file (see the module's notes). The ``focus`` cell keeps
        every line, its empty last one too (the cursor may be on it). The cells
        around it are rendered once and kept while only the focus cell changes, so a
        keystroke costs the focus cell's lines, not the notebook's."""
        parts = notebook.parts
        if parts is None or parts[0] != focus or (focus is None and parts[1] != notebook.revision):
            parts = notebook.parts = (focus, notebook.revision, *self._around(notebook, documents, focus))
        _, _, above, above_size, below, below_size = parts
        doc = documents.get(focus) if focus is not None else None
        if doc is None:
            return View(above + below, -1, 0, 0, above_size + below_size)
        head = ["\n", CELL_MARKER + "\n"] if above else [CELL_MARKER + "\n"]
        cell_start = above_size + sum(map(len, head))
        body = list(doc.lines)
        size = cell_start + doc.size
        if not body[-1].endswith(("\n", "\r")):
            body[-1] += "\n"
            size += 1
        return View(above + head + body + below, len(above) + len(head), cell_start, cell_start + doc.size, size + below_size)

    def _around(self, notebook: Notebook, documents: Texts, focus: str | None) -> tuple[list[str], int, list[str], int]:
        """The cells above the focus and below it, rendered: (lines, size) of each."""
        above: list[str] = []
        below: list[str] = []
        sizes = [0, 0]
        out, side = above, 0
        for cell in notebook.cells:
            if cell.uri == focus:
                if cell.kind == CODE and documents.get(cell.uri) is not None:
                    out, side = below, 1
                continue
            doc = documents.get(cell.uri)
            if doc is None:
                continue
            if cell.kind == MARKUP:
                head, body = MARKDOWN_MARKER + "\n", self.markdown_lines(doc)
                if not body:
                    continue
            else:
                head, body = CELL_MARKER + "\n", doc.lines
                if len(body) > 1 and body[-1] == "":
                    body = body[:-1]  # the empty line after a final newline: not a line of its own here
            piece = ["\n", head] if out or side else [head]
            piece.extend(body)
            if not piece[-1].endswith(("\n", "\r")):
                piece[-1] += "\n"
            out.extend(piece)
            sizes[side] += sum(map(len, piece))
        return above, sizes[0], below, sizes[1]


@dataclass
class View:
    lines: list[str]
    start: int  # the line where the focus cell's text starts (-1: no focus)
    cell_start: int  # code points before the focus cell's text
    cell_end: int  # code points up to the end of the focus cell's text
    size: int  # code points in all


def cell_context(
    notebooks: Notebooks,
    documents: Texts,
    cell_uri: str,
    line: int,
    col: int,
    settings: "Settings",
    selected: Selected | None = None,
) -> CursorContext:
    """The cursor context at (line, col) (code points) of a notebook cell: the
    notebook as one file around it, its window's start kept on the notebook as
    ``cursor_context`` keeps it on a document. Raises ``NoContext`` like ``cursor_context``."""
    notebook = notebooks.of_cell(cell_uri)
    doc = documents.get(cell_uri)
    if notebook is None or doc is None:
        raise NoContext("the cell is not part of an open notebook")
    view = notebooks.view(notebook, documents, focus=cell_uri)
    if view.start < 0:
        raise NoContext("the cell is not a code cell of its notebook")
    reason = too_big(view.size, len(doc.lines[line]))
    if reason is not None:
        raise NoContext(f"the notebook {reason.removeprefix('it ')}")
    offset = view.cell_start + doc.offset_of(line, col)
    cell_end = view.cell_end
    if selected is not None:
        cell_end += len(selected.text) - (selected.end - selected.start)
    ctx = context_of_lines(cell_uri, view.lines, view.start + line, col, offset, settings, doc.language_id, selected,
                           previous_start=notebook.window_start)
    notebook.window_start = ctx.start_line
    return ctx.in_cell(notebook.uri, view.cell_start, cell_end)


def mask_magics(text: str) -> str:
    """``text`` with each IPython line (a magic, a shell escape, an assignment from
    one, a help request) turned into Python of the same length (``0#...``: a
    statement, so a block holding only such a line stays a block), for the parser."""
    return _MAGIC.sub(_masked, text)


def _masked(match: re.Match[str]) -> str:
    body = match.group(2)
    return match.group(1) + ("0#" + body[2:] if len(body) >= 2 else "0")


def is_cell_marker(line: str) -> bool:
    """Whether a line opens a cell in the percent format (``# %%``, ``# %% [markdown]``)."""
    return bool(_MARKER_LINE.match(line.rstrip("\r")))
