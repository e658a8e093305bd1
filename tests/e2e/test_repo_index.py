"""The repository index end to end (issue 14, done-when): a workspace on disk, the
real server over stdio, the fake DeepSeek on 127.0.0.1.

- a definition from a file nobody opened reaches the provider's prompt;
- ignored (.gitignore) and excluded (built-in secret files, excludeGlobs, the
  editor's files.exclude) files are
  never opened by the server process at all (a Python audit hook in the server
  records every file it opens and every folder it lists; a folder the exclusions
  hide whole is never listed, nor its .gitignore opened) and their canary never
  appears in a request or log;
- a deleted file (watched-file event) leaves the index and the prompt;
- a 3,000-file workspace does not hold up the first completion.
"""

from __future__ import annotations

import os
from pathlib import Path
import time

from fim_server.fakes.deepseek import FakeDeepSeek, Reply

from .rawlsp import RawServer, server_env

API_KEY = "sk-e2e-repo-index-KEY-5151"
CANARY = "CANARY_SECRET_REPO_9931"
AUDIT_HOOK = '''import os, sys
_log = os.environ.get("FIM_TEST_OPEN_LOG")
_prefix = os.environ.get("FIM_TEST_OPEN_PREFIX", "")
if _log:
    _out = open(_log, "a", buffering=1)
    def _hook(event, args):
        if event in ("open", "os.scandir", "os.listdir") and args and isinstance(args[0], (str, bytes)):
            path = os.fsdecode(args[0])
            if path.startswith(_prefix):
                _out.write(("" if event == "open" else "LIST ") + path + "\\n")
    sys.addaudithook(_hook)
'''


class Server(RawServer):
    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.server_requests: list[dict] = []
        super().__init__(*args, env=env)

    files_exclude: dict | None = None  # the editor's files.exclude, answered to workspace/configuration

    def on_request(self, message: dict) -> object:
        self.server_requests.append(message)
        if message.get("method") == "workspace/configuration":
            items = message["params"]["items"]
            return [self.files_exclude if item.get("section") == "files.exclude" else None for item in items]
        return super().on_request(message)

    def initialize_folder(self, folder: Path, options: dict) -> None:
        caps = {
            "textDocument": {"inlineCompletion": {}, "synchronization": {"didSave": True}},
            "workspace": {"didChangeWatchedFiles": {"dynamicRegistration": True}, "workspaceFolders": True,
                          "configuration": self.files_exclude is not None},
        }
        self.request("initialize", {
            "processId": None, "rootUri": folder.as_uri(), "capabilities": caps,
            "workspaceFolders": [{"uri": folder.as_uri(), "name": folder.name}],
            "initializationOptions": {"speculativeNext": False, "inflightReuse": False, **options},
        })
        self.notify("initialized", {})

    def wait_indexed(self, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            stats = self.stats()
            if stats.get("repo_walked"):
                return stats
            time.sleep(0.05)
        raise TimeoutError("the index did not finish")


def start_server(tmp_path: Path, workspace: Path, fake: FakeDeepSeek, files_exclude: dict | None = None,
                 **options) -> tuple[Server, Path]:
    hooks = tmp_path / "hooks"
    hooks.mkdir(exist_ok=True)
    (hooks / "sitecustomize.py").write_text(AUDIT_HOOK)
    opened = tmp_path / "opened.log"
    env = server_env(PYTHONPATH=str(hooks), FIM_TEST_OPEN_LOG=str(opened), FIM_TEST_OPEN_PREFIX=str(workspace))
    Server.files_exclude = files_exclude
    server = Server("-v", env=env)
    server.initialize_folder(workspace, {"baseUrl": fake.url, "apiKey": API_KEY, "debounceMs": 0, "syntaxCheck": False,
                                         **options})
    return server, opened


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


MAIN = "from shapes.geometry import polygon_area_with_holes\n\n\ndef total(rings):\n    return polygon_area_with_holes(\n"


def test_definitions_of_unopened_files_reach_the_prompt_and_private_files_are_never_read(tmp_path):
    ws = tmp_path / "ws"
    write(ws, {
        ".gitignore": "generated/\nlocal_notes.py\n",
        "shapes/__init__.py": "",
        "shapes/geometry.py": "def polygon_area_with_holes(outer, holes=()):\n    \"\"\"Shoelace area minus the holes.\"\"\"\n"
                              "    return 0.0\n",
        "generated/polygon_area_with_holes.py": f"def polygon_area_with_holes():\n    return '{CANARY}'\n",
        "local_notes.py": f"# polygon_area_with_holes {CANARY}\n",
        "private/keys.py": f"def polygon_area_with_holes():\n    return '{CANARY}'\n",
        "private/.gitignore": "!*\n",
        "scratch/tmpbuild/.gitignore": "!*\n",
        ".env": f"POLYGON={CANARY}\n",
        "config.pem": f"{CANARY}\n",
        "scratch/tmpbuild/gen.py": f"def polygon_area_with_holes():\n    return '{CANARY}'\n",
        "main.py": MAIN,
    })
    with FakeDeepSeek(api_key=API_KEY, default=Reply(text="outer, holes)")) as fake:
        server, opened = start_server(tmp_path, ws, fake, files_exclude={"**/tmpbuild": True, "**/.git": True},
                                      excludeGlobs=["private/**"])
        with server:
            stats = server.wait_indexed()
            assert stats["repo_files"] == 2  # shapes/geometry.py, main.py (an empty __init__.py has nothing)
            assert any(r.get("method") == "client/registerCapability" for r in server.server_requests)
            server.open((ws / "main.py").as_uri(), MAIN)
            assert server.inline((ws / "main.py").as_uri(), 4, 35) == ["outer, holes)"]
            bodies = [r.raw_body.decode("utf-8", "replace") for r in fake.completion_requests()]
            assert bodies and bodies[-1].count("def polygon_area_with_holes(outer, holes=()):") == 1
            assert "shapes/geometry.py" in bodies[-1]

            # deleted on disk: out of the index and of the next prompt
            (ws / "shapes/geometry.py").unlink()
            server.notify("workspace/didChangeWatchedFiles",
                          {"changes": [{"uri": (ws / "shapes/geometry.py").as_uri(), "type": 3}]})
            deadline = time.monotonic() + 10
            while server.stats()["repo_files"] != 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert server.stats()["repo_files"] == 1
            before = len(fake.completion_requests())
            server.change((ws / "main.py").as_uri(), 2, (4, 35), (4, 35), "x")  # not what was suggested
            server.inline((ws / "main.py").as_uri(), 4, 36)
            assert len(fake.completion_requests()) == before + 1
            last = fake.completion_requests()[-1].raw_body.decode("utf-8", "replace")
            assert "def polygon_area_with_holes(outer" not in last
            output = server.all_output()
        everything = "\n".join(r.raw_body.decode("utf-8", "replace") for r in fake.requests) + output
        assert CANARY not in everything
        reads = set(opened.read_text().split("\n")) if opened.exists() else set()
        assert str(ws / "shapes" / "geometry.py") in reads  # the hook does see the server's reads
        never = ["generated/polygon_area_with_holes.py", "local_notes.py", "private/keys.py", ".env", "config.pem",
                 "scratch/tmpbuild/gen.py"]
        assert not [p for p in never if str(ws / p) in reads]
        assert "LIST " + str(ws / "shapes") in reads  # the hook does see the folders listed
        hidden = [str(ws / "private"), str(ws / "scratch" / "tmpbuild")]  # excludeGlobs private/**, files.exclude
        assert not [r for r in reads if any(r.removeprefix("LIST ").startswith(h) for h in hidden)]


def test_a_large_workspace_does_not_hold_up_the_first_completion(tmp_path):
    ws = tmp_path / "big"
    body = "".join(f"def helper_{{n}}_{i}(value):\n    return value + {i}\n\n" for i in range(40))
    for d in range(30):
        folder = ws / f"pkg{d}"
        folder.mkdir(parents=True)
        for f in range(100):
            (folder / f"mod{f}.py").write_text(body.replace("{n}", f"{d}_{f}"), encoding="utf-8")
    write(ws, {"main.py": "def main():\n    return \n"})
    with FakeDeepSeek(api_key=API_KEY, default=Reply(text="42")) as fake:
        server, _ = start_server(tmp_path, ws, fake)
        with server:
            server.open((ws / "main.py").as_uri(), "def main():\n    return \n")
            # answered while the 3,001 files are still being indexed: the completion did not wait
            assert server.inline((ws / "main.py").as_uri(), 1, 11) == ["42"]
            during = server.stats()
            assert not during["repo_walked"] and during["repo_files"] < 3001
            stats = server.wait_indexed(timeout=240)
            assert stats["repo_files"] == 3001
    assert os.path.exists(ws / "main.py")


def test_a_file_that_becomes_excluded_leaves_the_index_and_the_prompt(tmp_path):
    ws = tmp_path / "ws"
    write(ws, {
        "shapes/__init__.py": "",
        "shapes/geometry.py": "def polygon_area_with_holes(outer, holes=()):\n    return 0.0\n",
        "main.py": MAIN,
    })
    with FakeDeepSeek(api_key=API_KEY, default=Reply(text="outer)")) as fake:
        server, _ = start_server(tmp_path, ws, fake)
        with server:
            assert server.wait_indexed()["repo_files"] == 2
            server.notify("workspace/didChangeConfiguration", {"settings": {"fimServer": {"excludeGlobs": ["shapes/**"]}}})
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not (server.stats().get("repo_walked") and server.stats()["repo_files"] == 1):
                time.sleep(0.05)
            assert server.stats()["repo_files"] == 1
            server.open((ws / "main.py").as_uri(), MAIN)
            server.inline((ws / "main.py").as_uri(), 4, 35)
            body = fake.completion_requests()[-1].raw_body.decode("utf-8", "replace")
            assert "polygon_area_with_holes(outer, holes=())" not in body


def test_files_exclude_is_read_again_when_the_configuration_changes(tmp_path):
    ws = tmp_path / "ws"
    write(ws, {
        "shapes/__init__.py": "",
        "shapes/geometry.py": "def polygon_area_with_holes(outer, holes=()):\n    return 0.0\n",
        "main.py": MAIN,
    })

    def files_in_index(n: int) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (server.stats().get("repo_walked") and server.stats()["repo_files"] == n):
            time.sleep(0.05)
        assert server.stats()["repo_files"] == n

    typed = []

    def prompt() -> str:  # one more character typed each time: a new request, not the cache
        typed.append("x")
        column = 35 + len(typed)
        server.change((ws / "main.py").as_uri(), len(typed) + 1, (4, column - 1), (4, column - 1), "x")
        before = len(fake.completion_requests())
        server.inline((ws / "main.py").as_uri(), 4, column)
        assert len(fake.completion_requests()) == before + 1
        return fake.completion_requests()[-1].raw_body.decode("utf-8", "replace")

    with FakeDeepSeek(api_key=API_KEY, default=Reply(text="outer)")) as fake:
        server, _ = start_server(tmp_path, ws, fake, files_exclude={})
        with server:
            files_in_index(2)
            server.open((ws / "main.py").as_uri(), MAIN)
            assert "polygon_area_with_holes(outer, holes=())" in prompt()
            # the editor now hides the folder: VS Code's extension says the configuration changed
            server.files_exclude = {"**/shapes": True}
            server.notify("workspace/didChangeConfiguration", {"settings": None})
            files_in_index(1)
            assert "polygon_area_with_holes(outer, holes=())" not in prompt()
            # and shows it again (a pushed section: Neovim's way, the re-read happens too)
            server.files_exclude = {"**/shapes": False}
            server.notify("workspace/didChangeConfiguration", {"settings": {"fimServer": {"debounceMs": 0}}})
            files_in_index(2)
            assert "polygon_area_with_holes(outer, holes=())" in prompt()


def test_a_folder_added_later_is_read_under_files_exclude_and_never_the_home_folder(tmp_path):
    """didChangeWorkspaceFolders: the new folder's files are indexed, but not one
    ``files.exclude`` hides (it used to be judged against the first folders only, so
    nothing in an added folder was hidden), and an added home folder is not walked."""
    ws = tmp_path / "ws"
    home = tmp_path / "home"
    write(ws, {
        "one/main.py": MAIN,
        "two/shapes/geometry.py": "def polygon_area_with_holes(outer, holes=()):\n    return 0.0\n",
        "two/tmpbuild/gen.py": f"def polygon_area_with_holes():\n    return '{CANARY}'\n",
    })
    write(home, {"notes.py": f"SECRET = '{CANARY}'\n"})
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(AUDIT_HOOK)
    opened = tmp_path / "opened.log"
    env = server_env(PYTHONPATH=str(hooks), FIM_TEST_OPEN_LOG=str(opened), FIM_TEST_OPEN_PREFIX=str(tmp_path),
                     HOME=str(home))
    Server.files_exclude = {"**/tmpbuild": True}
    with FakeDeepSeek(api_key=API_KEY, default=Reply(text="outer)")) as fake:
        server = Server("-v", env=env)
        server.initialize_folder(ws / "one", {"baseUrl": fake.url, "apiKey": API_KEY, "debounceMs": 0,
                                              "syntaxCheck": False})
        with server:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not server.stats().get("repo_walked"):
                time.sleep(0.05)
            assert server.stats()["repo_files"] == 1
            server.notify("workspace/didChangeWorkspaceFolders", {"event": {
                "added": [{"uri": (ws / "two").as_uri(), "name": "two"}, {"uri": home.as_uri(), "name": "home"}],
                "removed": []}})
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and server.stats()["repo_files"] < 2:
                time.sleep(0.05)
            time.sleep(1.0)  # were the hidden file or the home folder read, they would be by now
            assert server.stats()["repo_files"] == 2
            server.open((ws / "one" / "main.py").as_uri(), MAIN)
            server.inline((ws / "one" / "main.py").as_uri(), 4, 35)
            body = fake.completion_requests()[-1].raw_body.decode("utf-8", "replace")
            assert "polygon_area_with_holes(outer, holes=())" in body
            assert CANARY not in body
    reads = set(opened.read_text().split("\n")) if opened.exists() else set()
    assert str(ws / "two" / "shapes" / "geometry.py") in reads
    assert not [r for r in reads if str(ws / "two" / "tmpbuild") in r]  # not even listed
    assert not [r for r in reads if r.startswith(str(home))]


def test_complete_with_a_workspace_folder_sends_its_definitions_and_never_an_excluded_file(tmp_path):
    """``fim-server complete FILE:LINE:COL --workspace DIR``: the definition from an
    unopened file of DIR reaches the request; a secret file and a gitignored one in
    DIR do not; without the option no definition; the home folder is refused."""
    import subprocess
    import sys

    from .rawlsp import ROOT

    ws = tmp_path / "ws"
    write(ws, {
        ".gitignore": "generated/\n",
        "shapes/__init__.py": "",
        "shapes/geometry.py": "def polygon_area_with_holes(outer, holes=()):\n    return 0.0\n",
        "generated/polygon_area_with_holes.py": f"def polygon_area_with_holes():\n    return '{CANARY}'\n",
        ".env": f"POLYGON={CANARY}\n",
        "main.py": MAIN,
    })
    home = tmp_path / "home"
    home.mkdir()

    def complete(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "fim_server", "complete", f"{ws / 'main.py'}:5:35",
                               "--set", f"baseUrl={fake.url}", "--set", f"apiKey={API_KEY}", *extra],
                              cwd=ROOT, capture_output=True, text=True, timeout=120, env=server_env(HOME=str(home)))

    with FakeDeepSeek(api_key=API_KEY, default=Reply(text="outer)")) as fake:
        with_folder = complete("--workspace", str(ws))
        assert with_folder.returncode == 0, with_folder.stderr
        assert with_folder.stdout.strip() == "outer)"
        sent = fake.completion_requests()[-1].raw_body.decode("utf-8", "replace")
        assert "polygon_area_with_holes(outer, holes=())" in sent
        assert CANARY not in sent and CANARY not in with_folder.stdout + with_folder.stderr
        without = complete()
        assert without.returncode == 0, without.stderr
        assert "polygon_area_with_holes(outer, holes=())" not in fake.completion_requests()[-1].raw_body.decode()
        off = complete("--workspace", str(ws), "--set", "repoContext=false")
        assert off.returncode == 0 and "holes=())" not in fake.completion_requests()[-1].raw_body.decode()
        sent_so_far = len(fake.completion_requests())
        refused = complete("--workspace", str(home))
        assert refused.returncode == 2 and "home folder" in refused.stderr
        assert len(fake.completion_requests()) == sent_so_far
