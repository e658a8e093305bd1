"""Repair benchmark: does the cleaning pipeline recover the exact ground truth from
typical model faults, and does it leave clean completions alone? Per language, no model needed.

Holes are punched in real code the project did not write (``bench/corpus.py``: the
Python standard library, Go and C from Debian's Go source package, Rust from Debian's
crate sources, JavaScript and TypeScript from npm packages; fetched on first use), the
removed span is the ground truth, and each fault of
``fim_server.tools.eval.holes.FAULTS`` is simulated on it the way the language writes
blocks. For every hole:

* clean: the truth itself goes through the pipeline; *damage* = the accepted file
  differs from the original;
* faulty: each applicable fault goes through; *recovery* = the accepted file equals
  the original (trimmed back, or the auto-closed closer replaced through the range),
  or for an answer that holds nothing of the truth (re-typing the line above) that
  the answer is dropped.

Run:  python bench/bench_repair.py [--languages python,go,...] [--files 300] [--holes 8] [--seed 1]
                                   [--no-syntax] [--show N] [--json out.json] [--corpus DIR]
Targets per language: recovery >= 95 %, damage <= 0.5 %, pipeline p99 <= 2 ms per completion.
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict
import json
import os
from pathlib import Path
import random
import statistics
import sys
import time

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fim_server.core import postprocess  # noqa: E402
from fim_server.core.context import build_context  # noqa: E402
from fim_server.core.documents import split_lines  # noqa: E402
from fim_server.tools.eval.holes import FAULTS, applicable, applied, expected, inject, sample  # noqa: E402
from fim_server.core.postprocess.syntax import SyntaxChecker  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else 0.0


def run(args, language: str = "python") -> dict:
    rng = random.Random(args.seed)
    checker = None if args.no_syntax else SyntaxChecker()
    totals: Counter[str] = Counter()
    per_fault: dict[str, Counter[str]] = defaultdict(Counter)
    failures: list[dict] = []
    times: list[float] = []
    cpu: list[float] = []
    files = corpus.sample_files(language, args.files, rng, args.corpus)
    for path in files:
        try:
            source = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        source = source.replace("\r\n", "\n")
        for hole in sample(str(path), source, rng, args.holes, language=language):
            doc = hole.document(source)
            lines = split_lines(doc)
            ctx = build_context(path.as_uri(), lines, hole.line, hole.column, max_prefix_chars=8000, max_suffix_chars=2000, language_id=language)
            cases = [("clean", hole.truth)] + [
                (fault, inject(fault, hole, source, rng)) for fault in FAULTS if applicable(fault, hole, source)
            ]
            for name, raw in cases:
                started, started_cpu = time.perf_counter(), time.thread_time()
                cleaned = postprocess.clean(postprocess.before_cache(raw, ctx), ctx, syntax=checker)
                times.append(time.perf_counter() - started)
                cpu.append(time.thread_time() - started_cpu)
                want = expected(None if name == "clean" else name, hole)
                ok = applied(source, hole, cleaned.text, cleaned.replace_after) == applied(source, hole, want)
                key = "clean" if name == "clean" else "faulty"
                totals[key] += 1
                per_fault[name]["total"] += 1
                per_fault[name]["ok"] += ok
                per_fault[hole.kind + ":" + key]["total"] += 1
                per_fault[hole.kind + ":" + key]["ok"] += ok
                totals[key + "_ok"] += ok
                if not ok and len(failures) < args.show:
                    failures.append({"case": name, "kind": hole.kind, "file": path.name, "line": hole.line + 1, "truth": hole.truth, "raw": raw, "got": cleaned.text, "replace_after": cleaned.replace_after})
    recovery = totals["faulty_ok"] / max(1, totals["faulty"])
    damage = 1 - totals["clean_ok"] / max(1, totals["clean"])
    return {
        "language": language,
        "files": len(files),
        "clean_cases": totals["clean"],
        "faulty_cases": totals["faulty"],
        "recovery": recovery,
        "damage": damage,
        "p50_ms": percentile(times, 0.50) * 1000,
        "p99_ms": percentile(times, 0.99) * 1000,
        "mean_ms": statistics.fmean(times) * 1000 if times else 0.0,
        "cpu_p50_ms": percentile(cpu, 0.50) * 1000,
        "cpu_p99_ms": percentile(cpu, 0.99) * 1000,
        "load_average": os.getloadavg()[0],
        "cores": os.cpu_count(),
        "syntax_check": checker is not None,
        "per_case": {k: {"ok": v["ok"], "total": v["total"], "share": v["ok"] / max(1, v["total"])} for k, v in sorted(per_fault.items())},
        "failures": failures,
        "source": corpus.provenance(args.corpus)[language],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--languages", default=",".join(corpus.LANGUAGES), help="comma-separated (default: all six)")
    parser.add_argument("--files", type=int, default=300, help="files per language")
    parser.add_argument("--holes", type=int, default=8, help="holes per file")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-syntax", action="store_true", help="leave out the tree-sitter check")
    parser.add_argument("--show", type=int, default=0, help="print this many failures per language")
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--corpus", type=Path, default=corpus.DEFAULT_DIR, help="where the fetched sources are kept")
    args = parser.parse_args()
    languages = tuple(args.languages.split(","))
    unknown = [lang for lang in languages if lang not in corpus.LANGUAGES]
    if unknown:
        parser.error(f"unknown languages {', '.join(unknown)}; known: {', '.join(corpus.LANGUAGES)}")
    corpus.fetch(args.corpus, languages)
    results = {}
    for language in languages:
        result = results[language] = run(args, language)
        print(f"== {language}: {result['source']}, {result['files']} files, seed {args.seed}, syntax check {'on' if result['syntax_check'] else 'off'}")
        print(f"faulty completions: {result['faulty_cases']}, recovered exactly: {result['recovery']:.2%} (target >= 95 %)")
        print(f"clean completions:  {result['clean_cases']}, damaged: {result['damage']:.2%} (target <= 0.5 %)")
        print(f"pipeline per completion: p50 {result['p50_ms']:.3f} ms, p99 {result['p99_ms']:.3f} ms, mean {result['mean_ms']:.3f} ms wall (target p99 <= 2 ms)")
        print(f"                         p50 {result['cpu_p50_ms']:.3f} ms, p99 {result['cpu_p99_ms']:.3f} ms CPU of this thread ({result['cores']} cores, load average {result['load_average']:.1f})")
        for f in result["failures"]:
            print(json.dumps(f, ensure_ascii=False))
    print()
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, ensure_ascii=False))


def table(results: dict[str, dict]) -> str:
    """The per-language table (Markdown): the three target figures, then each case's share."""
    languages = list(results)
    out = ["| | " + " | ".join(languages) + " |", "|---" * (len(languages) + 1) + "|"]

    def row(label: str, cell) -> None:
        out.append(f"| {label} | " + " | ".join(cell(results[lang]) for lang in languages) + " |")

    row("faulty completions recovered (>= 95 %)", lambda r: f"**{r['recovery']:.1%}** of {r['faulty_cases']}")
    row("clean completions damaged (<= 0.5 %)", lambda r: f"**{r['damage']:.2%}** of {r['clean_cases']}")
    row("pipeline p99 ms (<= 2)", lambda r: f"**{r['p99_ms']:.2f}**")
    row("pipeline p99 ms, CPU of the thread", lambda r: f"{r['cpu_p99_ms']:.2f}")
    row("pipeline p50 ms", lambda r: f"{r['p50_ms']:.2f}")
    for name in ["clean", *FAULTS]:
        row(name, lambda r, name=name: _share(r["per_case"].get(name)))
    return "\n".join(out)


def _share(case: dict | None) -> str:
    return "-" if not case else f"{case['share']:.1%} of {case['total']}"


if __name__ == "__main__":
    main()
