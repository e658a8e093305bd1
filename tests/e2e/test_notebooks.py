"""Jupyter notebooks over stdio (notebookDocument/* sync): a completion in a cell
sees the cells around it, in the notebook's current order, after cells are opened,
edited, added, moved and deleted; the provider receives exactly the prompt and
suffix core/notebook.py describes, and nothing from an excluded notebook."""

from __future__ import annotations

import pytest

from fim_server.fakes.deepseek import FakeDeepSeek, Reply

from .rawlsp import RawServer, server_env

KEY = "sk-notebook-e2e-KEY-7070"
NB = "file:///work/analysis.ipynb"
CANARY = "NOTEBOOK_CANARY_SECRET_31337"


def cell_uri(n: int, notebook: str = NB) -> str:
    """A cell URI as VS Code writes them (the notebook's path, the cell in the fragment)."""
    return notebook.replace("file://", "vscode-notebook-cell://", 1) + f"#W{n}sZmlsZQ%3D%3D"


def cell(n: int, kind: int = 2, notebook: str = NB) -> dict:
    return {"kind": kind, "document": cell_uri(n, notebook)}


def item(n: int, text: str, language: str = "python", notebook: str = NB) -> dict:
    return {"uri": cell_uri(n, notebook), "languageId": language, "version": 1, "text": text}


class Notebook:
    """A notebook as the client sees it, sending the LSP 3.17 notifications."""

    def __init__(self, server: RawServer, uri: str = NB) -> None:
        self.server, self.uri, self.version = server, uri, 0

    def open(self, cells: list[tuple[int, int, str]]) -> None:
        """cells: (number, kind, text); markdown cells (kind 1) get languageId markdown."""
        self.server.notify("notebookDocument/didOpen", {
            "notebookDocument": {"uri": self.uri, "notebookType": "jupyter-notebook", "version": 0,
                                 "cells": [cell(n, k, self.uri) for n, k, _ in cells]},
            "cellTextDocuments": [item(n, t, "python" if k == 2 else "markdown", self.uri) for n, k, t in cells],
        })

    def change(self, cells: dict) -> None:
        self.version += 1
        self.server.notify("notebookDocument/didChange", {
            "notebookDocument": {"uri": self.uri, "version": self.version}, "change": {"cells": cells}})

    def splice(self, start: int, delete: list[int], insert: list[tuple], reopen: bool = True) -> None:
        """Cells ``delete`` removed at ``start``, ``insert`` ((number, text[, kind]))
        put there (a move: the same numbers removed and inserted, with no didOpen/didClose)."""
        cells = [cell(n, *rest[1:], notebook=self.uri) for n, *rest in insert]
        structure: dict = {"array": {"start": start, "deleteCount": len(delete), "cells": cells}}
        if reopen:
            structure["didOpen"] = [item(n, t, notebook=self.uri) for n, t, *_ in insert]
            structure["didClose"] = [{"uri": cell_uri(n, self.uri)} for n in delete]
        self.change({"structure": structure})

    def type(self, n: int, line: int, char: int, text: str, version: int) -> None:
        rng = {"start": {"line": line, "character": char}, "end": {"line": line, "character": char}}
        self.change({"textContent": [{"document": {"uri": cell_uri(n, self.uri), "version": version},
                                      "changes": [{"range": rng, "text": text}]}]})

    def close(self) -> None:
        self.server.notify("notebookDocument/didClose", {
            "notebookDocument": {"uri": self.uri}, "cellTextDocuments": []})


@pytest.fixture
def fake():
    with FakeDeepSeek(api_key=KEY, default=Reply(text="value")) as server:
        yield server


@pytest.fixture
def server(fake):
    server = RawServer(env=server_env())
    server.initialize({"baseUrl": fake.url, "apiKey": KEY, "debounceMs": 0, "syntaxCheck": False,
                       "excludeGlobs": ["private/**"]}, notebooks=True)
    yield server
    assert server.close() == 0


def last_request(fake) -> dict:
    requests = fake.completion_requests()
    assert requests, "the provider was not asked"
    return requests[-1].body


def ask(server: RawServer, fake, n: int, line: int, char: int, notebook: str = NB) -> tuple[str, str]:
    before = len(fake.completion_requests())
    assert server.inline(cell_uri(n, notebook), line, char) == ["value"]
    assert len(fake.completion_requests()) == before + 1
    body = last_request(fake)
    return body["prompt"], body["suffix"]


CELLS = [
    (1, 2, "import pandas as pd"),
    (2, 1, "## Load the prices"),
    (3, 2, "prices = pd.read_csv('prices.csv')\n"),
    (4, 2, "total = "),
    (5, 2, "print(total)"),
]


def test_advertises_notebook_sync_for_jupyter_python_cells(fake):
    server = RawServer(env=server_env())
    try:
        result = server.initialize({"baseUrl": fake.url, "apiKey": KEY}, notebooks=True)
        sync = result["capabilities"]["notebookDocumentSync"]
        selector = sync["notebookSelector"][0]
        assert selector["notebook"]["notebookType"] == "jupyter-notebook"
        assert {"language": "python"} in selector["cells"]
    finally:
        assert server.close() == 0


def test_open_cell_sees_cells_above_and_below_in_order(server, fake):
    nb = Notebook(server)
    nb.open(CELLS)
    prompt, suffix = ask(server, fake, 4, 0, 8)
    assert prompt == (
        "# %%\nimport pandas as pd\n\n"
        "# %% [markdown]\n# ## Load the prices\n\n"
        "# %%\nprices = pd.read_csv('prices.csv')\n\n"
        "# %%\ntotal = "
    )
    assert suffix == "\n\n# %%\nprint(total)\n"
    assert server.text_of(cell_uri(4)) == "total = "


def test_edit_add_move_delete_keep_the_neighbours_right(server, fake):
    nb = Notebook(server)
    nb.open(CELLS)
    # edit: typing in cell 3 shows in the prompt of cell 4
    nb.type(3, 1, 0, "prices = prices.dropna()\n", version=2)
    prompt, _ = ask(server, fake, 4, 0, 8)
    assert "prices = pd.read_csv('prices.csv')\nprices = prices.dropna()\n\n# %%\ntotal = " in prompt
    # add: a new cell 6 between 4 and 5 is in cell 4's suffix, before cell 5
    nb.splice(4, [], [(6, "mean = prices.mean()")])
    _, suffix = ask(server, fake, 4, 0, 8)
    assert suffix == "\n\n# %%\nmean = prices.mean()\n\n# %%\nprint(total)\n"
    # move: cell 5 to the top, as vscode-languageclient sends it (one splice over the
    # cells between, no didOpen/didClose); it is now above cell 4
    order = [(5, ""), (1, ""), (2, "", 1), (3, ""), (4, ""), (6, "")]
    nb.splice(0, [1, 2, 3, 4, 6, 5], order, reopen=False)
    prompt, suffix = ask(server, fake, 4, 0, 8)
    assert prompt.startswith("# %%\nprint(total)\n\n# %%\nimport pandas as pd\n")
    assert suffix == "\n\n# %%\nmean = prices.mean()\n"
    assert server.text_of(cell_uri(5)) == "print(total)", "a moved cell keeps its document"
    # delete: the markdown cell and cell 3 go; cell 4 follows cell 1 directly
    nb.splice(2, [2, 3], [])
    prompt, _ = ask(server, fake, 4, 0, 8)
    assert prompt == "# %%\nprint(total)\n\n# %%\nimport pandas as pd\n\n# %%\ntotal = "
    assert server.text_of(cell_uri(3)) is None, "a deleted cell's document is gone"
    # completions in the moved cell see its new neighbours
    prompt, suffix = ask(server, fake, 5, 0, 6)
    assert prompt == "# %%\nprint(" and suffix.startswith("total)\n\n# %%\nimport pandas as pd\n")


def test_cell_edits_use_the_negotiated_encoding(fake):
    server = RawServer(env=server_env())
    try:
        server.initialize({"baseUrl": fake.url, "apiKey": KEY, "debounceMs": 0, "syntaxCheck": False}, encodings=["utf-8"], notebooks=True)
        nb = Notebook(server)
        nb.open([(1, 2, "s = 'é'")])
        nb.type(1, 0, 8, "\nt = ", version=2)  # after the closing quote: 8 UTF-8 bytes (7 UTF-16 units)
        assert server.text_of(cell_uri(1)) == "s = 'é'\nt = "
    finally:
        assert server.close() == 0


def test_closing_the_notebook_forgets_its_cells(server, fake):
    nb = Notebook(server)
    nb.open(CELLS)
    nb.close()
    assert server.text_of(cell_uri(4)) is None
    assert server.inline(cell_uri(4), 0, 8) == []
    assert server.stats()["open_documents"] == 0


def test_typing_through_and_cache_work_per_cell(server, fake):
    fake.set_default(Reply(text="prices.sum()"))
    nb = Notebook(server)
    nb.open(CELLS)
    assert server.inline(cell_uri(4), 0, 8) == ["prices.sum()"]
    nb.type(4, 0, 8, "pri", version=2)
    assert server.inline(cell_uri(4), 0, 11) == ["ces.sum()"], "typing into the suggestion"
    assert len(fake.completion_requests()) == 1
    stats = server.stats()
    assert stats.get("typing_through", 0) >= 1


def test_excluded_notebook_sends_nothing_not_even_as_context(server, fake):
    """excludeGlobs name the notebook's path (private/**); its cells' URIs have another scheme."""
    private = "file:///work/private/keys.ipynb"
    Notebook(server, private).open([(1, 2, f"token = '{CANARY}'\ncompute_prices_total = 1"), (2, 2, "x = ")])
    # in the excluded notebook itself: no request at all
    assert server.inline(cell_uri(2, private), 0, 4) == []
    assert fake.completion_requests() == []
    # a file and another notebook sharing its words get completions, with workspace
    # context from an allowed notebook, never from the excluded one
    Notebook(server, "file:///work/helpers.ipynb").open([(1, 2, "def compute_prices_total(rows):\n    return sum(rows)")])
    server.open("file:///work/main.py", "compute_prices_total(\n")
    assert server.inline("file:///work/main.py", 0, 21) == ["value"]
    Notebook(server).open([(1, 2, "compute_prices_total = "), (2, 2, "compute_prices_total")])
    ask(server, fake, 2, 0, 20)
    bodies = [r.raw_body.decode("utf-8", "replace") for r in fake.completion_requests()]
    assert len(bodies) == 2
    assert all("def compute_prices_total" in body for body in bodies), "the allowed notebook is context"
    assert all(CANARY not in body and "keys.ipynb" not in body for body in bodies)
    assert CANARY not in server.all_output()


def test_notebook_linked_to_an_excluded_file_is_excluded(server, fake, tmp_path):
    """The rules judge the notebook's own URI, which a link resolves (a cell's URI,
    another scheme, cannot be)."""
    (tmp_path / "private").mkdir()
    real = tmp_path / "private" / "real.ipynb"
    real.write_text("{}")
    link = tmp_path / "innocent.ipynb"
    link.symlink_to(real)
    uri = link.as_uri()
    Notebook(server, uri).open([(1, 2, f"token = '{CANARY}'"), (2, 2, "x = ")])
    assert server.inline(cell_uri(2, uri), 0, 4) == []
    assert fake.completion_requests() == []


def test_open_notebook_is_workspace_context_for_a_file(fake):
    server = RawServer(env=server_env())
    try:
        server.initialize({"baseUrl": fake.url, "apiKey": KEY, "debounceMs": 0, "syntaxCheck": False,
                           "workspaceContext": True}, notebooks=True)
        Notebook(server).open([(1, 2, "def compute_prices_total(rows):\n    return sum(rows)\n")])
        server.open("file:///work/main.py", "rows = [1]\ncompute_prices_total(\n")
        assert server.inline("file:///work/main.py", 1, 21) == ["value"]
        body = last_request(fake)
        assert "analysis.ipynb" in str(body) and "def compute_prices_total" in str(body)
    finally:
        assert server.close() == 0


def test_a_notebook_opened_as_a_script_is_a_file_with_magics_understood(fake):
    """What Neovim sends with jupytext.nvim: the .ipynb's own name, languageId python,
    the notebook as a percent-format script (magics as written). Ordinary
    completions; the syntax check parses the IPython lines; the exclusions match
    the .ipynb path."""
    fake.set_default(Reply(text="))"))  # does not parse: dropped by the syntax check
    server = RawServer(env=server_env())
    try:
        server.initialize({"baseUrl": fake.url, "apiKey": KEY, "debounceMs": 0, "excludeGlobs": ["private/**"]})
        text = "# %%\n%pip install pandas\nimport pandas as pd\n\n# %%\n!ls\nsize = len(files)\n"
        server.open("file:///work/analysis.ipynb", text)
        assert server.inline("file:///work/analysis.ipynb", 2, 19) == []
        fake.set_default(Reply(text=" + 1"))
        assert server.inline("file:///work/analysis.ipynb", 6, 17) == [" + 1"], "the %pip and !ls lines do not stop the check"
        assert last_request(fake)["prompt"] == text[:-1]
        server.open("file:///work/private/keys.ipynb", f"# %%\ntoken = '{CANARY}'\nx = \n")
        before = len(fake.completion_requests())
        assert server.inline("file:///work/private/keys.ipynb", 2, 4) == []
        assert len(fake.completion_requests()) == before
    finally:
        assert server.close() == 0


def test_debounce_and_supersede_per_cell(fake):
    """A keystroke in a cell supersedes the request still waiting in that cell (it
    returns at once, empty); a request in another cell does not."""
    import time

    server = RawServer(env=server_env())
    try:
        server.initialize({"baseUrl": fake.url, "apiKey": KEY, "debounceMs": 400, "syntaxCheck": False}, notebooks=True)
        nb = Notebook(server)
        nb.open([(1, 2, "a = "), (2, 2, "b = ")])

        def ask_later(n: int, char: int) -> int:
            return server.send_request("textDocument/inlineCompletion", {
                "textDocument": {"uri": cell_uri(n)}, "position": {"line": 0, "character": char}, "context": {"triggerKind": 2}})

        first = ask_later(1, 4)
        other = ask_later(2, 4)
        time.sleep(0.05)
        nb.type(1, 0, 4, "1", version=2)
        started = time.monotonic()
        second = ask_later(1, 5)
        assert server.wait_answer(first)["result"] in ([], None)
        assert time.monotonic() - started < 0.3, "the superseded request returns at once"
        assert [i["insertText"] for i in server.wait_answer(second)["result"]] == ["value"]
        assert [i["insertText"] for i in server.wait_answer(other)["result"]] == ["value"], "another cell's request stands"
        prompts = [r.body["prompt"] for r in fake.completion_requests()]
        assert len(prompts) == 2 and "# %%\na = 1" in prompts, prompts
        assert any(p.endswith("\n\n# %%\nb = ") for p in prompts), prompts
    finally:
        assert server.close() == 0
