"""The repository index's budgets (issue 14 item 4), on a synthetic workspace.

Writes a workspace of ``--files`` files and ``--lines`` lines in all (80 % Python,
10 % TypeScript, 10 % Go; functions, classes with methods, constants, imports
between modules) to a temporary folder (or ``--workspace DIR``), then prints:

1. index: the time to index it all on this process's one worker (the server's
   thread, run here on the main thread) and the resident memory it added;
2. choice: the time to choose the prompt's snippets (definitions, open documents,
   lexical windows) at seeded cursors, p50 / p90, each from scratch (the chooser's
   last choice forgotten) and while typing in one place (10 keys per cursor);
3. keystroke overhead: the real server over stdio with the workspace as its folder
   and the instant fake DeepSeek: the server's own time per completion (round trip
   minus the provider call it timed), p50, with ``repoContext`` off and while the
   index is being built, one completion every ``--gap-ms`` (100 ms: typing; the
   worker pauses 30 ms after each request, so with no gap it hardly moves).

    python bench/bench_repo_index.py [--files 10000] [--lines 1000000] [--gap-ms 100] [--workspace DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
from pathlib import Path
import random
import shutil
import sys
import tempfile
import time

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_server import percentile, start_fake  # noqa: E402
from lsp_client import StdioClient, rss_kib  # noqa: E402

from fim_server.core.context import cursor_context  # noqa: E402
from fim_server.core.workspace import Workspace  # noqa: E402
from fim_server.settings import Settings  # noqa: E402

WORDS = ("account", "balance", "buffer", "cache", "client", "config", "event", "handler", "index", "item", "loop",
         "message", "order", "parser", "queue", "record", "request", "result", "session", "stream", "task", "token",
         "user", "value", "window", "worker")


def python_module(rng: random.Random, n: int, lines: int, modules: int) -> str:
    out = [f'"""Module {n}: synthetic code for the index benchmark."""', "import os", ""]
    for _ in range(3):
        other = rng.randrange(modules)
        out.append(f"from pkg{other % 100}.mod{other} import {rng.choice(WORDS)}_{other}_0")
    out.append("")
    k = 0
    while len(out) < lines:
        a, b = rng.sample(WORDS, 2)
        if k % 4 == 0:
            out += [f"class {a.title()}{b.title()}{n}_{k}:", f'    """Keeps the {a} of a {b}."""', "",
                    f"    def __init__(self, {a}, {b}=None):", f"        self.{a} = {a}", f"        self.{b} = {b}", "",
                    f"    def {a}_{b}(self, limit=10):", f"        return [self.{a}] * limit", ""]
        else:
            out += [f"def {a}_{n}_{k}({a}, {b}, *, retries=3):", f'    """Return the {a} for the {b}."""',
                    f"    total = len({a}) + retries", f"    if {b} is not None:", f"        total += hash({b}) % 7",
                    "    return total", "", f"{a.upper()}_{n}_{k} = {k}", ""]
        k += 1
    return "\n".join(out[:lines]) + "\n"


def ts_module(rng: random.Random, n: int, lines: int) -> str:
    out = [f"import {{ helper }} from './util{n % 10}';", ""]
    k = 0
    while len(out) < lines:
        a, b = rng.sample(WORDS, 2)
        out += [f"export interface {a.title()}{n}_{k} {{", f"  {b}: number;", "}", "",
                f"export function {a}{n}_{k}(x: {a.title()}{n}_{k}): number {{", f"  return x.{b} + helper();", "}", ""]
        k += 1
    return "\n".join(out[:lines]) + "\n"


def go_module(rng: random.Random, n: int, lines: int) -> str:
    out = [f"package pkg{n % 100}", "", 'import "fmt"', ""]
    k = 0
    while len(out) < lines:
        a, b = rng.sample(WORDS, 2)
        out += [f"// {a.title()}{n}_{k} adds the {b}.", f"func {a.title()}{n}_{k}(x int) int {{", f"\treturn x + {k}",
                "}", "", f"type {b.title()}{n}_{k} struct {{", "\tValue int", "}", ""]
        k += 1
    return "\n".join(out[:lines]) + "\n"


def write_workspace(root: Path, files: int, lines: int, seed: int) -> None:
    rng = random.Random(seed)
    per_file = max(10, lines // files)
    for n in range(files):
        folder = root / f"pkg{n % 100}"
        folder.mkdir(parents=True, exist_ok=True)
        kind = n % 10
        if kind == 8:
            (folder / f"mod{n}.ts").write_text(ts_module(rng, n, per_file))
        elif kind == 9:
            (folder / f"mod{n}.go").write_text(go_module(rng, n, per_file))
        else:
            (folder / f"mod{n}.py").write_text(python_module(rng, n, per_file, files))


def rss_mib() -> float:
    gc.collect()
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def index_and_choose(root: Path, seed: int, cursors: int) -> tuple[dict, dict]:
    workspace = Workspace()
    before = rss_mib()
    started = time.perf_counter()
    indexer = workspace.start_index([str(root)], lambda p, l: True, 1_000_000, background=False)
    seconds = time.perf_counter() - started
    after = rss_mib()
    index = workspace.repo
    lexical = index.lexical
    figures = {
        "files": len(index), "seconds": round(seconds, 1), "rss_added_mib": round(after - before, 1),
        "definitions": sum(len(e.definitions) for e in index.files.values()),
        "windows": lexical.live_windows, "words": len(lexical.postings), "files_read": indexer.read,
    }
    settings = Settings()
    rng = random.Random(seed)
    paths = sorted(p for p in index.files if p.endswith(".py"))
    fresh, typing = [], []
    for _ in range(cursors):
        path = rng.choice(paths)
        entry = index.files[path]
        uri = Path(path).as_uri()
        lines = entry.text.split("\n")
        line = rng.randrange(5, max(6, len(lines) - 2))
        doc = workspace.open(uri, entry.text, 1, "python")
        ctx = cursor_context(doc, line, 0, settings)
        workspace.settings_changed()  # the last choice forgotten: chosen from scratch
        t = time.perf_counter()
        workspace.snippets(ctx, settings, lambda u: True)
        fresh.append(time.perf_counter() - t)
        for k, ch in enumerate("value + 1"):
            doc.apply_change(ch, (line, k), (line, k))
            ctx = cursor_context(doc, line, k + 1, settings)
            t = time.perf_counter()
            workspace.snippets(ctx, settings, lambda u: True)
            typing.append(time.perf_counter() - t)
        workspace.close(uri)
    workspace.stop_index()
    ms = lambda v: round(v * 1000, 2)  # noqa: E731
    choice = {
        "cursors": cursors,
        "fresh_ms": {"p50": ms(percentile(fresh, 50)), "p90": ms(percentile(fresh, 90))},
        "typing_ms": {"p50": ms(percentile(typing, 50)), "p90": ms(percentile(typing, 90))},
    }
    return figures, choice


async def overhead(root: Path, repo_context: bool, requests: int, gap_s: float) -> dict:
    """The server's own time per completion (round trip minus the provider call)."""
    fake, url = start_fake()
    client = await StdioClient.start(env=dict(os.environ))
    uri = (root / "typing_here.py").as_uri()
    try:
        await client.request("initialize", {
            "processId": os.getpid(), "rootUri": root.as_uri(),
            "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
            "capabilities": {"textDocument": {"inlineCompletion": {}}},
            "initializationOptions": {"baseUrl": url, "apiKey": "bench-key", "debounceMs": 0, "speculativeNext": False,
                                      "inflightReuse": False, "repoContext": repo_context, "syntaxCheck": False,
                                      "repoContextMaxFiles": 200_000},
        })
        client.notify("initialized", {})
        text = "from pkg1.mod1 import value_1_0\n\n\ndef compute(order, session):\n    return \n"
        client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}})
        own, version, col, line = [], 1, 11, 4
        stats = {}
        for n in range(requests):
            await asyncio.sleep(gap_s)  # the time between two keystrokes
            version += 1
            client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version}, "contentChanges": [
                {"range": {"start": {"line": line, "character": col}, "end": {"line": line, "character": col}}, "text": "q"}]})
            col += 1
            t = time.perf_counter()
            items = await client.request("textDocument/inlineCompletion", {
                "textDocument": {"uri": uri}, "position": {"line": line, "character": col}, "context": {"triggerKind": 2}})
            elapsed = time.perf_counter() - t
            provider = await client.request("workspace/executeCommand", {"command": "fimServer.providerTimes"})
            if items and provider:
                own.append(elapsed - provider[-1])
            if n % 20 == 0:
                stats = await client.request("workspace/executeCommand", {"command": "fimServer.stats"})
                if repo_context and stats.get("repo_walked"):
                    break  # only while indexing
        stats = await client.request("workspace/executeCommand", {"command": "fimServer.stats"})
        peak = rss_kib(client.proc.pid)["VmHWM"] / 1024
    finally:
        await client.close()
        fake.terminate()
        fake.wait(10)
    return {"requests": len(own), "own_ms_p50": round(percentile(own, 50) * 1000, 2) if own else None,
            "own_ms_p90": round(percentile(own, 90) * 1000, 2) if own else None,
            "indexed_files_at_end": stats.get("repo_files", 0), "server_peak_mib": round(peak, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cursors", type=int, default=200)
    parser.add_argument("--requests", type=int, default=300, help="completions per server run (default 300)")
    parser.add_argument("--gap-ms", type=float, default=100, help="pause between two completions (default 100: typing)")
    parser.add_argument("--workspace", metavar="DIR", help="use (or create) the synthetic workspace here and keep it")
    parser.add_argument("--overhead-only", action="store_true", help="only part 3 (the server's time per completion)")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    root = Path(args.workspace) if args.workspace else Path(tempfile.mkdtemp(prefix="fim-bench-index-"))
    try:
        if not any(root.glob("pkg*")):
            t = time.perf_counter()
            write_workspace(root, args.files, args.lines, args.seed)
            print(f"wrote {args.files:,} files, {args.lines:,} lines in {time.perf_counter() - t:.1f} s to {root}")
        index, choice = index_and_choose(root, args.seed, args.cursors) if not args.overhead_only else ({}, {})
        if index:
            print(f"index: {index['files']:,} files ({index['definitions']:,} definitions, {index['windows']:,} windows, "
                  f"{index['words']:,} words) in {index['seconds']} s, {index['rss_added_mib']} MiB resident added")
            print(f"choice ({choice['cursors']} cursors): from scratch p50 {choice['fresh_ms']['p50']} ms "
                  f"p90 {choice['fresh_ms']['p90']} ms; typing in one place p50 {choice['typing_ms']['p50']} ms "
                  f"p90 {choice['typing_ms']['p90']} ms")
        off = asyncio.run(overhead(root, False, args.requests, args.gap_ms / 1000))
        on = asyncio.run(overhead(root, True, args.requests, args.gap_ms / 1000))
        print(f"server's own time per completion: repoContext off p50 {off['own_ms_p50']} ms (p90 {off['own_ms_p90']}); "
              f"while indexing p50 {on['own_ms_p50']} ms (p90 {on['own_ms_p90']}, {on['requests']} completions, "
              f"{on['indexed_files_at_end']:,} files indexed by then)")
        if args.json:
            Path(args.json).write_text(json.dumps({"index": index, "choice": choice, "overhead_off": off,
                                                   "overhead_indexing": on}, indent=2) + "\n")
    finally:
        if not args.workspace:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
