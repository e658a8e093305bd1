"""Context recall of the repository index on code nobody here wrote (issue 14 item 5).

Runs ``fim-server eval REPO --recall`` (``fim_server/tools/eval/recall.py``) on the
standard library packages ``asyncio``, ``email`` and ``importlib`` of the running
interpreter, and on the TypeScript sources of an npm package installed here into a
temporary folder (``rxjs``, whose package ships its ``src/``; needs ``npm`` and the
registry, so it is not part of the tests), with one file open (the hole's) at the
default ``contextBudgetChars`` and, for comparison, at 4,000 characters.

    python bench/bench_recall.py [--samples 200] [--seed 0] [--npm rxjs@7.8.2] [--json FILE]
"""

from __future__ import annotations

import argparse
from dataclasses import replace
import json
from pathlib import Path
import shutil
import subprocess
import sys
import sysconfig
import tempfile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fim_server.settings import Settings  # noqa: E402
from fim_server.tools.eval import recall  # noqa: E402


def npm_package(spec: str, folder: Path) -> Path | None:
    """The package's TypeScript sources after ``npm install`` into ``folder``."""
    if shutil.which("npm") is None:
        print("npm not found: the TypeScript row is left out", file=sys.stderr)
        return None
    done = subprocess.run(["npm", "install", "--prefix", str(folder), "--no-save", "--ignore-scripts", "--no-audit",
                           "--no-fund", spec], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        print(f"npm install {spec} failed: {done.stderr.strip()[-300:]}", file=sys.stderr)
        return None
    name = spec.rsplit("@", 1)[0] if not spec.startswith("@") or spec.count("@") > 1 else spec
    root = folder / "node_modules" / name
    return root / "src" if (root / "src").is_dir() else root


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--npm", default="rxjs@7.8.2", help="the npm package whose TypeScript is measured ('' for none)")
    parser.add_argument("--budgets", default="1500,4000", help="contextBudgetChars values (default 1500,4000)")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    repos = [stdlib / "asyncio", stdlib / "email", stdlib / "importlib"]
    results = []
    with tempfile.TemporaryDirectory(prefix="fim-recall-npm-") as tmp:
        if args.npm:
            found = npm_package(args.npm, Path(tmp))
            if found is not None:
                repos.append(found)
        for repo in repos:
            for budget in (int(b) for b in args.budgets.split(",")):
                result = recall.measure(repo, replace(Settings(), context_budget_chars=budget), args.samples, args.seed)
                results.append(result)
                print(recall.table(result))
                print()
    print(f"{'repository':28} {'budget':>6} {'holes':>5}  " + "  ".join(f"{r['config'][:30]:>30}" for r in results[0]["rows"]))
    for result in results:
        name = "/".join(Path(result["repo"]).parts[-2:])
        cells = "  ".join(f"{row['all']:>14.1%} ({row['any']:>5.1%} any)" for row in result["rows"])
        print(f"{name:28} {result['budget']:>6} {result['holes']:>5}  {cells}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
