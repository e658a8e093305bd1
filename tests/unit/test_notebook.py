"""core/notebook.py: the notebook read as one file around a cell, the cell list's
splices, IPython lines masked for the parser, and the syntax check per cell."""

from __future__ import annotations

import pytest

from fim_server.core.context import NoContext, Selected
from fim_server.core.documents import DocumentStore
from fim_server.core.notebook import CODE, MARKUP, Cell, Notebooks, cell_context, is_cell_marker, mask_magics
from fim_server.core.postprocess.syntax import SyntaxChecker
from fim_server.settings import Settings

NB = "file:///nb.ipynb"


def make(cells: list[tuple[str, int, str]]) -> tuple[Notebooks, DocumentStore]:
    docs, books = DocumentStore(), Notebooks()
    for uri, kind, text in cells:
        docs.open(uri, text, 1, "python" if kind == CODE else "markdown")
    books.open(NB, [Cell(uri, kind) for uri, kind, _ in cells])
    return books, docs


CELLS = [("c1", CODE, "import os\n"), ("m1", MARKUP, "# Title\n\nSome *text*\n"), ("c2", CODE, "x = 1"), ("c3", CODE, "print(x)")]


def test_cell_context_is_the_notebook_as_one_file():
    books, docs = make(CELLS)
    ctx = cell_context(books, docs, "c2", 0, 4, Settings())
    assert ctx.prefix == "# %%\nimport os\n\n# %% [markdown]\n# # Title\n#\n# Some *text*\n\n# %%\nx = "
    assert ctx.suffix == "1\n\n# %%\nprint(x)\n"
    assert (ctx.uri, ctx.notebook, ctx.line_prefix, ctx.line_suffix) == ("c2", NB, "x = ", "1")
    start, end = ctx.cell
    whole = ctx.prefix + ctx.suffix
    assert whole[start:end] == "x = 1" and ctx.offset == start + 4


def test_empty_markdown_and_missing_documents_leave_no_trace():
    books, docs = make([("c1", CODE, "a = 1"), ("m1", MARKUP, "\n\n"), ("c2", CODE, "b")])
    books.splice(NB, 1, 0, [Cell("nowhere", CODE)])
    ctx = cell_context(books, docs, "c2", 0, 1, Settings())
    assert ctx.prefix == "# %%\na = 1\n\n# %%\nb"


def test_long_markdown_is_cut():
    books, docs = make([("m1", MARKUP, "word " * 1000), ("c1", CODE, "x")])
    ctx = cell_context(books, docs, "c1", 0, 1, Settings())
    assert len(ctx.prefix) < 100


def test_prompt_start_is_the_same_from_cell_to_cell():
    cells = [(f"c{i}", CODE, "\n".join(f"v{i}_{j} = {j}" for j in range(10))) for i in range(60)]
    books, docs = make(cells)
    settings = Settings()
    a = cell_context(books, docs, "c40", 3, 0, settings)
    b = cell_context(books, docs, "c41", 3, 0, settings)
    assert len(a.prefix) < len("".join(c[2] for c in cells)), "the window is cut"
    assert a.prefix[:200] == b.prefix[:200], "the anchored start does not move with the cell"


def test_splice_moves_and_forgets():
    books, docs = make(CELLS)
    assert books.splice(NB, 0, 4, [Cell("c3"), Cell("c1"), Cell("m1", MARKUP), Cell("c2")]) == []
    assert [c.uri for c in books.get(NB).cells] == ["c3", "c1", "m1", "c2"]
    assert books.splice(NB, 0, 1, []) == ["c3"]
    assert books.of_cell("c3") is not None, "a cell taken out keeps its notebook until its document closes"
    books.forget_cell("c3")
    assert books.of_cell("c3") is None
    with pytest.raises(NoContext):
        cell_context(books, docs, "c3", 0, 0, Settings())
    assert books.close(NB) == ["c1", "m1", "c2"] and books.of_cell("c1") is None


def test_selected_item_is_inserted_in_the_cell():
    books, docs = make([("c1", CODE, "import os"), ("c2", CODE, "os.pa")])
    ctx = cell_context(books, docs, "c2", 0, 5, Settings(), Selected(3, 5, "path"))
    assert ctx.prefix.endswith("# %%\nos.path") and ctx.suffix == "\n"
    assert (ctx.prefix + ctx.suffix)[ctx.cell[0] : ctx.cell[1]] == "os.path"


@pytest.mark.parametrize(
    "line, masked",
    [
        ("%pip install pandas", "0#ip install pandas"),
        ("!ls -la", "0#s -la"),
        ("%%time", "0#time"),
        ("    !rm {f}", "    0#m {f}"),
        ("files = !ls", "0#les = !ls"),
        ("df.head?", "0#.head?"),
        ("%", "0"),
        ("x = 1  # why?", "x = 1  # why?"),
        ("print('what?')", "print('what?')"),
        ("# %% comment", "# %% comment"),
    ],
)
def test_mask_magics_keeps_the_length(line, masked):
    assert mask_magics(line) == masked and len(masked) == len(line)


def test_cell_markers():
    assert is_cell_marker("# %%") and is_cell_marker("# %% [markdown]") and is_cell_marker("# %%\r")
    assert not is_cell_marker("# %%time") and not is_cell_marker("x = 1  # %%")


syntax = SyntaxChecker()
needs_grammar = pytest.mark.skipif(not syntax.supports("python"), reason="tree-sitter-python not installed")


@needs_grammar
def test_syntax_check_parses_magics_and_the_cell_alone():
    # a broken cell above (an open bracket) and magics in the cursor's cell
    books, docs = make([("c1", CODE, "data = load(\n"), ("c2", CODE, "%pip install x\nfor f in files:\n    !echo {f}\n    total = f")])
    ctx = cell_context(books, docs, "c2", 3, 13, Settings())
    assert syntax.apply(" + 1", ctx) == " + 1", "a good completion passes"
    assert syntax.apply(" +)", ctx) == "", "a broken one is dropped: the check ran in spite of the cell above"
    assert syntax.apply("\n    !ls", ctx) == "\n    !ls", "a shell line in the completion parses too"


def test_cells_around_the_focus_are_rendered_again_after_their_changes():
    books, docs = make(CELLS)
    settings = Settings()
    assert cell_context(books, docs, "c2", 0, 5, settings).prefix.endswith("# %%\nx = 1")
    docs.get("c2").apply_change("y", (0, 5), (0, 5))  # the focus cell itself: kept parts, new text
    books.touched("c2")
    assert cell_context(books, docs, "c2", 0, 6, settings).prefix.endswith("\n# %%\nx = 1y")
    docs.get("c1").apply_change("import re\n", (1, 0), (1, 0))  # another cell: rendered again
    books.touched("c1")
    assert cell_context(books, docs, "c2", 0, 6, settings).prefix.startswith("# %%\nimport os\nimport re\n\n")
    docs.get("c3").apply_change("z", (0, 0), (0, 0))
    books.touched("c3")
    assert cell_context(books, docs, "c2", 0, 6, settings).suffix == "\n\n# %%\nzprint(x)\n"
    books.set_kind("c3", MARKUP)
    assert cell_context(books, docs, "c2", 0, 6, settings).suffix == "\n\n# %% [markdown]\n# zprint(x)\n"
    books.splice(NB, 3, 1, [])
    assert cell_context(books, docs, "c2", 0, 6, settings).suffix == "\n"


def test_a_speculative_or_narrowed_context_keeps_the_cell_end():
    from fim_server.core.calls import advanced
    from fim_server.core.postprocess import auto_closed

    books, docs = make([("c1", CODE, "f(x)"), ("c2", CODE, "y")])
    ctx = cell_context(books, docs, "c1", 0, 2, Settings())
    whole = ctx.prefix + ctx.suffix
    assert whole[ctx.cell[0] : ctx.cell[1]] == "f(x)"
    moved = advanced(ctx, "x, z")
    assert (moved.prefix + moved.suffix)[moved.cell[0] : moved.cell[1]] == "f(x, zx)"
    ctx = cell_context(books, docs, "c1", 0, 3, Settings())
    narrowed = auto_closed.apply(", y)", ctx)  # replaces the ")" after the cursor
    assert isinstance(narrowed, auto_closed.Replace) and narrowed.replace_after == 1
    n = narrowed.ctx
    assert (n.prefix + n.suffix)[n.cell[0] : n.cell[1]] == "f(x"


def test_a_notebook_opened_again_leaves_no_cell_documents_behind():
    from fim_server.core.workspace import Workspace

    ws = Workspace()
    ws.open_notebook(NB, [Cell("c1"), Cell("c2")], [("c1", "a", 1, "python"), ("c2", "b", 1, "python")])
    ws.open_notebook(NB, [Cell("c3")], [("c3", "c", 1, "python")])
    assert [doc.uri for doc in ws.documents] == ["c3"]
    assert ws.change_cells(NB, 0, 1, [], [], ["c3"]) == ["c3"] and len(ws.documents) == 0
    assert ws.close_notebook(NB) == [] and ws.notebooks.get(NB) is None


def test_typing_in_a_cell_keeps_the_windows_start():
    """The notebook keeps its window's start as a document does (core/context.py's
    hysteresis): 12 lines typed in a cell near the end do not move it, wherever the
    first window fell."""
    cells = [(f"c{i}", CODE, "\n".join(f"value_{i}_{j} = compute({j}, {i})  # pad" for j in range(10))) for i in range(60)]
    for focus in range(40, 48):
        books, docs = make(cells)
        settings = Settings()
        cell = f"c{focus}"
        first = cell_context(books, docs, cell, 9, 0, settings)
        for n in range(12):
            docs.get(cell).apply_change(f"w_{n} = compute_more({n}, {n})  # typed\n", (9 + n, 0), (9 + n, 0), "utf-32")
            books.touched(cell)
            ctx = cell_context(books, docs, cell, 10 + n, 0, settings)
            assert ctx.start_line == first.start_line
            assert ctx.prefix.startswith(first.prefix[: first.prefix.rfind("\n")])
