"""The methods a class inherits from other files, for ``selection.py``: in a
method using ``self.``/``this.``, what ``self.`` can name beyond the file
(``MIMEMultipart(MIMEBase)`` ... ``Message.set_boundary``; a queue's
``_LoopBoundMixin._get_loop``). Bases are followed through classes of the same
file too (their own methods are in the file already) and a few levels up."""

from __future__ import annotations

from itertools import chain
import re
from typing import TYPE_CHECKING

from fim_server.core.repo.index import FileEntry
from fim_server.core.repo.members import class_methods
from fim_server.core.repo.relevance import by_name_and_words

if TYPE_CHECKING:
    from fim_server.core.repo.index import RepoIndex
    from fim_server.core.repo.relevance import Words
    from fim_server.core.repo.selection import Cursor
    from fim_server.core.repo.uses import Uses

MAX_DEPTH = 4  # levels of base classes followed
MAX_INHERITED = 14
CLASS_LINE = re.compile(r"[ \t]*(?:export\s+)?(?:default\s+)?(?:abstract\s+)?class\s+([A-Za-z_$][\w$]*)"
                        r"(?:\s*\(([^)]*)\)|[^{\n]*?\bextends\s+([\w$.]+))?")
# ``self.name`` and ``this.name`` not after a name or a dot; the dot first, then
# what is before it: the search skips from dot to dot (twenty times faster)
_SELF_MEMBER = re.compile(r"\.(?<=self\.|this\.)(?<![\w$.]self\.)(?<![\w$.]this\.)([A-Za-z_$][\w$]*)")


def bases_of(m: re.Match | None) -> list[str]:
    """The base class names of a ``CLASS_LINE`` match, without their module."""
    if m is None:
        return []
    return [b.strip().rsplit(".", 1)[-1] for b in (m.group(2) or m.group(3) or "").split(",") if b.strip()]


def enclosing_bases(index: "RepoIndex", cur: "Cursor") -> list[str]:
    """The bases of the last class above the cursor."""
    own = index.files.get(cur.path)
    if own is not None:  # as last indexed
        classes = [d for d in own.definitions if d.kind == "class" and d.line <= cur.line]
        header = own.rendered(own.definitions.index(classes[-1]))[0] if classes else ""
        return bases_of(CLASS_LINE.match(next((line for line in header.split("\n") if "class" in line), "")))
    lines = cur.text.split("\n")
    return bases_of(next((m for row in range(min(cur.line, len(lines) - 1), max(-1, cur.line - 300), -1)
                          if (m := CLASS_LINE.match(lines[row])) is not None), None))


def inherited_members(index: "RepoIndex", cur: "Cursor", uses: "Uses", words: "Words") -> list[tuple[FileEntry, int]]:
    """The methods of the enclosing class's bases defined in other files (private
    ones too): first those the file calls on ``self.`` without defining them, then
    those sharing words with the code near the cursor, then the nearer base's,
    the most used first."""
    if uses.nearest("self") is None and uses.nearest("this") is None:
        return []
    bases = enclosing_bases(index, cur)
    if not bases:
        return []
    called = set(_SELF_MEMBER.findall(uses.block)) - uses.local
    order, by_name, by_word = index.memo(("inherited", cur.path, tuple(bases)), lambda: _base_methods(index, cur.path, bases))
    # as sorting every method by (not called, minus ``words.among``'s fit, depth,
    # rarity, name, path, index): the called and fitting ones, then the kept order
    fit = words.fitting(by_word, by_name.keys())
    first = sorted((name not in called, -fit.get(name, 0), *item)
                   for name in (called & by_name.keys()) | fit.keys() for item in by_name[name])
    out, names = [], set()
    rest = ((True, 0, *item) for item in order if item[2] not in fit and item[2] not in called)
    for *_, name, _, j, entry in chain(first, rest):
        if name not in names and name not in uses.local:
            names.add(name)
            out.append((entry, j))
            if len(out) >= MAX_INHERITED:
                break
    return out


def _base_methods(index: "RepoIndex", path: str, bases: list[str]) -> tuple[list, dict, dict]:
    """(depth, minus its lexical frequency, name, file path, index, file) of each
    method but the dunder ones of the classes ``bases`` name and of their bases,
    in files other than ``path``, in that order; the same by name; the names by
    each of their words (kept while the index stays the same)."""
    found: list[tuple[int, str, int, FileEntry, int]] = []
    seen_classes: set[str] = set()
    frequency = index.lexical.frequency
    for depth in range(MAX_DEPTH):
        nxt: list[str] = []
        for base in bases:
            if base in seen_classes or not base.isidentifier():
                continue
            seen_classes.add(base)
            classes = [(e, i) for e, i in index.named(base) if e.definitions[i].kind in ("class", "interface")]
            # a base of another file first; one of this file is only followed
            classes.sort(key=lambda item: (item[0].path == path, item[0].path, item[1]))
            for entry, i in classes[:1]:
                for j in class_methods(entry, i) if entry.path != path else ():
                    name = entry.definitions[j].name
                    if not name.startswith("__"):
                        found.append((depth, -frequency(name), name, entry.path, j, entry))
                head = entry.rendered(i)[0].split("\n")
                nxt += bases_of(CLASS_LINE.match(next((line.lstrip() for line in head if "class" in line), "")))
        bases = nxt
        if not bases:
            break
    found.sort(key=lambda item: item[:5])
    return (found, *by_name_and_words(found, 2))
