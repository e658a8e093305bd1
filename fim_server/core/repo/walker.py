"""Which files of the workspace folders the index may read, found without reading
any other: ``.gitignore`` rules (a small matcher of git's pattern language), folders
that hold no code of the user's (``node_modules``, virtualenvs, build output, hidden
folders), files over 1 MB, unknown extensions, and whatever ``may_read(path)``
refuses (the privacy exclusions and disabled languages, asked before a file is
opened). A folder that ``may_enter(path)`` refuses (one the privacy exclusions or
the editor's ``files.exclude`` hide whole) is never listed or entered: not even its
``.gitignore`` is opened. Binary files are recognised by their first bytes
(``read_text``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
import os
import re
from typing import Any, Callable, Iterator

from fim_server.core.globs import compile_glob
from fim_server.core.language import EXTENSIONS
from fim_server.core.privacy import matching_glob

MAX_FILE_BYTES = 1_000_000
SKIP_DIRS = frozenset({
    "node_modules", "bower_components", "jspm_packages", "__pycache__", "site-packages", "venv",
    "build", "dist", "out", "target", "vendor", "coverage", "htmlcov", "__pypackages__",
})
BINARY_PROBE = 8192


@dataclass(frozen=True)
class Rule:
    pattern: Any  # re.Pattern or globs.StateMatcher: match(text)
    negated: bool
    dir_only: bool
    anchored: bool  # matched against the path from the .gitignore's folder, not the name


def parse_gitignore(text: str) -> list[Rule]:
    """The rules of one ``.gitignore`` file, in order (the last match wins)."""
    rules = []
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        if not line.strip() or line.startswith("#"):
            continue
        if not line.endswith("\\ "):
            line = line.rstrip(" ")
        negated = line.startswith("!")
        if negated:
            line = line[1:]
        elif line.startswith("\\!") or line.startswith("\\#"):
            line = line[1:]
        dir_only = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        anchored = "/" in line
        line = line.lstrip("/")
        try:
            pattern = compile_glob(line, escapes=True, git_brackets=True)
        except re.error:
            continue  # a pattern git would not understand either
        rules.append(Rule(pattern, negated, dir_only, anchored))
    return rules


class Ignores:
    """The ``.gitignore`` rules of the folders walked so far, by folder."""

    def __init__(self) -> None:
        self._rules: dict[str, list[Rule]] = {}

    def load(self, folder: str) -> None:
        if folder in self._rules:
            return
        rules: list[Rule] = []
        for name in (".gitignore", os.path.join(".git", "info", "exclude")):
            try:
                with open(os.path.join(folder, name), encoding="utf-8", errors="replace") as f:
                    rules += parse_gitignore(f.read(200_000))
            except OSError:
                pass
        self._rules[folder] = rules

    def forget(self, folder: str) -> None:
        self._rules.pop(folder, None)

    def ignored(self, path: str, is_dir: bool, root: str) -> bool:
        """Whether git ignores ``path`` (under ``root``): the rules of each folder
        from the root down, the last match deciding; a path in an ignored folder is
        ignored whatever the rules say about the path itself."""
        rel = os.path.relpath(path, root).replace(os.sep, "/")
        if rel.startswith(".."):
            return False
        parts = rel.split("/")
        for depth in range(1, len(parts) + 1):
            sub_is_dir = is_dir if depth == len(parts) else True
            if depth < len(parts) and (parts[depth - 1] in SKIP_DIRS or parts[depth - 1].startswith(".")):
                return True
            if self._decide(root, parts[:depth], sub_is_dir):
                return True
        return False

    def _decide(self, root: str, parts: list[str], is_dir: bool) -> bool:
        verdict = False
        folder = root
        for i in range(len(parts)):
            self.load(folder)
            rel = "/".join(parts[i:])
            name = parts[-1]
            for rule in self._rules[folder]:
                if rule.dir_only and not is_dir:
                    continue
                if rule.pattern.match(rel if rule.anchored else name):
                    verdict = not rule.negated
            folder = os.path.join(folder, parts[i])
        return verdict


def hidden_by_globs(path: str, roots: list[str], globs: tuple[str, ...]) -> bool:
    """Whether ``globs`` (the editor's ``files.exclude``, matched as the privacy
    exclusions are: a name, or a tail of the path below the root) hide ``path`` or a
    folder it is in below its root. Climbs the folders as ``Ignores`` does."""
    root = next((r.rstrip("/") for r in roots if path.startswith(r.rstrip("/") + "/")), None)
    if root is None:
        return False
    current = path
    while current.startswith(root + "/"):
        if matching_glob(current[len(root) + 1 :], globs) is not None:
            return True
        current = os.path.dirname(current)
    return False


def not_a_project(folder: str) -> bool:
    """The home folder or the file system's root (an editor started there, Neovim's
    root being the current directory): never indexed."""
    return os.path.realpath(folder) in (os.path.realpath(os.path.expanduser("~")), "/")


def is_venv(folder: str) -> bool:
    return os.path.exists(os.path.join(folder, "pyvenv.cfg"))


def skipped_folder(name: str) -> bool:
    return name in SKIP_DIRS or name.startswith(".")


def _anywhere(path: str) -> bool:
    return True


def walk(
    roots: list[str],
    may_read: Callable[[str, str], bool],
    limit: int,
    ignores: Ignores | None = None,
    may_enter: Callable[[str], bool] = _anywhere,
) -> Iterator[tuple[str, str, int, float]]:
    """(path, languageId, size, mtime) of the files the index may read, breadth
    first from each root (files near the top first when the limit cuts), at most
    ``limit``. ``may_read(path, languageId)`` is asked before anything of a file is
    opened, ``may_enter(path)`` before anything of a folder below a root is looked
    at; symbolic links to folders are not followed."""
    ignores = ignores or Ignores()
    queue: deque[tuple[str, str]] = deque((os.path.abspath(r), os.path.abspath(r)) for r in roots)
    seen = 0
    while queue and seen < limit:
        folder, root = queue.popleft()
        ignores.load(folder)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if skipped_folder(entry.name) or not may_enter(entry.path) or is_venv(entry.path):
                        continue
                    if ignores._decide(root, os.path.relpath(entry.path, root).replace(os.sep, "/").split("/"), True):
                        continue
                    queue.append((entry.path, root))
                    continue
                if not entry.is_file():
                    continue
                language = EXTENSIONS.get(os.path.splitext(entry.name)[1].lower())
                if language is None:
                    continue
                if ignores._decide(root, os.path.relpath(entry.path, root).replace(os.sep, "/").split("/"), False):
                    continue
                if not may_read(entry.path, language):
                    continue
                info = entry.stat()
                if info.st_size == 0 or info.st_size > MAX_FILE_BYTES:
                    continue
            except OSError:
                continue
            yield entry.path, language, info.st_size, info.st_mtime
            seen += 1
            if seen >= limit:
                return


def admissible(path: str, roots: list[str], may_read: Callable[[str, str], bool], ignores: Ignores,
               may_enter: Callable[[str], bool] = _anywhere) -> str | None:
    """The languageId of one file the index may read (a watched-file event, a save),
    or None: under a root, not ignored or excluded, of a known kind and size. The
    exclusions are asked first: nothing in a hidden folder is looked at."""
    path = os.path.abspath(path)
    language = EXTENSIONS.get(os.path.splitext(path)[1].lower())
    if language is None:
        return None
    root = next((r for r in map(os.path.abspath, roots) if path.startswith(r.rstrip(os.sep) + os.sep)), None)
    if root is None:
        return None
    if not may_read(path, language):
        return None
    folders = []
    folder = os.path.dirname(path)
    while folder.startswith(root) and folder != root:
        folders.append(folder)
        folder = os.path.dirname(folder)
    if not all(may_enter(f) for f in reversed(folders)) or any(is_venv(f) for f in reversed(folders)):
        return None
    if ignores.ignored(path, False, root):
        return None
    try:
        size = os.stat(path).st_size
    except OSError:
        return None
    return language if 0 < size <= MAX_FILE_BYTES else None


def read_text(path: str) -> str | None:
    """A file's text, or None for a binary file (a NUL in its first bytes), one
    that is not UTF-8, or one that cannot be read."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError:
        return None
    if len(data) > MAX_FILE_BYTES or b"\x00" in data[:BINARY_PROBE]:
        return None
    try:
        return data.decode("utf-8").replace("\r\n", "\n")
    except UnicodeDecodeError:
        return None


def release_freed_memory() -> None:
    """Give the memory the parses freed back to the system (glibc keeps a worker
    thread's freed blocks in its own arena otherwise)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass
