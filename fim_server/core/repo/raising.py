"""The exception classes the cursor is about to name, for ``selection.py``: after
``raise`` or ``except`` (or on the line after a ``try:`` block), the classes of
the modules the file imports that are exceptions (``errors.CharsetError``,
``exceptions.CancelledError``) are the likeliest names, those sharing words with
the code near the cursor first."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from fim_server.core.repo.imports import ALL, MODULE, Link
from fim_server.core.repo.index import FileEntry
from fim_server.core.repo.relevance import lines_around

if TYPE_CHECKING:
    from fim_server.core.repo.index import RepoIndex
    from fim_server.core.repo.relevance import Words
    from fim_server.core.repo.selection import Cursor
    from fim_server.core.repo.uses import Uses

MAX_EXCEPTIONS = 8
TRY_LINES = 8  # a ``try:`` this many lines above a blank line prefix: ``except`` may come next
_AFTER_KEYWORD = re.compile(r"(?:^|[\s;])(?:raise|except|catch|throw(?:\s+new)?)\b[\w\s.,()|]*$")
_TRY = re.compile(r"^[ \t]*(?:try\s*:|try\s*\{|\}\s*catch\b)")
_EXCEPTION_NAME = re.compile(r"(?:Error|Exception|Warning|Defect|Exit|Interrupt|Failure)$")
_CLASS_BASES = re.compile(r"class\s+[\w$]+\s*(?:\(([^)]*)\)|[^{\n]*?\bextends\s+([\w$.]+))")


def expects_exception(cur: "Cursor", uses: "Uses") -> bool:
    """Whether the code at the cursor is about to name an exception class."""
    if _AFTER_KEYWORD.search(cur.line_prefix):
        return True
    if cur.line_prefix.strip():
        return False
    above = lines_around(uses.block, uses.cursor_offset, TRY_LINES, -1)
    return any(_TRY.match(line) for line in above.split("\n"))


def is_exception(entry: FileEntry, i: int) -> bool:
    """A class named like an exception, or whose base is."""
    d = entry.definitions[i]
    if d.kind != "class":
        return False
    if _EXCEPTION_NAME.search(d.name):
        return True
    m = _CLASS_BASES.search(entry.rendered(i)[0])
    bases = (m.group(1) or m.group(2) or "") if m else ""
    return any(_EXCEPTION_NAME.search(b.strip()) for b in bases.split(","))


def exception_classes(index: "RepoIndex", cur: "Cursor", uses: "Uses", links: list[Link], words: "Words",
                      ) -> list[tuple[FileEntry, int]]:
    """After ``raise``/``except``: the exception classes of the imported modules
    (and the imported exception classes), the best fitting first."""
    if not expects_exception(cur, uses):
        return []
    found: list[tuple[tuple, FileEntry, int]] = []
    for link in links:
        entry = index.files.get(link.path)
        if entry is None:
            continue
        if link.remote is MODULE or link.remote == ALL:
            candidates = range(len(entry.definitions))
        else:
            candidates = [i for i, d in enumerate(entry.definitions) if d.name == link.remote]
        for i in candidates:
            if is_exception(entry, i):
                name = entry.definitions[i].name
                found.append(((0, -index.lexical.frequency(name), name), entry, i))
    fit = words.among(entry.definitions[i].name for _, entry, i in found)
    found = [((-fit[rank[2]], *rank[1:]), entry, i) for rank, entry, i in found]
    found.sort(key=lambda item: (item[0], item[1].path, item[2]))
    out, seen = [], set()
    for _, entry, i in found:
        if entry.definitions[i].name not in seen:
            seen.add(entry.definitions[i].name)
            out.append((entry, i))
    return out[:MAX_EXCEPTIONS]
