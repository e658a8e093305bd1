"""How often the files of the repository name a module's members through the
module: ``tasks.all_tasks`` where the file binds ``tasks`` to a module by an
import (``from . import tasks``, ``import asyncio.tasks as tasks``, JavaScript's
``import * as rx from './rx'``, Go's ``"strings"``). A module imported whole
offers all its names; the ones other files reach for through it are the ones a
file is likely to reach for next, which the bare count of a name (definitions,
methods of the same name, local uses) does not tell.

The uses are counted per module key (the last part of the path the import names:
``tasks`` for ``from . import tasks`` and ``import asyncio.tasks``; a package's
``__init__``/``index`` counts as its folder) and member name; the index adds a
file's counts when it puts the file in and takes them out when it drops it
(``RepoIndex.put``/``_drop``), so they stay in step with the files file by file.
Without resolving the import (the module's file may not be indexed yet), two
modules with the same last part share a key; a name counts only where the module
asked about defines it, which keeps the mix-up small.
"""

from __future__ import annotations

from collections import Counter
import posixpath
import re
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from fim_server.core.repo.imports import Import
    from fim_server.core.repo.index import RepoIndex

_NAME = re.compile(r"[A-Za-z_$][\w$]*")
_NAME_CHAR = re.compile(r"[\w$./\\'\"`@-]")  # before an alias: not an attribute, not a path
_PACKAGE_FILES = frozenset({"__init__", "index", "mod"})


def module_key(path: str) -> str:
    """The key of a module's file: its name without the extension, or its
    folder's name for a package's ``__init__.py`` / ``index.ts`` (``mod.rs``)."""
    name = posixpath.basename(path.rstrip("/"))
    stem = name.split(".", 1)[0] if not name.startswith(".") else name
    return posixpath.basename(posixpath.dirname(path)) if stem in _PACKAGE_FILES else stem


def _spec_key(spec: str) -> str:
    """The key of an imported path: ``asyncio.tasks`` / ``./internal/Observable.js``
    / ``github.com/x/strings`` / ``../operators/index`` -> ``tasks`` / ``Observable``
    / ``strings`` / ``operators``."""
    spec = spec.rstrip("/\\")
    if "/" in spec or "\\" in spec:
        return module_key(spec.replace("\\", "/"))
    return spec.rstrip(".").rsplit(".", 1)[-1]


def module_aliases(imports: "Iterable[Import]") -> dict[str, str]:
    """Name bound to a module in the file -> its module key. ``from X import n``
    binds a module only if ``n`` is one; a lower-case ``n`` is taken for one
    (classes are not: ``Handle.cancel`` is no module's member)."""
    out: dict[str, str] = {}
    for imp in imports:
        if not imp.names:
            if imp.alias:
                out[imp.alias] = _spec_key(imp.spec)
            continue
        for remote, local in imp.names:
            if remote in ("*", "default") or not local or local[:1].isupper():
                continue
            out[local] = _spec_key(remote)
        if imp.alias:  # ``import * as rx from './rx'``
            out[imp.alias] = _spec_key(imp.spec)
    return out


def qualified_uses(text: str, imports: "Iterable[Import]") -> Counter[tuple[str, str]]:
    """(module key, member name) -> how often ``text`` writes ``alias.name`` for an
    alias its imports bind to that module (``import a.b`` used as ``a.b.name`` too)."""
    found: Counter[tuple[str, str]] = Counter()
    for alias, key in module_aliases(imports).items():
        dotted, n = alias + ".", len(alias) + 1
        i = text.find(dotted)
        while i >= 0:  # ``str.find`` from one use to the next (a file binds a few modules at most)
            m = _NAME.match(text, i + n)
            if m is not None and (i == 0 or not _NAME_CHAR.match(text, i - 1)):  # not ``x.tasks.name``
                found[(key, m.group(0))] += 1
            i = text.find(dotted, i + n)
    return found


def count_in(table: dict[str, Counter], counts: Counter[tuple[str, str]], sign: int) -> None:
    """Add (``sign`` 1) or take out (-1) one file's ``qualified_uses`` in the index's table."""
    for (key, name), n in counts.items():
        names = table.get(key)
        if names is None:
            names = table[key] = Counter()
        names[name] += sign * n
        if names[name] <= 0:
            del names[name]
            if not names:
                del table[key]


def member_uses(index: "RepoIndex", path: str, own: str = "") -> Counter[str]:
    """Member name -> how often the files of the index other than ``own`` (the
    file being typed in: what it says is not other evidence, and its saved text
    may hold what is being typed) write ``alias.name`` for the module at ``path``;
    kept until the index changes. The caller holds the index's lock."""
    def compute() -> Counter[str]:
        found = Counter(index.qualified.get(module_key(path), ()))
        entry = index.files.get(own) if own else None
        if entry is not None:
            key = module_key(path)
            mine = index.memo(("qualified uses of", own), lambda: qualified_uses(entry.text, entry.imports))
            for (k, name), n in mine.items():
                if k == key:
                    found[name] -= n
            found = +found
        return found

    return index.memo(("qualified", path, own), compute)
