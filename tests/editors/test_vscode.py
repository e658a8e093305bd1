"""The VS Code extension end to end: the .vsix installed in code-server (a real
VS Code), Chromium typing into a file, ghost text from the real server process
with the fake DeepSeek, Tab accepts, the file on disk holds the text."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import fim_server
from fim_server.fakes.deepseek import FakeDeepSeek, Reply
from fim_server.providers.catalog import LOOPBACK
from fim_server.settings import PROVIDER_DEFAULTS

from .tools import CODE_SERVER, PLAYWRIGHT, ROOT, VSCODE_DIR, free_port, need, server_wrapper, which

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOT = ROOT / "docs" / "ghost-text.png"
API_KEY = "sk-vscode-e2e-SECRET-7788"
ANSWER = "a + b"


def test_the_extension_has_the_servers_version():
    """One version: fim_server.__version__ (pyproject reads it); the release command
    copies it into package.json and its lock file and checks that they agree."""
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "release.py"), "--check"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    package = json.loads((VSCODE_DIR / "package.json").read_text())
    assert package["version"] == fim_server.__version__
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject and 'attr = "fim_server.__version__"' in pyproject
    cli = subprocess.run([sys.executable, "-m", "fim_server", "--version"], capture_output=True, text=True, cwd=ROOT)
    assert cli.stdout.strip() == f"fim-server {fim_server.__version__}"


def test_the_extension_knows_each_providers_address_and_key_variable():
    """providers.ts repeats PROVIDER_DEFAULTS (the extension decides where a key may
    go before the server runs): the two tables agree."""
    source = (VSCODE_DIR / "src" / "providers.ts").read_text()
    for name, defaults in PROVIDER_DEFAULTS.items():
        line = re.search(rf"^\s+{name}: \{{(.*)\}},$", source, re.M)
        assert line, name
        assert f'baseUrl: "{defaults.base_url}"' in line.group(1), name
        assert f'keyEnv: "{defaults.key_env}"' in line.group(1), name
        assert f"keyRequired: {str(defaults.key_required).lower()}" in line.group(1), name
        hosts = re.search(r"keyHosts: (\[[^\]]*\]|LOOPBACK)", line.group(1)).group(1)
        loopback = json.dumps(list(LOOPBACK))[1:-1]
        hosts = f"[{loopback}]" if hosts == "LOOPBACK" else hosts.replace("...LOOPBACK", loopback)
        assert tuple(json.loads(hosts)) == defaults.key_hosts, name  # the environment's key goes where the server sends it


def build_vsix(out: Path) -> Path:
    need((VSCODE_DIR / "node_modules" / "vscode-languageclient").is_dir(), "the extension's npm packages are not installed (npm ci in editors/vscode)")
    subprocess.run(["npm", "run", "-s", "compile"], cwd=VSCODE_DIR, check=True, timeout=300)
    vsix = out / "fim-server.vsix"
    subprocess.run(
        ["npx", "--no-install", "vsce", "package", "--skip-license", "--allow-missing-repository", "-o", str(vsix)],
        cwd=VSCODE_DIR, check=True, timeout=300, capture_output=True,
    )
    return vsix


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"code-server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError("code-server did not answer in time")


@pytest.fixture
def tools():
    need(which("node") is not None and which("npm") is not None, "Node.js and npm are not installed")
    need(Path(CHROMIUM).exists(), f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    need(CODE_SERVER.exists() and PLAYWRIGHT.is_dir(), "code-server/playwright-core are not installed (editors/vscode/e2e/install.sh)")


def test_ghost_text_in_code_server_and_tab_accepts(tools, tmp_path):
    vsix = build_vsix(tmp_path)
    user_data, extensions, workspace = tmp_path / "user", tmp_path / "ext", tmp_path / "ws"
    for d in (user_data / "User", user_data / "Machine", extensions, workspace):
        d.mkdir(parents=True)
    source = workspace / "add.py"
    source.write_text("def add(a, b):\n    return")
    env = {k: v for k, v in os.environ.items() if k != "DEEPSEEK_API_KEY"}
    env["HOME"] = str(tmp_path)
    subprocess.run(
        [str(CODE_SERVER), "--user-data-dir", str(user_data), "--extensions-dir", str(extensions), "--install-extension", str(vsix)],
        check=True, timeout=180, env=env, capture_output=True,
    )
    with FakeDeepSeek(api_key=API_KEY) as fake:
        fake.push(*[Reply(text=ANSWER) for _ in range(20)])
        # serverPath is machine scope: code-server reads it from the remote machine's settings
        (user_data / "Machine" / "settings.json").write_text(json.dumps({"fimServer.serverPath": str(server_wrapper(tmp_path))}))
        settings = {
            "fimServer.baseUrl": fake.url,
            "fimServer.debounceMs": 50,
            "workbench.startupEditor": "none",
            "workbench.tips.enabled": False,
            "security.workspace.trust.enabled": False,
            "telemetry.telemetryLevel": "off",
            "extensions.autoCheckUpdates": False,
            "extensions.autoUpdate": False,
            "editor.quickSuggestions": {"other": False, "comments": False, "strings": False},
            "editor.suggestOnTriggerCharacters": False,
            "editor.inlineSuggest.enabled": True,
            "files.autoSave": "off",
            "workbench.colorTheme": "Default Dark Modern",
        }
        (user_data / "User" / "settings.json").write_text(json.dumps(settings, indent=1))
        port = free_port()
        proc = subprocess.Popen(
            [
                str(CODE_SERVER), "--bind-addr", f"127.0.0.1:{port}", "--auth", "none",
                "--disable-telemetry", "--disable-update-check", "--disable-workspace-trust",
                "--disable-getting-started-override",
                "--user-data-dir", str(user_data), "--extensions-dir", str(extensions), str(workspace),
            ],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        try:
            url = f"http://127.0.0.1:{port}/?folder={workspace}"
            wait_http(f"http://127.0.0.1:{port}/healthz", proc)
            shot = tmp_path / "ghost.png"
            run = subprocess.run(
                ["node", str(VSCODE_DIR / "e2e" / "ghost.mjs"), url, "add.py", " ", ANSWER, str(shot), API_KEY],
                cwd=VSCODE_DIR / "e2e", capture_output=True, text=True, timeout=400, env={**env, "CHROMIUM": CHROMIUM},
            )
            print(run.stderr)  # the driver's steps with their times (shown with -s or on failure)
            assert run.returncode == 0, run.stderr[-4000:]
            seen = json.loads(run.stdout.strip().splitlines()[-1])
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        requests = fake.completion_requests()
    # the ghost text is the provider's answer, the key came from secret storage
    assert seen["shown"].replace("\u00a0", " ").strip() == ANSWER
    # no fim-server error or warning (the first-run notice and the key check's answer are expected)
    expected_notes = ("needs an API key", "accepted the key")
    assert not [n for n in seen["notifications"] if "fim-server" in n and not any(e in n for e in expected_notes)], seen["notifications"]
    # Tab ran the item's accept command: the server counted it
    assert re.search(r"\b1 accepted\b", seen["stats"]), seen["stats"]
    # the extension reports the suggestions it shows (textDocument/didShowCompletion)
    assert re.search(r"\b[1-9]\d* shown\b", seen["stats"]), seen["stats"]
    assert requests and requests[-1].headers["authorization"] == f"Bearer {API_KEY}"
    assert source.read_text() == "def add(a, b):\n    return " + ANSWER
    # with the key cleared from secret storage the server has none: the status bar
    # shows the error with the server's reason
    assert "no API key for DeepSeek" in seen["errorTooltip"], seen["errorTooltip"]
    # the key never lands in a settings file
    assert API_KEY not in (user_data / "User" / "settings.json").read_text()
    if os.environ.get("FIM_UPDATE_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copy(shot, SCREENSHOT)
