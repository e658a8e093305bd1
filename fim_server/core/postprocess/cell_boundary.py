"""In a notebook cell, a completion ends with the cell: a line that opens a cell
(``# %%``, the marker the prompt puts between cells, see ``core/notebook.py``) is
the model running on into a cell of its own making; the completion is cut before
it, with the blank lines before the cut. Files are left alone (a ``# %%`` there is
the user's own percent-format script)."""

from __future__ import annotations

from fim_server.core.context import CursorContext
from fim_server.core.notebook import is_cell_marker


def apply(text: str, ctx: CursorContext) -> str:
    if ctx.cell is None or "%%" not in text:
        return text
    lines = text.split("\n")
    for number, line in enumerate(lines):
        if is_cell_marker(ctx.line_prefix + line if number == 0 else line):
            return "\n".join(lines[:number]).rstrip(" \t\r\n")
    return text
