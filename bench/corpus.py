"""Real code nobody here wrote, per language, for the repair benchmark and new traces.

    python bench/corpus.py [--dir DIR]     # fetch (once) and list what is there

Where each language comes from (fetched by this script with the ordinary clients,
never by CI; kept under DIR, default ~/.cache/fim-server-bench):

* python      the standard library of the interpreter running this (no download)
* go          Debian's Go source package (``apt-get download golang-1.NN-src``; BSD-3-Clause),
              without its tests (test/ holds programs that fail to compile on purpose)
* c           the C files in that same package (cgo runtime, misc; BSD-3-Clause)
* rust        Debian's crate sources ``librust-{serde,regex,regex-syntax,anyhow}-dev``
              (/usr/share/cargo/registry in the package; MIT or Apache-2.0)
* javascript  npm ``lodash`` (MIT)
* typescript  npm ``rxjs`` (its src/, Apache-2.0) and ``zod`` (its src/, MIT; tests left out)

Packages are unpacked with ``dpkg -x`` / ``tar``, nothing is installed system-wide.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
import random
import re
import subprocess
import sysconfig
import tarfile

DEFAULT_DIR = Path(os.environ.get("FIM_BENCH_CORPUS", Path.home() / ".cache" / "fim-server-bench"))
LANGUAGES = ("python", "javascript", "typescript", "go", "rust", "c")
RUST_CRATES = ("librust-serde-dev", "librust-regex-dev", "librust-regex-syntax-dev", "librust-anyhow-dev")
NPM = {"javascript": ("lodash@4.18.1",), "typescript": ("rxjs@7.8.2", "zod@3.25.76")}
SUFFIXES = {"python": (".py",), "javascript": (".js",), "typescript": (".ts",), "go": (".go",), "rust": (".rs",), "c": (".c",)}


def _run(cmd: list[str], cwd: Path) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=600)


def _go_package() -> str:
    out = subprocess.run(
        ["apt-cache", "search", "--names-only", r"^golang-1\.[0-9]+-src$"], capture_output=True, text=True, check=True
    ).stdout
    names = sorted((line.split()[0] for line in out.splitlines() if line.strip()), key=lambda n: int(n.split(".")[1].split("-")[0]))
    if not names:
        raise SystemExit("no golang-1.NN-src package known to apt (run apt-get update)")
    return names[-1]


def _debian(names: list[str], into: Path) -> None:
    debs = into / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    _run(["apt-get", "download", *names], debs)
    for deb in sorted(debs.glob("*.deb")):
        _run(["dpkg", "-x", str(deb), str(into / "root")], into)


def _npm(specs: tuple[str, ...], into: Path) -> None:
    into.mkdir(parents=True, exist_ok=True)
    _run(["npm", "pack", "--silent", *specs], into)
    for tgz in sorted(into.glob("*.tgz")):
        target = into / tgz.name[: -len(".tgz")]
        with tarfile.open(tgz) as archive:
            archive.extractall(target, filter="data")


def fetch(root: Path = DEFAULT_DIR, languages: tuple[str, ...] = LANGUAGES) -> Path:
    """Download and unpack what ``languages`` need that is not under ``root`` yet."""
    root.mkdir(parents=True, exist_ok=True)
    if {"go", "c"} & set(languages) and not (root / "go" / "root").is_dir():
        _debian([_go_package()], root / "go")
    if "rust" in languages and not (root / "rust" / "root").is_dir():
        _debian(list(RUST_CRATES), root / "rust")
    for language, specs in NPM.items():
        if language in languages and not (root / language).is_dir():
            _npm(specs, root / language)
    return root


def _wanted(path: Path, language: str) -> bool:
    parts = set(path.parts)
    name = path.name
    if language == "python":
        return "site-packages" not in parts and "test" not in parts
    if language == "typescript":
        # sources, not declarations or tests; rxjs and zod ship theirs under src/
        return "src" in parts and not name.endswith(".d.ts") and ".test." not in name and "tests" not in parts
    if language == "javascript":
        return "node_modules" not in parts and not name.endswith(".min.js")
    if language == "go":
        # not the tests: Go's test/ folder holds programs that fail to compile on purpose
        return not name.endswith("_test.go") and not {"test", "testdata"} & parts
    return True


def files(language: str, root: Path = DEFAULT_DIR) -> list[Path]:
    """Every source file of ``language`` in the corpus, sorted (fetch first)."""
    if language == "python":
        base = Path(sysconfig.get_paths()["stdlib"])
    elif language in ("go", "c"):
        base = root / "go" / "root"
    elif language == "rust":
        base = root / "rust" / "root"
    else:
        base = root / language
    found = [p for suffix in SUFFIXES[language] for p in base.rglob("*" + suffix) if p.is_file() and _wanted(p.relative_to(base), language)]
    return sorted(found)


def sample_files(language: str, limit: int, rng: random.Random, root: Path = DEFAULT_DIR) -> list[Path]:
    chosen = files(language, root)
    rng.shuffle(chosen)
    return chosen[:limit]


def provenance(root: Path = DEFAULT_DIR) -> dict[str, str]:
    """What each language's files are (package and version), for the printed report."""
    out = {"python": f"standard library of {sysconfig.get_paths()['stdlib']}"}
    for language, sub in (("go", "go"), ("c", "go"), ("rust", "rust")):
        debs = sorted(p.name for p in (root / sub / "debs").glob("*.deb")) if (root / sub / "debs").is_dir() else []
        out[language] = ", ".join(re.sub(r"_(all|amd64|arm64)\.deb$", "", d) for d in debs) or "not fetched"
    for language, specs in NPM.items():
        out[language] = "npm " + ", ".join(specs)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args()
    fetch(args.dir)
    for language in LANGUAGES:
        print(f"{language:11} {len(files(language, args.dir)):6} files  {provenance(args.dir)[language]}")


if __name__ == "__main__":
    main()
