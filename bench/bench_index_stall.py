"""How long indexing one file keeps the rest of the server waiting (issue 14 item 4,
"indexing yields to requests").

A ticker thread sleeps 5 ms at a time and records how late it wakes (its longest
stall is the longest the event loop would wait for the interpreter lock), while
another thread builds the index entry of one file as the index's worker does
(``build_entry``, GIL switch interval 1 ms as while indexing). Each file is run
twice: parsed in this process (``in process``: how every file was parsed before
``parse_child``) and as the index does now (files over ``IN_PROCESS_CHARS`` go to
the child process, as do all Java and C++ files (``ALWAYS_IN_CHILD``), a fresh
child per file so its start is counted too).

The files: four pathological ones under the 1 MB limit (a million ``{`` in
JavaScript, a class with 50,000 one-line methods, a ``def`` with 240,000
parameters, ``x = [`` 199,000 times), a few smaller pathological ones (the
JavaScript and Python ones stay in process; tree-sitter's C++ and Java grammars
blow up on short ambiguous text, so their files all go to the child), and the
largest ordinary files of the standard library.

    python bench/bench_index_stall.py [--repeat 3] [--json FILE]

The figure printed per file and mode is the worst of ``--repeat`` runs (ms). First,
the stall of loading each language's grammar and compiling its definitions query,
which the first file of a language costs the process that parses it (measured
once; the files after run with every query loaded).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import sys
import sysconfig
import threading
import time

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fim_server.core.repo.definitions import QUERIES, _query  # noqa: E402
from fim_server.core.repo.index import build_entry  # noqa: E402
from fim_server.core.repo.parse_child import IN_PROCESS_CHARS, ChildParser  # noqa: E402

TICK_S = 0.005


def pathological() -> list[tuple[str, str, str]]:
    return [
        ("{ x 999k (js)", "javascript", "{" * 999_000),
        ("class, 50k one-line methods", "python", "class C:\n" + "".join(f" def f{i}(s):0\n" for i in range(50_000))),
        ("def, 240k parameters", "python", "def f(" + ", ".join(f"a{i}" for i in range(240_000))[:990_000] + "):\n    pass\n"),
        ("x = [ x 199k", "python", "x = [" * 199_000),
        ("{ x 32k (js, in process)", "javascript", "{" * IN_PROCESS_CHARS),
        ("x = [ x 6.4k (in process)", "python", "x = [" * (IN_PROCESS_CHARS // 5)),
        ("A<A x 16k (c++, all to child)", "cpp", "A" + "<A" * (IN_PROCESS_CHARS // 2 - 1)),
        ("a<a x 2k (java, all to child)", "java", "class X{void f(){a" + "<a" * 2_000),
    ]


def ordinary(count: int = 3) -> list[tuple[str, str, str]]:
    root = sysconfig.get_paths()["stdlib"]
    found = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in ("site-packages", "test", "tests", "idlelib")]
        found += [(os.path.getsize(os.path.join(folder, n)), os.path.join(folder, n)) for n in names if n.endswith(".py")]
    found.sort(reverse=True)
    out = []
    for _, path in found[:count]:
        with open(path, encoding="utf-8") as f:
            out.append((os.path.relpath(path, root) + " (stdlib)", "python", f.read()))
    return out


def stall(language: str, text: str, child: ChildParser | None, work=None) -> tuple[float, float, int]:
    """(longest stall of the ticker ms, time to build the entry ms, definitions)."""
    worst = [0.0]
    done = threading.Event()

    def tick() -> None:
        last = time.perf_counter()
        while not done.is_set():
            time.sleep(TICK_S)
            now = time.perf_counter()
            worst[0] = max(worst[0], now - last - TICK_S)
            last = now

    result: dict = {}

    def build() -> None:
        started = time.perf_counter()
        entry = build_entry("/bench/file", language, text, {}, lambda: None, child)
        result["ms"] = (time.perf_counter() - started) * 1000
        result["definitions"] = len(entry.definitions)

    ticker = threading.Thread(target=tick)
    ticker.start()
    time.sleep(0.05)
    worker = threading.Thread(target=work or build)
    worker.start()
    worker.join()
    time.sleep(0.02)
    done.set()
    ticker.join()
    return worst[0] * 1000, result.get("ms", 0.0), result.get("definitions", 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json")
    args = parser.parse_args()
    sys.setswitchinterval(0.001)  # as the index's worker sets it while it walks
    loads = {}
    for language in QUERIES:
        loads[language] = stall(language, "", None, lambda: _query(language))[0]
    print("first file of a language (grammar and query): " + ", ".join(f"{k} {v:.0f} ms" for k, v in loads.items()))
    rows: list[dict] = [{"query_load_stall_ms": {k: round(v, 1) for k, v in loads.items()}}]
    print(f"{'file':38} {'chars':>9}  {'in process: stall / build':>26}  {'as indexed: stall / build':>26}  defs")
    for name, language, text in pathological() + ordinary():
        figures = {}
        for mode in ("in_process", "indexed"):
            runs = []
            for _ in range(args.repeat):
                child = ChildParser() if mode == "indexed" else None
                try:
                    runs.append(stall(language, text, child))
                finally:
                    if child is not None:
                        child.close()
            figures[mode] = (max(r[0] for r in runs), sorted(r[1] for r in runs)[len(runs) // 2], runs[0][2])
        a, b = figures["in_process"], figures["indexed"]
        print(f"{name:38} {len(text):>9,}  {a[0]:>11.0f} ms / {a[1]:>7.0f} ms  {b[0]:>11.0f} ms / {b[1]:>7.0f} ms  {b[2]:,}"
              + ("" if a[2] == b[2] else f" (in process {a[2]:,})"), flush=True)
        rows.append({"file": name, "chars": len(text), "in_process_stall_ms": round(a[0], 1), "in_process_ms": round(a[1]),
                     "indexed_stall_ms": round(b[0], 1), "indexed_ms": round(b[1]), "definitions": b[2]})
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
