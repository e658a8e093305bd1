"""code-server (a real VS Code in Chromium) for the extension's tests: the .vsix
built or released, a user data folder with user and machine settings, code-server
started on 127.0.0.1 and stopped again, a driver script under editors/vscode/e2e."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .tools import CODE_SERVER, PLAYWRIGHT, ROOT, VSCODE_DIR, free_port, need, which

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
WHEELHOUSE = VSCODE_DIR / "e2e" / "wheelhouse"  # the server's dependencies (e2e/install.sh)

# quiet, predictable workbench settings for every test
WORKBENCH = {
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": False,
    "telemetry.telemetryLevel": "off",
    "extensions.autoCheckUpdates": False,
    "extensions.autoUpdate": False,
    "editor.quickSuggestions": {"other": False, "comments": False, "strings": False},
    "editor.suggestOnTriggerCharacters": False,
    "editor.inlineSuggest.enabled": True,
    "files.autoSave": "off",
    "workbench.colorTheme": "Default Dark Modern",
}


def need_tools() -> None:
    need(which("node") is not None and which("npm") is not None, "Node.js and npm are not installed")
    need(Path(CHROMIUM).exists(), f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    need(CODE_SERVER.exists() and PLAYWRIGHT.is_dir(), "code-server/playwright-core are not installed (editors/vscode/e2e/install.sh)")
    need((VSCODE_DIR / "node_modules" / "vscode-languageclient").is_dir(), "the extension's npm packages are not installed (npm ci in editors/vscode)")


def build_vsix(out: Path) -> Path:
    """The extension without a server (a test that gives it one)."""
    subprocess.run(["npm", "run", "-s", "compile"], cwd=VSCODE_DIR, check=True, timeout=300)
    vsix = out / "fim-server.vsix"
    subprocess.run(
        ["npx", "--no-install", "vsce", "package", "--skip-license", "--allow-missing-repository", "-o", str(vsix)],
        cwd=VSCODE_DIR, check=True, timeout=300, capture_output=True,
    )
    return vsix


def release(out: Path) -> dict[str, Path]:
    """The release command's artefacts (wheel, sdist, .vsix with the wheel)."""
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "release.py"), "--no-isolation", "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    found = {p.suffix: p for p in out.iterdir()}
    return {"wheel": found[".whl"], "sdist": found[".gz"], "vsix": found[".vsix"]}


class CodeServer:
    """One code-server on 127.0.0.1 with its own user data, extensions and HOME."""

    def __init__(self, root: Path, workspace: Path, env: dict[str, str] | None = None) -> None:
        self.root, self.workspace = root, workspace
        self.user_data, self.extensions = root / "user", root / "ext"
        for d in (self.user_data / "User", self.user_data / "Machine", self.extensions, workspace):
            d.mkdir(parents=True, exist_ok=True)
        base = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
        base["HOME"] = str(root)
        self.env = {**base, **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def install(self, vsix: Path) -> None:
        subprocess.run(
            [str(CODE_SERVER), "--user-data-dir", str(self.user_data), "--extensions-dir", str(self.extensions),
             "--install-extension", str(vsix)],
            check=True, timeout=180, env=self.env, capture_output=True,
        )

    def settings(self, user: dict, machine: dict | None = None) -> None:
        (self.user_data / "User" / "settings.json").write_text(json.dumps({**WORKBENCH, **user}, indent=1))
        # machine-scope settings (serverPath): code-server reads them from the remote machine's file
        (self.user_data / "Machine" / "settings.json").write_text(json.dumps(machine or {}, indent=1))

    def start(self, trust: bool = False) -> str:
        """Starts code-server; ``trust``: with VS Code's workspace trust (a dialog asks),
        else every folder is trusted."""
        # a restart keeps the port: the browser keeps its storage (secrets) per origin
        self.port = self.port or free_port()
        args = [
            str(CODE_SERVER), "--bind-addr", f"127.0.0.1:{self.port}", "--auth", "none",
            "--disable-telemetry", "--disable-update-check", "--disable-getting-started-override",
            "--user-data-dir", str(self.user_data), "--extensions-dir", str(self.extensions),
        ]
        if not trust:
            args.append("--disable-workspace-trust")
        self.proc = subprocess.Popen(
            [*args, str(self.workspace)], env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"code-server exited with {self.proc.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2):
                    return f"http://127.0.0.1:{self.port}/?folder={self.workspace}"
            except OSError:
                time.sleep(0.5)
        raise AssertionError("code-server did not answer in time")

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None

    def drive(self, script: str, *args: str, timeout: float = 500) -> dict:
        """Runs editors/vscode/e2e/SCRIPT; returns the JSON line it printed."""
        run = subprocess.run(
            ["node", str(VSCODE_DIR / "e2e" / script), *args], cwd=VSCODE_DIR / "e2e", capture_output=True,
            text=True, timeout=timeout, env={**self.env, "CHROMIUM": CHROMIUM},
        )
        print(run.stderr)  # the driver's steps with their times (shown with -s or on failure)
        assert run.returncode == 0, run.stderr[-4000:]
        return json.loads(run.stdout.strip().splitlines()[-1])

    def __enter__(self) -> "CodeServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def path_without_fim_server() -> str:
    """PATH minus every folder that holds a fim-server (this checkout's venv)."""
    keep = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d and not (Path(d) / "fim-server").exists()]
    return os.pathsep.join(keep)
