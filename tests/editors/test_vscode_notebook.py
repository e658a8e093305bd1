"""A Jupyter notebook in code-server (issue 15): with VS Code's built-in ipynb
extension alone (no Jupyter extension, no kernel) the extension's notebook cell
selector makes vscode-languageclient sync the notebook; typing in a code cell
shows ghost text whose request carried the earlier cells, and Tab accepts it into
the cell (saved into the .ipynb)."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from fim_server.fakes.openai import FakeOpenAI
from fim_server.fakes.replies import Reply

from .code_server import CodeServer, build_vsix, need_tools
from .tools import ROOT, server_wrapper

# the .vsix build (up to 2 x 300 s), the install (180 s) and a drive (500 s) fail
# with their own errors before the run's time limit would end them
pytestmark = pytest.mark.timeout(1800)

ANSWER = "compute_total(prices)"
SHOT = ROOT / "docs" / "notebook-ghost-text.png"
NOTEBOOK = {
    "cells": [
        {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
         "source": ["def compute_total(prices):\n", "    return sum(prices)"]},
        {"cell_type": "markdown", "metadata": {}, "source": ["## Total of the basket"]},
        {"cell_type": "code", "execution_count": 1, "metadata": {},
         "outputs": [{"output_type": "stream", "name": "stdout", "text": ["OUTPUT_NEVER_SENT\n"]}],
         "source": ["prices = [1, 2]"]},
        {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": ["print(total)"]},
    ],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                 "language_info": {"name": "python"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


@pytest.fixture
def tools():
    need_tools()


def test_ghost_text_in_a_notebook_cell_from_the_cells_above_accepted_with_tab(tools, tmp_path):
    vsix = build_vsix(tmp_path)
    workspace = tmp_path / "ws"
    with CodeServer(tmp_path, workspace) as cs, FakeOpenAI(default=Reply(text=ANSWER), accepts_suffix=True) as fake:
        notebook = workspace / "basket.ipynb"
        notebook.write_text(json.dumps(NOTEBOOK, indent=1))
        cs.install(vsix)
        cs.settings(
            {"fimServer.provider": "openai", "fimServer.baseUrl": fake.base_url, "fimServer.debounceMs": 50},
            machine={"fimServer.serverPath": str(server_wrapper(tmp_path))},
        )
        # code cells: 0 = the definition, 1 = prices, 2 = print(total); type a new line in cell 1
        seen = cs.drive("notebook.mjs", cs.start(), "basket.ipynb", str(tmp_path), "1", "\ntotal = ")
        bodies = [r.body for r in fake.completion_requests()]
    assert seen["codeCells"] == 3, seen
    assert seen["shown"].strip() == ANSWER, seen
    assert bodies, "the provider was not asked"
    # the request behind the ghost text was built from the notebook: the earlier cells
    # (the markdown one as a comment) above the cursor, the later cell after it
    expected = ("# %%\ndef compute_total(prices):\n    return sum(prices)\n\n"
                "# %% [markdown]\n# ## Total of the basket\n\n"
                "# %%\nprices = [1, 2]\ntotal = ")
    asked = [b for b in bodies if b["prompt"] == expected]
    assert asked, [b["prompt"] for b in bodies]
    assert asked[0]["suffix"] == "\n\n# %%\nprint(total)\n", asked[0]["suffix"]
    # outputs are never sent
    assert all("OUTPUT_NEVER_SENT" not in json.dumps(b) for b in bodies)
    # Tab accepted it into the cell, and the saved notebook has it
    assert seen["ghostAfterTab"] == 0 and "total = " + ANSWER in seen["cellText"], seen
    saved = json.loads(notebook.read_text())
    assert "".join(saved["cells"][2]["source"]) == "prices = [1, 2]\ntotal = " + ANSWER
    if os.environ.get("FIM_UPDATE_SCREENSHOT") == "1":
        shutil.copy(tmp_path / "notebook-ghost.png", SHOT)
