"""What the quality features cost per keystroke on a 5,000-line file.

Builds a 5,000-line Python file from the standard library, then at 300 seeded
cursor positions measures: the cursor context, the tree-sitter syntax check of a
completion (the line's real rest), the whole cleaning pipeline, and the collection
of snippets from 10 other open 5,000-line documents (index warm, as while typing),
plus for reference one full parse of the whole file.

Run:  python bench/bench_keystroke.py [--positions 300] [--seed 1]
"""

from __future__ import annotations

import argparse
from pathlib import Path
import random
import sys
import sysconfig
import time

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fim_server.core import postprocess  # noqa: E402
from fim_server.core.context import build_context  # noqa: E402
from fim_server.core.documents import split_lines  # noqa: E402
from fim_server.core.postprocess.syntax import SyntaxChecker  # noqa: E402
from fim_server.core.snippets import RecentEdits, SnippetIndex, Source, around_cursor  # noqa: E402

LINES = 5000


def big_file(names: list[str]) -> str:
    root = Path(sysconfig.get_paths()["stdlib"])
    out: list[str] = []
    for name in names:
        out += (root / name).read_text(encoding="utf-8").split("\n")
        if len(out) >= LINES:
            break
    return "\n".join(out[:LINES]) + "\n"


def stats(values: list[float]) -> str:
    values = sorted(v * 1000 for v in values)
    pick = lambda q: values[min(len(values) - 1, int(q * len(values)))]  # noqa: E731
    return f"p50 {pick(0.5):.3f} ms, p99 {pick(0.99):.3f} ms, max {values[-1]:.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--positions", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    source = big_file(["argparse.py", "inspect.py", "typing.py", "pathlib.py"])
    lines = split_lines(source)
    others = [
        Source(f"file:///work/other{i}.py", 1, split_lines(big_file(rng.sample(["shutil.py", "tarfile.py", "logging/__init__.py", "subprocess.py", "ssl.py", "collections/__init__.py"], 3))))
        for i in range(10)
    ]
    checker = SyntaxChecker()
    assert checker.supports("python"), "tree-sitter-python is not installed"
    import tree_sitter_python  # noqa: F401

    started = time.perf_counter()
    checker.errors("python", source)
    full_parse = time.perf_counter() - started

    index = SnippetIndex()
    recent = RecentEdits()
    started = time.perf_counter()
    index.collect("file:///work/big.py", "warm up index", others, budget_chars=1500)
    index_build = time.perf_counter() - started

    t_ctx, t_syntax, t_clean, t_snip = [], [], [], []
    c_syntax, c_snip = [], []
    candidates = [i for i, line in enumerate(lines) if len(line.strip()) > 8]
    for _ in range(args.positions):
        n = rng.choice(candidates)
        content = lines[n].rstrip("\n")
        col = rng.randint(len(content) - len(content.lstrip()), len(content) - 1)
        truth = content[col:]
        hole_lines = list(lines)
        hole_lines[n] = content[:col] + "\n"
        recent.record("file:///work/big.py", n)
        started = time.perf_counter()
        ctx = build_context("file:///work/big.py", hole_lines, n, col, max_prefix_chars=8000, max_suffix_chars=2000, language_id="python")
        t_ctx.append(time.perf_counter() - started)
        started, cpu0 = time.perf_counter(), time.thread_time()
        checker.apply(truth, ctx)
        t_syntax.append(time.perf_counter() - started)
        c_syntax.append(time.thread_time() - cpu0)
        started = time.perf_counter()
        postprocess.clean(truth, ctx, syntax=checker)
        t_clean.append(time.perf_counter() - started)
        started, cpu0 = time.perf_counter(), time.thread_time()
        index.collect(
            ctx.uri, around_cursor(ctx.prefix, ctx.suffix), others + [Source(ctx.uri, None, hole_lines)],
            budget_chars=1500, recent=recent, skip_lines=(n - 100, n + 40),
        )
        t_snip.append(time.perf_counter() - started)
        c_snip.append(time.thread_time() - cpu0)
    import os

    print(f"{LINES}-line Python file, {args.positions} cursor positions, seed {args.seed} ({os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f})")
    print(f"full parse of the whole file (reference, not done per keystroke): {full_parse * 1000:.2f} ms")
    print(f"cursor context:            {stats(t_ctx)}")
    print(f"syntax check (windows):    {stats(t_syntax)}")
    print(f"  same, CPU of this thread: {stats(c_syntax)}")
    print(f"whole cleaning pipeline:   {stats(t_clean)}")
    print(f"snippets, 10 other docs:   {stats(t_snip)} (index of 10 x {LINES} lines built once in {index_build * 1000:.1f} ms)")
    print(f"  same, CPU of this thread: {stats(c_snip)}")


if __name__ == "__main__":
    main()
