"""A cloned repository must not get the user's key or run its own program
(issue 18), in code-server with the extension: the opened folder carries a
.vscode/settings.json naming its own provider address (a second fake) and its own
server program (a script that leaves a marker). Nothing reaches the folder's
address and the script never runs until the user answers; completions keep coming
from the user's own settings (in an untrusted window nobody is even asked); after
*Allow for this folder* they go to the folder's address with the key; the answer
survives a restart."""

from __future__ import annotations

import json

import pytest

from fim_server.fakes.deepseek import FakeDeepSeek, Reply

from .code_server import CodeServer, build_vsix, need_tools
from .tools import server_wrapper

# the .vsix build (up to 2 x 300 s), the install (180 s) and a drive (500 s) fail
# with their own errors before the run's time limit would end them
pytestmark = pytest.mark.timeout(1800)

API_KEY = "sk-folder-e2e-CANARY-5151"
USER_ANSWER = "a + b"
FOLDER_ANSWER = "b + a"


@pytest.fixture
def tools():
    need_tools()


def test_a_folder_cannot_redirect_the_key_or_start_its_program(tools, tmp_path):
    vsix = build_vsix(tmp_path)
    workspace, marker, profile = tmp_path / "ws", tmp_path / "folder-program-ran", tmp_path / "chromium-profile"
    (workspace / ".vscode").mkdir(parents=True)
    (workspace / "tools").mkdir()
    (workspace / "add.py").write_text("def add(a, b):\n    return")
    program = workspace / "tools" / "fim-server"
    # the hostile program: leaves a mark, then runs the real server so nothing looks wrong
    program.write_text(f"#!/bin/sh\ntouch '{marker}'\nexec '{server_wrapper(tmp_path)}' \"$@\"\n")
    program.chmod(0o755)
    with (
        CodeServer(tmp_path, workspace) as cs,
        FakeDeepSeek(default=Reply(text=USER_ANSWER), api_key=API_KEY) as user_fake,
        FakeDeepSeek(default=Reply(text=FOLDER_ANSWER)) as folder_fake,
    ):
        (workspace / ".vscode" / "settings.json").write_text(
            json.dumps({"fimServer.baseUrl": folder_fake.url, "fimServer.serverPath": "tools/fim-server"})
        )
        cs.install(vsix)
        cs.settings(
            {"fimServer.baseUrl": user_fake.url, "fimServer.debounceMs": 50},
            machine={"fimServer.serverPath": str(server_wrapper(tmp_path))},
        )
        # an untrusted window (Restricted Mode): the folder's settings are not used
        # and nobody is asked; completions come from the user's settings
        url = cs.start(trust=True)
        untrusted = cs.drive("folder.mjs", "untrusted", url, "add.py", str(tmp_path), str(profile), API_KEY)
        assert untrusted["restricted"] >= 1, "the window is not in Restricted Mode"
        assert untrusted["shown"].strip() == USER_ANSWER
        assert not [t for t in untrusted["toasts"] if "this folder's settings" in t], untrusted["toasts"]
        assert folder_fake.requests == [] and not marker.exists()
        cs.stop()

        # a trusted window: asked, and until the user answers nothing goes to the folder's host
        url = cs.start()
        before = cs.drive("folder.mjs", "before", url, "add.py", str(tmp_path), str(profile), API_KEY)
        # asked, not answered: the folder's address got nothing, its program never ran,
        # completions came from the user's own provider with the key
        assert "this folder's settings (fimServer.baseUrl)" in before["question"], before["question"]
        assert folder_fake.url.split("//")[1].split("/")[0] in before["question"]
        assert folder_fake.requests == []
        assert not marker.exists()
        assert before["shown"].strip() == USER_ANSWER
        assert user_fake.completion_requests() and all(r.bearer == API_KEY for r in user_fake.requests)

        allowed = cs.drive("folder.mjs", "allow", url, "add.py", str(tmp_path), str(profile))
        assert allowed["shown"].strip() == FOLDER_ANSWER
        sent = folder_fake.completion_requests()
        assert sent and all(r.bearer == API_KEY for r in sent)
        assert "from this folder's settings: baseUrl" in allowed["status"], allowed["status"]

        cs.stop()
        seen_before_restart = len(folder_fake.requests)
        url = cs.start()
        restarted = cs.drive("folder.mjs", "restart", url, "add.py", str(tmp_path), str(profile))
        assert not [t for t in restarted["toasts"] if "this folder's settings" in t], restarted["toasts"]
        assert restarted["shown"].strip() == FOLDER_ANSWER
        assert len(folder_fake.requests) > seen_before_restart
        assert all(r.bearer == API_KEY for r in folder_fake.requests)
    assert not marker.exists(), "the folder's serverPath ran"
