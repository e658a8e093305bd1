"""Where names are used around the cursor in the document being typed in, and
which names it defines or binds itself (for ``selection.py``)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fim_server.core.repo.index import RepoIndex
    from fim_server.core.repo.selection import Cursor

USE_LINES = 400  # lines each side of the cursor searched for uses of imported names
NEAR_BEFORE, NEAR_AFTER = 30, 8  # lines counted as "near the cursor"
_WORDISH = re.compile(r"[\w$.]")
_NAME_CHAR = re.compile(r"[\w$]")
_IDENT = re.compile(r"[A-Za-z_$][\w$]*")
_CALLED = re.compile(r"(?<![\w$])(?=([A-Za-z_$][\w$]*)(?:\([^()]*\))?\s*\.\s*([A-Za-z_$][\w$]*))")
_OWNER = re.compile(r"([A-Za-z_$][\w$]*)\s*\.\s*[A-Za-z_$]")
_DEFINES = re.compile(r"\n[ \t]*(?:(?:export|default|async|pub|static)[ \t]+)*(?:def|class|function|func|type|interface|"
                      r"enum|struct|trait|fn|const|let|var)[ \t]+\*?[ \t]*([A-Za-z_$][\w$]*)")
_LOCAL_ASSIGN = re.compile(r"\n[ \t]*(?:(?:const|let|var|auto|final)[ \t]+)?([A-Za-z_$][\w$]*)[ \t]*(?::[^=\n]*)?:?=(?!=)")


def _whole(text: str, i: int, n: int) -> bool:
    """Whether ``text[i:i+n]`` is a whole name (not part of a longer one, not an attribute)."""
    return (i == 0 or not _WORDISH.match(text, i - 1)) and (i + n >= len(text) or not _NAME_CHAR.match(text, i + n))


class Uses:
    """Where names are used around the cursor, found with one regular expression
    search per question (the document can be long): the distance in lines of the
    nearest use, code above the cursor counting as nearer than code below."""

    def __init__(self, cur: "Cursor", index: "RepoIndex") -> None:
        lines = cur.text.split("\n")
        self.first = max(0, cur.line - USE_LINES)
        self.cursor = cur.line - self.first
        self.block = "\n".join(lines[self.first : cur.line + USE_LINES + 1])
        self._cursor_offset = sum(len(line) + 1 for line in lines[self.first : cur.line])
        self._near = "\n".join(lines[max(0, cur.line - NEAR_BEFORE) : cur.line + NEAR_AFTER + 1])
        self._near_first = max(0, cur.line - NEAR_BEFORE) - self.first
        entry = index.files.get(cur.path) if cur.path else None
        if entry is not None:  # its definitions as last indexed (opened, saved)
            self.local = {d.name for d in entry.definitions}
        else:
            self.local = set(_DEFINES.findall("\n" + cur.text))
        self.local.update(_DEFINES.findall("\n" + self._near))
        self.local.update(_LOCAL_ASSIGN.findall("\n" + self._near))
        self._cache: dict[str, int | None] = {}

    def _distances(self, matches):
        """(distance, match) of matches in the order found (rows counted as they go)."""
        row = previous = 0
        block = self.block
        for m in matches:
            start = m.start()
            if start and _WORDISH.match(block, start - 1):
                continue  # a longer name, or another owner's attribute
            row += block.count("\n", previous, start)
            previous = start
            yield (self.cursor - row if row <= self.cursor else (row - self.cursor) * 3), m

    def nearest(self, name: str) -> int | None:
        if name not in self._cache:
            self._cache[name] = self._nearest(name)
        return self._cache[name]

    def _nearest(self, name: str) -> int | None:
        """The nearest use: the last one above the cursor, the first below
        (``str.rfind``/``find``, no scan of every use)."""
        block, at, n = self.block, self._cursor_offset, len(name)
        if not n:
            return None
        best = None
        end = at
        while True:  # above
            i = block.rfind(name, 0, end)
            if i < 0:
                break
            if _whole(block, i, n):
                best = self.cursor - block.count("\n", 0, i)
                break
            end = i
        start = at
        while True:  # below (counted three times as far)
            i = block.find(name, start)
            if i < 0:
                break
            if _whole(block, i, n):
                below = (block.count("\n", at, i)) * 3
                best = below if best is None else min(best, below)
                break
            start = i + 1
        return best

    def attributes(self, owner: str) -> list[tuple[int, str]]:
        """(distance, name) of each ``owner.name`` use, nearest first, one per name."""
        best: dict[str, int] = {}
        for d, m in self._distances(re.finditer(re.escape(owner) + r"\.([A-Za-z_$][\w$]*)", self.block)):
            if best.get(m.group(1), 1 << 30) > d:
                best[m.group(1)] = d
        return sorted((d, n) for n, d in best.items())

    def near(self) -> list[tuple[int, str]]:
        """(distance, name) of the identifiers near the cursor the file does not define."""
        found: dict[str, int] = {}
        for i, line in enumerate(self._near.split("\n")):
            row = self._near_first + i
            d = self.cursor - row if row <= self.cursor else (row - self.cursor) * 3
            for name in _IDENT.findall(line):
                if len(name) > 2 and found.get(name, 1 << 30) > d:
                    found[name] = d
        return sorted((d, n) for n, d in found.items() if n not in self.local)

    def receivers(self) -> list[str]:
        """Names used as ``name.`` near the cursor (not ``self``/``this``), nearest first."""
        found: dict[str, int] = {}
        for i, line in enumerate(self._near.split("\n")):
            row = self._near_first + i
            d = self.cursor - row if row <= self.cursor else (row - self.cursor) * 3
            for name in _OWNER.findall(line):
                if name not in ("self", "this", "cls") and found.get(name, 1 << 30) > d:
                    found[name] = d
        return [n for _, n in sorted((d, n) for n, d in found.items())]

    def member_names(self) -> dict[str, dict[str, int]]:
        """receiver -> {name: distance} of each ``receiver.name`` (or
        ``receiver(...).name``) near the cursor, above and below it."""
        found: dict[str, dict[str, int]] = {}
        for i, line in enumerate(self._near.split("\n")):
            row = self._near_first + i
            d = self.cursor - row if row <= self.cursor else (row - self.cursor) * 3
            for owner, name in _CALLED.findall(line):
                names = found.setdefault(owner, {})
                if names.get(name, 1 << 30) > d:
                    names[name] = d
        return found
