#!/usr/bin/env python3
"""Build the release artefacts into dist/: the wheel, the sdist and the VS Code
extension (.vsix) that carries the wheel (it installs it into a private venv when
no fim-server is found).

    python scripts/release.py             # sync the extension's version, build all three
    python scripts/release.py --check     # only check that the versions agree (exit 1 if not)
    python scripts/release.py --out DIR   # build into DIR instead of dist/
    python scripts/release.py --no-isolation   # use the installed setuptools (offline)

The version lives in fim_server/__init__.py (``__version__``); pyproject reads it
(``dynamic = ["version"]``) and this command copies it into
editors/vscode/package.json (and its lock file). Needs ``build`` (the test extra)
and Node.js with the extension's npm packages (``npm ci`` in editors/vscode).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VSCODE = ROOT / "editors" / "vscode"
BUNDLE = VSCODE / "server"  # where the extension looks for the wheel it carries


def python_version() -> str:
    text = (ROOT / "fim_server" / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r'^__version__\s*=\s*"([^"]+)"', text, re.M)
    if not found:
        raise SystemExit("release: no __version__ in fim_server/__init__.py")
    return found.group(1)


def extension_versions() -> dict[str, str]:
    """The version fields of the extension's package.json and package-lock.json."""
    found = {"package.json": json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))["version"]}
    lock = VSCODE / "package-lock.json"
    if lock.exists():
        data = json.loads(lock.read_text(encoding="utf-8"))
        found["package-lock.json"] = data.get("version", "")
        found["package-lock.json (root package)"] = data.get("packages", {}).get("", {}).get("version", "")
    return found


def sync_extension_version(version: str) -> bool:
    """Write ``version`` into package.json and package-lock.json; True when changed."""
    changed = False
    for name in ("package.json", "package-lock.json"):
        path = VSCODE / name
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
        before = json.dumps(data)
        data["version"] = version
        if name == "package-lock.json" and "" in data.get("packages", {}):
            data["packages"][""]["version"] = version
        if json.dumps(data) != before:
            path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            changed = True
    return changed


def build_python(out: Path, isolation: bool = True) -> tuple[Path, Path]:
    extra = [] if isolation else ["--no-isolation"]  # the tests build offline with the installed setuptools
    subprocess.run([sys.executable, "-m", "build", *extra, "--outdir", str(out), str(ROOT)], check=True)
    version = python_version()
    wheel = out / f"fim_server-{version}-py3-none-any.whl"
    sdist = out / f"fim_server-{version}.tar.gz"
    for path in (wheel, sdist):
        if not path.exists():
            raise SystemExit(f"release: python -m build did not write {path}")
    return wheel, sdist


def build_vsix(wheel: Path, out: Path) -> Path:
    """The extension with ``wheel`` in its server/ folder."""
    if not (VSCODE / "node_modules" / "vscode-languageclient").is_dir():
        raise SystemExit("release: run `npm ci` in editors/vscode first")
    if BUNDLE.exists():
        shutil.rmtree(BUNDLE)
    BUNDLE.mkdir()
    shutil.copy2(wheel, BUNDLE / wheel.name)
    npm = shutil.which("npm") or "npm"
    npx = shutil.which("npx") or "npx"
    subprocess.run([npm, "run", "-s", "compile"], cwd=VSCODE, check=True)
    vsix = out / f"fim-server-{python_version()}.vsix"
    subprocess.run(
        [npx, "--no-install", "vsce", "package", "--skip-license", "--allow-missing-repository", "-o", str(vsix)],
        cwd=VSCODE,
        check=True,
    )
    return vsix


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check that the versions agree")
    parser.add_argument("--out", default=str(ROOT / "dist"), help="output folder (default: dist/)")
    parser.add_argument("--no-isolation", action="store_true", help="build with the installed setuptools (no download)")
    args = parser.parse_args(argv)
    version = python_version()
    if args.check:
        wrong = {name: v for name, v in extension_versions().items() if v != version}
        for name, v in wrong.items():
            print(f"release: editors/vscode/{name} has version {v!r}, fim_server has {version!r}", file=sys.stderr)
        return 1 if wrong else 0
    if sync_extension_version(version):
        print(f"release: editors/vscode/package.json set to {version}")
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wheel, sdist = build_python(Path(tmp), isolation=not args.no_isolation)
        wheel = Path(shutil.copy2(wheel, out / wheel.name))
        sdist = Path(shutil.copy2(sdist, out / sdist.name))
    vsix = build_vsix(wheel, out)
    for path in (wheel, sdist, vsix):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
