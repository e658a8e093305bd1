"""A folder the exclusions hide whole (the privacy exclusions' ``folder/**``, the
editor's ``files.exclude``) is never listed or entered by the index: not its
files, not its ``.gitignore`` or ``.git/info/exclude``, not its subfolders. Proved
with an audit hook (``open``, ``os.scandir``, ``os.listdir``) in a fresh process."""

from __future__ import annotations

import json
from pathlib import Path
import subprocess
import sys

import pytest

from fim_server.core.privacy import exclusion_reason, folder_exclusion
from fim_server.settings import Settings

SCRIPT = r'''
import json, os, sys
root, log = sys.argv[1], []

def hook(event, args):
    if event in ("open", "os.scandir", "os.listdir") and args and isinstance(args[0], (str, bytes)):
        path = os.path.abspath(os.fsdecode(args[0]))
        if path.startswith(root):
            log.append([event, path])

from dataclasses import replace
from fim_server.core.repo.walker import Ignores, admissible, hidden_by_globs
from fim_server.core.workspace import Workspace
from fim_server.settings import Settings
from fim_server.tools.folder import enterable, readable

settings = replace(Settings(), exclude_globs=["private/**"])
files_exclude = ("**/hidden",)  # as lsp/repo.py gets them from the editor
read, enter = readable(settings), enterable(settings)
may_read = lambda p, lang: read(p, lang) and not hidden_by_globs(p, [root], files_exclude)
may_enter = lambda p: enter(p) and not hidden_by_globs(p, [root], files_exclude)
sys.addaudithook(hook)
workspace = Workspace()
workspace.start_index([root], may_read, 1000, background=False, may_enter=may_enter)
indexed = sorted(os.path.relpath(p, root) for p in workspace.repo.files)
# a watched-file event or a save for a file in a hidden folder
events = [admissible(os.path.join(root, p), [root], may_read, Ignores(), may_enter)
          for p in ("hidden/sub/deep.py", "private/keys.py", "keep/a.py")]
print(json.dumps({"log": log, "indexed": indexed, "events": events}))
'''


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_a_hidden_folder_is_never_listed_or_entered(tmp_path):
    ws = tmp_path / "ws"
    inside = {
        ".gitignore": "!*.py\n", ".git/info/exclude": "nothing\n", "c.py": "def c():\n    pass\n",
        "sub/deep.py": "def deep():\n    pass\n", "sub/.gitignore": "x\n",
    }
    write(ws, {"keep/a.py": "def a():\n    pass\n", "keep/.gitignore": "*.tmp\n", "top.py": "X = 1\n"})
    write(ws, {f"hidden/{name}": text for name, text in inside.items()})  # files.exclude **/hidden
    write(ws, {f"keep/hidden/{name}": text for name, text in inside.items()})  # the same glob, deeper
    write(ws, {f"private/{name}": text for name, text in inside.items()})  # excludeGlobs private/**
    write(ws, {"private/keys.py": "KEY = 1\n"})
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(ws)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    found = json.loads(run.stdout)
    assert found["indexed"] == ["keep/a.py", "top.py"]
    assert found["events"] == [None, None, "python"]
    touched = {(event, path) for event, path in found["log"]}
    # the hook sees the walk: the folders it lists and the files it opens
    assert ("os.scandir", str(ws / "keep")) in touched and ("open", str(ws / "keep" / "a.py")) in touched
    assert ("open", str(ws / "keep" / ".gitignore")) in touched
    hidden = [str(ws / "hidden"), str(ws / "keep" / "hidden"), str(ws / "private")]
    assert not [(e, p) for e, p in touched if any(p == h or p.startswith(h + "/") for h in hidden)]


@pytest.mark.parametrize("folder, globs, hidden", [
    ("/w/private", ["private/**"], True),
    ("/w/src/private", ["private/**"], True),
    ("/w/Private", ["private/**"], True),  # the exclusions ignore case
    ("/w/private", ["private/*.py"], False),  # only some of its files
    ("/w/private", ["private*"], False),  # a file name glob
    ("/w/privateer", ["private/**"], False),
    ("/w/a/b", ["a/b/**"], True),
    ("/w/x/a/b", ["/w/a/b/**"], False),  # anchored at the root of the file system
    ("/w/a/b", ["/w/a/b/**"], True),
    ("/w/.ssh", [], True),  # a built-in exclusion
    ("/w/src", [], False),
])
def test_folder_exclusion(folder, globs, hidden):
    settings = Settings(exclude_globs=globs)
    assert (folder_exclusion(Path(folder).as_uri(), settings) is not None) == hidden
    if hidden:  # never a folder whose files may be read
        for tail in ("x.py", "deep/er/y.ts", ".hidden.py"):
            assert exclusion_reason(Path(folder, tail).as_uri(), "python", settings) is not None
