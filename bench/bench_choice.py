"""Time to choose the repository context on real files (issue 14: <= 2 ms p50).

The holes of ``fim-server eval REPO --recall --samples 200 --seed 0`` for the
standard library's ``asyncio``, ``email`` and ``importlib``, and for each the
prompt's snippets built as the eval builds them (the four stage settings in turn,
the last one timed: a fresh choice, ``settings_changed`` first). Several runs, each
after everything kept between requests is forgotten; it prints the p50 of each
run and the p50 of each hole's fastest run (what is left of the time when the
other work on the machine is filtered out), and a digest of every snippet chosen,
which must not change when only the speed does (run it on two trees and compare).

    python bench/bench_choice.py [--runs 5] [--cold] [asyncio email ...]

``--cold`` times the full setting alone, without the three before it for the same
hole (which fill what the chooser keeps for that cursor).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
import hashlib
from pathlib import Path
import random
import sys
import sysconfig
import time

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fim_server.core.context import NoContext, cursor_context  # noqa: E402
from fim_server.core.repo import kept, uses  # noqa: E402
from fim_server.core.repo.selection import Chooser  # noqa: E402
from fim_server.core.workspace import Workspace  # noqa: E402
from fim_server.settings import Settings  # noqa: E402
from fim_server.tools.eval.holes import KINDS, sample  # noqa: E402
from fim_server.tools.eval.recall import CONFIGS, cross_file_names  # noqa: E402


def holes(workspace: Workspace, samples: int, seed: int) -> list[tuple]:
    """(path, language, document text, line, column) of the eval's holes (same sampling)."""
    index = workspace.repo
    files = sorted(p for p, e in index.files.items() if e.definitions)
    rng = random.Random(seed)
    out: list[tuple] = []
    attempts = 0
    while len(out) < samples and attempts < samples * 40:
        attempts += 1
        path = rng.choice(files)
        entry = index.files[path]
        found = sample(path, entry.text, rng, 1, (KINDS[attempts % len(KINDS)],))
        if found and cross_file_names(workspace, found[0], path):
            out.append((path, entry.language, found[0].document(entry.text), found[0].line, found[0].column))
    return out


def run(workspace: Workspace, cases: list[tuple], settings: Settings, configs) -> tuple[str, list[float]]:
    """One pass over the holes, from nothing kept: (digest of the snippets, ms of each timed choice)."""
    kept.clear()
    uses._LINE_NAMES.clear()
    workspace.repo._memo.clear()
    workspace.chooser = Chooser(workspace.repo)
    digest, times = hashlib.sha256(), []
    for path, language, text, line, column in cases:
        uri = Path(path).as_uri()
        doc = workspace.open(uri, text, None, language)
        try:
            ctx = cursor_context(doc, line, column, settings)
        except NoContext:
            workspace.close(uri)
            continue
        for label, stages in configs:
            workspace.repo_stages = stages
            workspace.settings_changed()
            started = time.perf_counter()
            snippets = workspace.snippets(ctx, replace(settings, repo_context=bool(stages)), lambda uri: True)
            if stages == CONFIGS[-1][1]:
                times.append((time.perf_counter() - started) * 1000)
            digest.update(repr((label, snippets)).encode())
        workspace.close(uri)
    return digest.hexdigest()[:16], times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("packages", nargs="*", default=["asyncio", "email", "importlib"])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", type=int, default=1500)
    parser.add_argument("--cold", action="store_true", help="time the full setting alone")
    args = parser.parse_args()
    settings = replace(Settings(), context_budget_chars=args.budget)
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    configs = CONFIGS[-1:] if args.cold else CONFIGS
    for package in args.packages:
        workspace = Workspace()
        workspace.start_index([str(stdlib / package)], lambda path, language: True, settings.repo_context_max_files,
                              background=False)
        cases = holes(workspace, args.samples, args.seed)
        runs = [run(workspace, cases, settings, configs) for _ in range(args.runs)]
        workspace.stop_index()
        digests = {d for d, _ in runs}
        p50s = [sorted(t)[len(t) // 2] for _, t in runs]
        fastest = sorted(min(t[i] for _, t in runs) for i in range(len(runs[0][1])))
        print(f"{package}: {len(fastest)} holes; choice p50 per run {' '.join(f'{p:.2f}' for p in p50s)} ms; "
              f"p50 of each hole's fastest {fastest[len(fastest) // 2]:.2f} ms; snippets digest {' '.join(sorted(digests))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
