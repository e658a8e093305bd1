"""Where names are used around the cursor in the document being typed in, and
which names it defines or binds itself (for ``selection.py``)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from fim_server.core.repo.relevance import parts

if TYPE_CHECKING:
    from fim_server.core.repo.index import RepoIndex
    from fim_server.core.repo.selection import Cursor

USE_LINES = 400  # lines each side of the cursor searched for uses of imported names
NEAR_BEFORE, NEAR_AFTER = 30, 8  # lines counted as "near the cursor"
_WORDISH = re.compile(r"[\w$.]")
_NAME_CHAR = re.compile(r"[\w$]")
_IDENT = re.compile(r"[A-Za-z_$][\w$]*")
# ``(?=(...))\1`` takes a whole name at once (a lookahead is never backtracked
# into): the same matches as a plain ``([A-Za-z_$][\w$]*)``, whose shorter tries
# could never be followed by the dot, in a third less time
# No space after the dot: prose (``the boundary string.  By default``) is not a member use.
_CALLED = re.compile(r"(?<![\w$])(?=(?=([A-Za-z_$][\w$]*))\1(?:\([^()]*\))?\s*\.([A-Za-z_$][\w$]*))")
_OWNER = re.compile(r"(?=([A-Za-z_$][\w$]*))\1\s*\.[A-Za-z_$]")
_COMMENT = re.compile(r"(?:#|//)[^'\"`\n]*$")  # a comment ending a line (no quote after it: not in a string)
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
        # the lines after the block are not cut (a long file's end is left whole)
        lines = cur.text.split("\n", max(0, cur.line + USE_LINES + 1))
        self.first = max(0, cur.line - USE_LINES)
        self.cursor = cur.line - self.first
        above = lines[self.first : cur.line]
        self.block = "\n".join(above + lines[cur.line : cur.line + USE_LINES + 1])
        self._cursor_offset = len("\n".join(above)) + 1 if above else 0
        self.cursor_offset = self._cursor_offset  # where the cursor's line starts in ``block``
        self._near = "\n".join(lines[max(0, cur.line - NEAR_BEFORE) : cur.line + NEAR_AFTER + 1])
        self._near_first = max(0, cur.line - NEAR_BEFORE) - self.first
        entry = index.files.get(cur.path) if cur.path else None
        if entry is not None:  # its definitions as last indexed (opened, saved)
            self.local = set(index.memo(("defined", entry.path), lambda: frozenset(d.name for d in entry.definitions)))
        else:
            self.local = set(_DEFINES.findall("\n" + cur.text))
        self._cache: dict[str, int | None] = {}
        self._near_rows: list | None = None
        self.kept: dict[str, tuple] = {}  # what more than one kind of evidence asks of these uses (``members.receivers_near``)
        # the names the lines near the cursor define or assign (kept per line: ``_line_names``)
        for _, names in self._rows():
            self.local.update(names[3])

    def _distances(self, uses):
        """(distance, name) of (offset, name) uses in the order found (rows counted as they go)."""
        row = previous = 0
        block = self.block
        for start, name in uses:
            if start and _WORDISH.match(block, start - 1):
                continue  # a longer name, or another owner's attribute
            row += block.count("\n", previous, start)
            previous = start
            yield (self.cursor - row if row <= self.cursor else (row - self.cursor) * 3), name

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
        for d, name in self._distances(self._attribute_uses(owner)):
            if best.get(name, 1 << 30) > d:
                best[name] = d
        return sorted((d, n) for n, d in best.items())

    def _attribute_uses(self, owner: str):
        """(offset, name) of what ``re.finditer(re.escape(owner) + r"\\.([A-Za-z_$][\\w$]*)",
        block)`` finds, without compiling a pattern per owner: the name after each
        ``owner.``, left to right, a match's end the earliest start of the next."""
        block, dotted = self.block, owner + "."
        i = block.find(dotted)
        while i >= 0:
            m = _IDENT.match(block, i + len(dotted))
            if m is not None:
                yield i, m.group(0)
                i = block.find(dotted, m.end())
            else:
                i = block.find(dotted, i + 1)

    def _rows(self) -> list[tuple[int, tuple]]:
        """(distance, names of the line) of each line near the cursor."""
        if self._near_rows is None:
            rows = []
            for i, line in enumerate(self._near.split("\n")):
                row = self._near_first + i
                rows.append((self.cursor - row if row <= self.cursor else (row - self.cursor) * 3, _line_names(line)))
            self._near_rows = rows
        return self._near_rows

    def near_words(self, before: int, after: int) -> frozenset[str]:
        """The words (``relevance.parts``) of the identifiers on the ``before``
        lines above the cursor's, that line and the ``after`` below (at most
        NEAR_BEFORE and NEAR_AFTER)."""
        rows = self._rows()
        at = self.cursor - self._near_first  # the cursor's line in the rows
        return frozenset().union(*(names[4] for _, names in rows[max(0, at - before) : at + after + 1]))

    def _closest(self, column: int) -> dict[str, int]:
        """name -> distance of its nearest line, for the names in ``column`` of
        ``_line_names`` (0 identifiers, 1 receivers, 3 names defined or assigned)."""
        found: dict[str, int] = {}
        for d, names in self._rows():
            for name in names[column]:
                if found.get(name, 1 << 30) > d:
                    found[name] = d
        return found

    def near(self) -> list[tuple[int, str]]:
        """(distance, name) of the identifiers near the cursor the file does not define."""
        return sorted((d, n) for n, d in self._closest(0).items() if n not in self.local)

    def receivers(self) -> list[str]:
        """Names used as ``name.`` near the cursor (not ``self``/``this``), nearest first."""
        found = self._closest(1)
        return [n for _, n in sorted((d, n) for n, d in found.items() if n not in ("self", "this", "cls"))]

    def assigned_near(self) -> dict[str, int]:
        """name -> distance of the names the lines near the cursor define or assign."""
        return self._closest(3)

    def member_names(self) -> dict[str, dict[str, int]]:
        """receiver -> {name: distance} of each ``receiver.name`` (or
        ``receiver(...).name``) near the cursor, above and below it."""
        found: dict[str, dict[str, int]] = {}
        for d, (_, _, called, *_) in self._rows():
            for owner, name in called:
                names = found.setdefault(owner, {})
                if names.get(name, 1 << 30) > d:
                    names[name] = d
        return found


_LINE_NAMES: dict[str, tuple] = {}
_LINE_NAMES_KEPT = 8192
_NO_NAMES = ((), (), (), (), frozenset())


def _line_names(line: str) -> tuple:
    """A line's identifiers longer than two characters, its ``owner.`` names
    (``_OWNER``), its ``owner.name`` pairs (``_CALLED``), the names it defines or
    assigns (``_DEFINES``, ``_LOCAL_ASSIGN``: neither pattern reaches past a line)
    and its identifiers' words (``relevance.parts``), kept per line text (the
    lines around the cursor stay the same from one request to the next)."""
    found = _LINE_NAMES.get(line)
    if found is None:
        if not line.strip():
            return _NO_NAMES
        idents = tuple(name for name in _IDENT.findall(line) if len(name) > 2)
        code = _COMMENT.sub("", line) if "#" in line or "//" in line else line  # no receivers in a comment
        dotted = "." in code  # both patterns need one
        found = (idents, tuple(_OWNER.findall(code)) if dotted else (), tuple(_CALLED.findall(code)) if dotted else (),
                 tuple(_DEFINES.findall("\n" + line) + _LOCAL_ASSIGN.findall("\n" + line)),
                 frozenset().union(*(parts(name) for name in set(idents))))
        if len(_LINE_NAMES) >= _LINE_NAMES_KEPT:
            _LINE_NAMES.clear()
        _LINE_NAMES[line] = found
    return found
