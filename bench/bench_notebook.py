"""What a keystroke costs in a notebook cell against the same keystroke in a file.

Runs the real ``fim-server`` over stdio against the fake DeepSeek (a separate
process on 127.0.0.1, answering at once) with a 200-cell notebook (code cells of
small functions, every fourth cell markdown) and a plain file holding the same
text (the notebook as the prompt reads it, ``# %%`` markers and all: the same
size). The cursor is on a new line at the end of the middle cell, and at the same
place in the file. Keystrokes alternate between the two, and it prints, p50 / p99:

* the server's own time per completion that calls the provider (round trip minus
  the provider call the server timed);
* the round trip per typing-through answer (no provider call);
* the notebook's extra cost: the difference of the two p50s (target: within 1 ms);
* in-process, the cursor context alone (``cell_context`` against ``cursor_context``).

    python bench/bench_notebook.py [--cells 200] [--requests 400]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_server import SUGGESTION, percentile, start_fake  # noqa: E402
from lsp_client import StdioClient  # noqa: E402

from fim_server.core.context import cursor_context  # noqa: E402
from fim_server.core.documents import DocumentStore  # noqa: E402
from fim_server.core.notebook import CODE, MARKUP, Cell, Notebooks, cell_context  # noqa: E402
from fim_server.settings import Settings  # noqa: E402

NB = "file:///bench/analysis.ipynb"
FILE = "file:///bench/analysis.py"


def cell_uri(i: int) -> str:
    return f"vscode-notebook-cell:/bench/analysis.ipynb#W{i}sZmlsZQ%3D%3D"


def make_cells(count: int) -> list[tuple[int, str]]:
    cells = []
    for i in range(count):
        if i % 4 == 3:
            cells.append((MARKUP, f"## Step {i}\n\nWhat function_{i - 1} computes, and why."))
        else:
            cells.append((CODE, f'def function_{i}(alpha, beta):\n    """Compute the value number {i}."""\n'
                                f"    total = alpha + beta * {i}\n    return total\n"))
    return cells


def as_file(cells: list[tuple[int, str]]) -> str:
    """The notebook as one file, exactly as the server reads it (core/notebook.py)."""
    docs, books = DocumentStore(), Notebooks()
    for i, (kind, text) in enumerate(cells):
        docs.open(cell_uri(i), text, 1, "python" if kind == CODE else "markdown")
    books.open(NB, [Cell(cell_uri(i), kind) for i, (kind, _) in enumerate(cells)])
    return "".join(books.view(books.get(NB), docs).lines)


class Place:
    """Where the keystrokes go: a notebook cell or the file, and how to send them."""

    def __init__(self, client: StdioClient, uri: str, line: int, notebook: bool) -> None:
        self.client, self.uri, self.line, self.col, self.notebook, self.version = client, uri, line, 0, notebook, 1

    def type(self, text: str) -> None:
        self.version += 1
        rng = {"start": {"line": self.line, "character": self.col}, "end": {"line": self.line, "character": self.col}}
        change = {"range": rng, "text": text}
        if self.notebook:
            self.client.notify("notebookDocument/didChange", {
                "notebookDocument": {"uri": NB, "version": self.version},
                "change": {"cells": {"textContent": [{"document": {"uri": self.uri, "version": self.version}, "changes": [change]}]}},
            })
        else:
            self.client.notify("textDocument/didChange", {"textDocument": {"uri": self.uri, "version": self.version}, "contentChanges": [change]})
        if text == "\n":
            self.line, self.col = self.line + 1, 0
        else:
            self.col += len(text)

    async def inline(self) -> tuple[float, list]:
        started = time.perf_counter()
        result = await self.client.request("textDocument/inlineCompletion", {
            "textDocument": {"uri": self.uri}, "position": {"line": self.line, "character": self.col}, "context": {"triggerKind": 2}})
        return time.perf_counter() - started, result or []


async def measure(cells: list[tuple[int, str]], requests: int) -> dict:
    fake, url = start_fake()
    client = await StdioClient.start(env=dict(os.environ))
    try:
        await client.request("initialize", {
            "processId": os.getpid(),
            "capabilities": {"textDocument": {"inlineCompletion": {}}, "notebookDocument": {"synchronization": {}}},
            "initializationOptions": {"baseUrl": url, "apiKey": "bench-key", "debounceMs": 0, "speculativeNext": False,
                                      "inflightReuse": False},
        })
        client.notify("initialized", {})
        middle = len(cells) // 2 - (len(cells) // 2) % 4  # a code cell
        client.notify("notebookDocument/didOpen", {
            "notebookDocument": {"uri": NB, "notebookType": "jupyter-notebook", "version": 1,
                                 "cells": [{"kind": kind, "document": cell_uri(i)} for i, (kind, _) in enumerate(cells)]},
            "cellTextDocuments": [{"uri": cell_uri(i), "languageId": "python" if kind == CODE else "markdown", "version": 1, "text": text}
                                  for i, (kind, text) in enumerate(cells)],
        })
        text = as_file(cells)
        client.notify("textDocument/didOpen", {"textDocument": {"uri": FILE, "languageId": "python", "version": 1, "text": text}})
        cell_lines = cells[middle][1].count("\n")  # the cell ends with a newline: the cursor goes on its empty last line
        before = as_file(cells[:middle + 1])
        places = [Place(client, cell_uri(middle), cell_lines, True), Place(client, FILE, before.count("\n"), False)]
        for place in places:
            place.type("\n")
            for _ in range(30):  # warm-up
                place.type("q")
                await place.inline()
        await client.request("workspace/executeCommand", {"command": "fimServer.providerTimes"})
        own: dict[bool, list[float]] = {True: [], False: []}
        typing: dict[bool, list[float]] = {True: [], False: []}
        for n in range(requests):  # 1. provider calls, alternating
            for place in places:
                place.type("q")
                elapsed, items = await place.inline()
                assert items and items[0]["insertText"] == SUGGESTION, (place.uri, items)
                provider = await client.request("workspace/executeCommand", {"command": "fimServer.providerTimes"})
                own[place.notebook].append(elapsed - sum(provider))
        for n in range(requests):  # 2. typing through the shown suggestion
            k = n % (len(SUGGESTION) - 1)
            for place in places:
                if k == 0:
                    place.type("\n")
                    await place.inline()
                place.type(SUGGESTION[k])
                elapsed, items = await place.inline()
                assert items and items[0]["insertText"] == SUGGESTION[k + 1:], (place.uri, items)
                typing[place.notebook].append(elapsed)
    finally:
        await client.close()
        fake.terminate()
        fake.wait(10)
    return {"own": own, "typing": typing, "chars": len(text)}


def context_only(cells: list[tuple[int, str]], rounds: int = 2000) -> dict[bool, list[float]]:
    docs, books = DocumentStore(), Notebooks()
    for i, (kind, text) in enumerate(cells):
        docs.open(cell_uri(i), text, 1, "python" if kind == CODE else "markdown")
    books.open(NB, [Cell(cell_uri(i), kind) for i, (kind, _) in enumerate(cells)])
    middle = len(cells) // 2 - (len(cells) // 2) % 4
    file = docs.open(FILE, as_file(cells), 1, "python")
    line = as_file(cells[:middle + 1]).count("\n") - 2
    settings, out = Settings(), {True: [], False: []}
    for _ in range(rounds):
        started = time.perf_counter()
        cell_context(books, docs, cell_uri(middle), 2, 4, settings)
        out[True].append(time.perf_counter() - started)
        started = time.perf_counter()
        cursor_context(file, line, 4, settings)
        out[False].append(time.perf_counter() - started)
    return out


def row(label: str, values: dict[bool, list[float]]) -> str:
    ms = lambda v: v * 1000  # noqa: E731
    nb, fl = (percentile(values[k], 50) for k in (True, False))
    return (f"  {label:<28} notebook p50 {ms(nb):.3f} ms  p99 {ms(percentile(values[True], 99)):.3f} ms | "
            f"file p50 {ms(fl):.3f} ms  p99 {ms(percentile(values[False], 99)):.3f} ms | notebook - file {ms(nb - fl):+.3f} ms")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cells", type=int, default=200)
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    cells = make_cells(args.cells)
    result = asyncio.run(measure(cells, args.requests))
    print(f"fim-server notebook keystroke: {args.cells} cells ({sum(k == MARKUP for k, _ in cells)} markdown), "
          f"{result['chars']:,} characters, the file the same text; {args.requests} keystrokes each")
    print(f"  machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(row("server's own, provider call", result["own"]))
    print(row("typing-through round trip", result["typing"]))
    print(row("cursor context (in-process)", context_only(cells)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
