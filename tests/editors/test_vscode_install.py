"""From the release to the first ghost text (issue 12): the release command builds
the wheel, the sdist and the .vsix carrying the wheel; code-server with only that
.vsix (no fim-server on PATH, no serverPath) installs the server into a private
venv, shows the first-run notice at activation, stores the key given through it,
checks it with one request, and then shows ghost text from the fake provider."""

from __future__ import annotations

import os
import re
import shutil
import tarfile
import zipfile

import pytest

import fim_server
from fim_server.fakes.deepseek import FakeDeepSeek, Reply

from .code_server import WHEELHOUSE, CodeServer, need_tools, path_without_fim_server, release
from .tools import ROOT, need

# the release (up to 600 s) and the first run (install, then a drive of up to 700 s)
# fail with their own errors before the run's time limit would end them
pytestmark = pytest.mark.timeout(1800)

API_KEY = "sk-firstrun-e2e-CANARY-4242"
WRONG_KEY = "sk-firstrun-e2e-WRONG-0000"
ANSWER = "a + b"
FIRST_RUN_SHOT = ROOT / "docs" / "first-run.png"
GHOST_SHOT = ROOT / "docs" / "ghost-text.png"


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory):
    need_tools()
    return release(tmp_path_factory.mktemp("dist"))


def test_release_builds_wheel_sdist_and_a_vsix_that_carries_the_wheel(artefacts):
    version = fim_server.__version__
    assert artefacts["wheel"].name == f"fim_server-{version}-py3-none-any.whl"
    assert artefacts["sdist"].name == f"fim_server-{version}.tar.gz"
    assert artefacts["vsix"].name == f"fim-server-{version}.vsix"
    with zipfile.ZipFile(artefacts["vsix"]) as vsix:
        names = vsix.namelist()
        manifest = vsix.read("extension/package.json").decode()
    assert f"extension/server/{artefacts['wheel'].name}" in names
    assert f'"version": "{version}"' in manifest
    assert not [n for n in names if "/e2e/" in n or n.endswith(".ts") and not n.endswith(".d.ts")]
    with zipfile.ZipFile(artefacts["wheel"]) as wheel:
        assert "fim_server/lsp/server.py" in wheel.namelist()
    with tarfile.open(artefacts["sdist"]) as sdist:
        assert f"fim_server-{version}/pyproject.toml" in sdist.getnames()


def test_the_vsix_alone_installs_its_server_and_the_first_run_notice_leads_to_ghost_text(artefacts, tmp_path):
    need(WHEELHOUSE.is_dir() and any(WHEELHOUSE.glob("pygls-*.whl")), "the server's wheels are not downloaded (editors/vscode/e2e/install.sh)")
    path = path_without_fim_server()
    env = {"PATH": path, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(WHEELHOUSE), "PIP_CONSTRAINT": ""}
    workspace = tmp_path / "ws"
    with CodeServer(tmp_path, workspace, env) as cs, FakeDeepSeek(api_key=API_KEY) as fake:
        assert shutil.which("fim-server", path=path) is None
        (workspace / "add.py").write_text("def add(a, b):\n    return")
        cs.install(artefacts["vsix"])
        # the first completion call meets a rate limit (retry after 3 s), then answers
        fake.push(Reply.rate_limited(retry_after=3), *[Reply(text=ANSWER) for _ in range(20)])
        # no serverPath anywhere; the user's own settings name the (fake) provider
        cs.settings({"fimServer.baseUrl": fake.url, "fimServer.debounceMs": 50})
        url = cs.start()
        seen = cs.drive("firstrun.mjs", url, "add.py", " ", str(tmp_path), API_KEY, WRONG_KEY, timeout=700)
        requests = list(fake.requests)
        host = fake.url.split("//")[1].split("/")[0]
    venv = tmp_path / "user" / "User" / "globalStorage" / "fim-server.fim-server" / "server-venv"
    # the private server came from the wheel the .vsix carries
    assert (venv / "bin" / "fim-server").exists(), list(venv.parent.iterdir()) if venv.parent.exists() else "no global storage"
    assert (venv / "fim-server-wheel.txt").read_text().strip() == artefacts["wheel"].name
    assert seen["sawInstall"], "no progress notification while the server was installed"
    assert "private venv" in seen["status"] and f"fim-server {fim_server.__version__}, server {fim_server.__version__}" in seen["status"]
    # the first-run notice came at activation, before any typing, and named the provider
    assert "DeepSeek" in seen["noticeText"] and "Use a local model" in seen["noticeText"] and "Not now" in seen["noticeText"]
    assert "DeepSeek" in seen["prompt"] and "platform.deepseek.com" in seen["prompt"]
    # one request checked each key (the model list: nothing generated): the wrong one
    # gave a toast with the same Set API key button, gone once the right one worked
    assert [(r.method, r.bearer) for r in requests[:2]] == [("GET", WRONG_KEY), ("GET", API_KEY)]
    assert "rejected the API key (401)" in seen["rejectedText"] and "Set API key" in seen["rejectedText"]
    assert WRONG_KEY not in seen["rejectedText"]
    assert seen["rejectedAfter"] == 0, "the 401 toast stayed after the key was accepted"
    assert "accepted the key" in seen["checkText"]
    # a rate limit is a warning with the seconds until the retry, not an error
    assert "rate limit" in seen["rateStatus"] and "Retrying in" in seen["rateStatus"], seen["rateStatus"]
    assert re.search(r"FIM [1-3]s", seen["rateText"]) and seen["rateIsError"] == 0, seen["rateText"]
    # then completions, always with the key
    assert seen["shown"].strip() == ANSWER
    completions = [r for r in requests if r.is_completion]
    assert len(completions) >= 2 and all(r.bearer == API_KEY for r in completions)
    assert (workspace / "add.py").read_text() == "def add(a, b):\n    return " + ANSWER
    # the status menu and the counted suggestion
    for entry in ("Snooze for 5 minutes", "Snooze for 30 minutes", "Snooze for 60 minutes", "Disable for python",
                  "Disable everywhere", "Set API key", "Show log", "Show stats", "Restart server"):
        assert any(entry in m for m in seen["menu"]), (entry, seen["menu"])
    assert re.search(r"\b[1-9]\d* shown\b", seen["stats"]) and re.search(r"\b1 accepted\b", seen["stats"]), seen["stats"]
    assert "off for python" in seen["languageOff"] and "snoozed for 30 more minutes" in seen["snoozed"], (seen["languageOff"], seen["snoozed"])
    # with the key cleared the status item says so, with the provider and its host
    assert f"no API key for DeepSeek ({host})" in seen["noKeyStatus"], seen["noKeyStatus"]
    # the key stays in secret storage
    for settings in (tmp_path / "user").rglob("settings.json"):
        assert API_KEY not in settings.read_text()
    if os.environ.get("FIM_UPDATE_SCREENSHOT") == "1":
        shutil.copy(tmp_path / "first-run.png", FIRST_RUN_SHOT)
        shutil.copy(tmp_path / "ghost.png", GHOST_SHOT)


def test_a_server_that_cannot_be_found_is_one_error_with_its_buttons(artefacts, tmp_path):
    missing = tmp_path / "nowhere" / "fim-server"
    with CodeServer(tmp_path, tmp_path / "ws") as cs:
        cs.install(artefacts["vsix"])
        cs.settings({}, machine={"fimServer.serverPath": str(missing)})
        seen = cs.drive("noserver.mjs", cs.start(), str(tmp_path))
    assert len(seen["toasts"]) == 1, seen["toasts"]
    assert str(missing) in seen["toasts"][0] and "was not found" in seen["toasts"][0]
    assert seen["buttons"] == ["Locate fim-server…", "Show log", "How to install"], seen["buttons"]
    assert "cannot start the server" in seen["status"]
