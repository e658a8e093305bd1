"""Which class a receiver near the cursor probably is, from the methods called on
it (``waiter.cancelled()`` ... ``waiter.set_result``: ``Future``), for ``selection.py``:
the type of a local name is rarely written down in Python or JavaScript, but the
set of method names used on it usually points at one class of the repository."""

from __future__ import annotations

from functools import lru_cache
import re
from typing import TYPE_CHECKING, Callable

from fim_server.core.repo import kept
from fim_server.core.repo.index import FileEntry, last_word
from fim_server.core.repo.relevance import by_name_and_words

if TYPE_CHECKING:
    from fim_server.core.repo.index import RepoIndex
    from fim_server.core.repo.relevance import Words
    from fim_server.core.repo.selection import Cursor
    from fim_server.core.repo.uses import Uses

MAX_VOTERS = 8  # a method name defined in more classes than this does not vote
MIN_VOTE = 0.5  # the least score of a class whose methods are shown
MAX_VOTED = 4  # receivers near the cursor whose likely class's methods are shown
MAX_VOTED_MEMBERS = 16
MAX_RECEIVERS = 4  # receivers looked at (the nearest), for at most MAX_VOTED classes
DECLARED_VOTE = 2.0  # a class the code names as the receiver's type
FAR = 1 << 16  # the distance given to a use far from the cursor
# ``self.owner.name`` / ``this.owner.name``; the dot first, then what is before it: the
# search skips from dot to dot (six times faster than trying "self"/"this" everywhere)
_ATTRIBUTE_CALL = re.compile(r"\.(?<=self\.|this\.)([A-Za-z_$][\w$]*)\.([A-Za-z_$][\w$]*)")
_RECEIVER_CALL = re.compile(r"([A-Za-z_$][\w$]*)(?:\([^()]*\))?\s*\.\s*[A-Za-z_$]?[\w$]*$")


def voted_members(index: "RepoIndex", cur: "Cursor", uses: "Uses", classes_named: Callable,
                  words: "Words | None" = None, modules: frozenset[str] = frozenset()) -> list[tuple[FileEntry, int]]:
    """Per receiver near the cursor (``waiter`` of ``waiter.cancelled()``), the
    class whose methods its ``receiver.name`` uses call (each name weighs one
    over the number of classes defining it, so a rare method name counts most;
    a class whose name ends with the receiver's last word gains half a vote):
    its methods, the most used first. The receiver right before the cursor
    comes first, then the nearest; names bound to ``modules`` are not receivers.
    Of a class's methods, those sharing ``words`` with the code near the cursor
    come first."""
    receivers, order = receivers_near(cur, uses, modules)
    out: list[tuple[FileEntry, int]] = []
    seen: set[str] = set()
    shown: set[tuple[str, int]] = set()
    for owner in order[:MAX_RECEIVERS]:
        if len(shown) >= MAX_VOTED:
            break
        score: dict[tuple[str, int], float] = {}
        entries: dict[str, FileEntry] = {}
        for name in receivers[owner]:
            if name.startswith("__"):
                continue
            owners = set()
            for entry, k in index.memo(("method classes", name), lambda: _method_classes(index, name)):
                if entry.path != cur.path:
                    owners.add((entry.path, k))
                    entries[entry.path] = entry
            if owners and len(owners) <= MAX_VOTERS:
                for key in owners:
                    score[key] = score.get(key, 0.0) + 1.0 / len(owners)
        for name in declared(uses.block, owner):  # ``x = Foo(...)``, ``x: Foo``, ``isinstance(x, Foo)``
            for entry, k in index.named(name):
                if entry.path != cur.path and entry.definitions[k].kind in ("class", "interface"):
                    score[(entry.path, k)] = score.get((entry.path, k), 0.0) + DECLARED_VOTE
                    entries[entry.path] = entry
        if len(last_word(owner)) >= 3:
            for entry, k in classes_named(owner):
                if entry.path != cur.path:
                    score[(entry.path, k)] = score.get((entry.path, k), 0.0) + 0.5
                    entries[entry.path] = entry
        best = min(((-s, path, k) for (path, k), s in score.items() if s >= MIN_VOTE), default=None)
        if best is None or (best[1], best[2]) in shown:
            continue
        shown.add((best[1], best[2]))
        entry = entries[best[1]]
        for _, name, j in _top_methods(index, entry, best[2], uses.local, words):
            if name not in seen:
                seen.add(name)
                out.append((entry, j))
    return out


def receivers_near(cur: "Cursor", uses: "Uses", modules: frozenset[str]) -> tuple[dict[str, dict[str, int]], list[str]]:
    """The receivers near the cursor (receiver -> {member: distance}, from
    ``uses.member_names``) and their order: the one right before the cursor
    first, then the nearest. ``self.owner.name`` anywhere in the block counts
    too, after them (an attribute's type is the same in every method). ``self``,
    ``this``, ``cls`` and names bound to ``modules`` are not receivers of a
    class; kept on ``uses`` (asked by more than one kind of evidence)."""
    key = (cur.line_prefix, modules)
    kept_here = uses.kept.get("receivers near")
    if kept_here is not None and kept_here[0] == key:
        return kept_here[1]
    receivers = uses.member_names()
    for owner, name in _ATTRIBUTE_CALL.findall(uses.block):
        names = receivers.setdefault(owner, {})
        names.setdefault(name, FAR)
    m = _RECEIVER_CALL.search(cur.line_prefix)
    at_cursor = m.group(1) if m is not None else None
    if at_cursor is not None:
        receivers.setdefault(at_cursor, {})
    order = sorted(receivers, key=lambda r: (r != at_cursor, min(receivers[r].values(), default=0), r))
    found = receivers, [o for o in order if o not in ("self", "this", "cls") and o not in modules]
    uses.kept["receivers near"] = (key, found)
    return found


def _top_methods(index: "RepoIndex", entry: FileEntry, i: int, local: set[str], words: "Words | None") -> list[tuple]:
    """The first MAX_VOTED_MEMBERS of the methods of class ``i`` the file does not
    define, dunder ones left out, as ``sorted`` orders (minus ``words.among``'s
    fit, private, minus the lexical frequency, name, index): the few names the
    near words or ``x.name`` uses fit first, then the class's own order (kept
    while the index stays the same), without scoring every name."""
    order, by_name, by_word = index.memo(("ranked methods", entry.path, i), lambda: _ranked_methods(index, entry, i))
    fit = words.fitting(by_word, by_name.keys(), local) if words is not None else {}  # ``among`` of the names not local
    top = sorted((-n, *item) for name, n in fit.items() for item in by_name[name])
    for item in order:
        if len(top) >= MAX_VOTED_MEMBERS:
            break
        if item[2] not in local and item[2] not in fit:
            top.append((0, *item))
    return [(rank, name, j) for rank, _, _, name, j in top[:MAX_VOTED_MEMBERS]]


def _ranked_methods(index: "RepoIndex", entry: FileEntry, i: int) -> tuple[list, dict, dict]:
    """Of the methods of class ``i`` but the dunder ones: (private, minus the
    lexical frequency, name, index) of each in that order, the same by name, and
    the names by each word of theirs (``relevance.parts``)."""
    defs, frequency = entry.definitions, index.lexical.frequency
    order = sorted((defs[j].name.startswith("_"), -frequency(defs[j].name), defs[j].name, j)
                   for j in class_methods(entry, i) if not defs[j].name.startswith("__"))
    return (order, *by_name_and_words(order, 2))


def _method_classes(index: "RepoIndex", name: str) -> list[tuple[FileEntry, int]]:
    """(file, class) of each method named ``name`` defined in a class."""
    return [(entry, k) for entry, _, k in methods_named(index, name) if k is not None]


def methods_named(index: "RepoIndex", name: str) -> list[tuple[FileEntry, int, int | None]]:
    """(file, method, its class or None) of each method named ``name``, kept
    while the index stays the same (finding a method's class walks back over the
    methods before it). The caller holds the index's lock."""
    def find() -> list[tuple[FileEntry, int, int | None]]:
        return [(entry, j, owner_class(entry, j)) for entry, j in index.named(name)
                if entry.definitions[j].kind == "method"]

    return index.memo(("methods named", name), find)


def owner_class(entry: FileEntry, j: int) -> int | None:
    """The class a method belongs to (methods follow their class in the list)."""
    defs = entry.definitions
    while j > 0 and (defs[j].kind == "method" or _nested(entry, j)):
        j -= 1
    return j if defs[j].kind in ("class", "interface") else None


def _nested(entry: FileEntry, j: int) -> bool:
    """A function defined inside another (its line is indented): not the end of a class's methods."""
    d = entry.definitions[j]
    return d.kind == "nested" or d.kind == "function" and kept.lines_of(entry)[d.line][:1] in (" ", "\t")


def class_methods(entry: FileEntry, i: int) -> list[int]:
    """The indices of the methods of class ``i``: the definitions after it up to
    the first that is neither a method nor a function nested in one (a method's
    helper ``def finish_recv`` is no end of the class)."""
    defs = entry.definitions
    out = []
    j = i + 1
    while j < len(defs) and (defs[j].kind == "method" or _nested(entry, j)):
        if defs[j].kind == "method":
            out.append(j)
        j += 1
    return out


# the patterns of ``declared`` after the owner's name (compiled once: a pattern per
# owner would be compiled anew for most requests, a millisecond each)
_ASSIGNED = re.compile(r"\s*(?::[^=\n]*)?=\s*(?:await\s+|new\s+)?(?:[\w$]+\.)*([A-Z][\w$]*)\s*\(")
_ANNOTATED = re.compile(r"\??\s*:\s*(?:Optional\[)?(?:[\w$]+\.)*([A-Z][\w$]*)")
# what every match of each holds, starting with a character the search skips to
_ANY_ASSIGNED = re.compile(r"=\s*(?:await\s+|new\s+)?(?:[\w$]+\.)*[A-Z][\w$]*\s*\(")
_ANY_ANNOTATED = re.compile(r":\s*(?:Optional\[)?(?:[\w$]+\.)*[A-Z]")
_ISINSTANCE = re.compile(r"isinstance\(\s*(?:self\.)?([A-Za-z_$][\w$]*)\s*,\s*(?:[\w$]+\.)*([A-Z][\w$]*)")
_NAME_CHAR = re.compile(r"[\w$]")
_NAME_OR_DOT = re.compile(r"[\w$.]")


def declared(block: str, owner: str) -> list[str]:
    """Class names the code gives ``owner`` as its type: ``owner = Foo(...)``
    (``self.owner = mod.Foo(...)``), ``owner: Foo`` and ``isinstance(owner, Foo)``."""
    # only the lines naming it go through the patterns
    lines, i = [], block.find(owner)
    while i >= 0:
        if len(lines) > MANY:  # in many words (``e``, ``s``): the lines holding it picked at C speed
            lines = [line for line in block.split("\n") if owner in line]
            break
        start, end = block.rfind("\n", 0, i) + 1, block.find("\n", i)
        end = len(block) if end < 0 else end
        lines.append(block[start:end])
        i = block.find(owner, end)
    text = "\n".join(lines)
    return list(kept.of_text(("declared", owner, text), lambda: _declared_in(text, owner)))


def _declared_in(text: str, owner: str) -> tuple[str, ...]:
    """``declared`` in ``text``, the lines naming ``owner``."""
    # each match holds ``= ...Foo(`` or ``: ...Foo``: without one in the lines, none (most owners)
    assigned, annotated = _ANY_ASSIGNED.search(text) is not None, _ANY_ANNOTATED.search(text) is not None
    starts = _starts(text, owner) if assigned or annotated else []
    found = _after_owner(text, starts, len(owner), _NAME_CHAR, _ASSIGNED) if assigned else []  # (?<![\w$])owner = ...Foo(
    if annotated:
        found += _after_owner(text, starts, len(owner), _NAME_OR_DOT, _ANNOTATED)  # (?<![\w$.])owner: ...Foo
    if "isinstance" in text:
        found += [name for o, name in _ISINSTANCE.findall(text) if o == owner]
    return tuple(dict.fromkeys(found))


MANY = 100  # occurrences of an owner's name (inside other words: ``e``, ``f``) beyond which a pattern finds them


@lru_cache(maxsize=256)
def _token(owner: str) -> re.Pattern:
    o = re.escape(owner)  # the name first (the search skips to it), then no name character before or after it
    return re.compile(o + r"(?<![\w$]" + o + r")(?![\w$])")


def _starts(text: str, owner: str) -> list[int]:
    """Where ``owner`` may start a match of ``declared``'s patterns: everywhere it
    occurs, or, when it occurs often, only where it is a whole name (both
    patterns want no name character before it and a space, ``?``, ``:`` or ``=``
    after it; the pattern for that is compiled once per such name)."""
    if text.count(owner) > MANY:
        return [m.start() for m in _token(owner).finditer(text)]
    starts, i = [], text.find(owner)
    while i >= 0:
        starts.append(i)
        i = text.find(owner, i + 1)
    return starts


def _after_owner(text: str, starts: list[int], n: int, not_before: re.Pattern, tail: re.Pattern) -> list[str]:
    """What ``re.findall(lookbehind + re.escape(owner) + tail, text)`` finds (the
    first group), without compiling a pattern for ``owner``: each place ``owner``
    starts (``n`` characters) and ``not_before`` does not match the character
    before is tried, left to right, a match's end the earliest start of the next."""
    found, end = [], 0
    for i in starts:
        if i < end or (i and not_before.match(text, i - 1)):
            continue
        m = tail.match(text, i + n)
        if m is not None:
            found.append(m.group(1))
            end = m.end()
    return found
