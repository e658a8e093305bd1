"""The near stage of ``selection.py``: definitions of identifiers near the cursor
that the file does not define. What the cursor is about to name comes first,
whole (an exception class after ``raise``, the members of ``owner.``); then the
other kinds of evidence take turns, a few of each at a time (``in_turns``): what
comes first in one kind is likelier than what comes last in another.
"""

from __future__ import annotations

from itertools import islice
import os
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

from fim_server.core.repo.called import called_members
from fim_server.core.repo.index import FileEntry
from fim_server.core.repo.inherited import inherited_members
from fim_server.core.repo.members import methods_named, receivers_near
from fim_server.core.repo.raising import exception_classes
from fim_server.core.repo.receivers import likely_receivers, receiver_members
from fim_server.core.repo.similar import similar_calls

if TYPE_CHECKING:
    from fim_server.core.repo.imports import Link
    from fim_server.core.repo.selection import Chooser, Cursor
    from fim_server.core.repo.uses import Uses

MAX_AMBIGUOUS = 4  # a name defined in more files than this is too common to guess
TURN = 4  # items each kind of evidence gives in its turn (``in_turns``)


def near_stage(chooser: "Chooser", cur: "Cursor", uses: "Uses", links: "list[Link]", far: list, target: set[str],
               with_modules: bool, take: Callable[..., bool], room: Callable[[], bool]) -> None:
    """``take`` the near stage's definitions while there is ``room``: ``far``
    holds the imported names used far from the cursor, ``target`` the words of
    the code around it (``lexical.words``); ``with_modules`` adds the names of
    the modules the file imports whole."""
    index = chooser.index
    imported = frozenset(link.path for link in links)
    folder = os.path.dirname(cur.path)

    places: dict[str, tuple[bool, bool, int]] = {}  # per file: not imported, not in the same folder, distance

    def place(path: str) -> tuple[bool, bool, int]:
        found = places.get(path)
        if found is None:
            found = places[path] = (path not in imported, os.path.dirname(path) != folder, path_distance(path, cur.path))
        return found

    def rank(item: tuple[FileEntry, int]) -> tuple:
        outside, elsewhere, distance = place(item[0].path)
        return outside, elsewhere, item[0].definitions[item[1]].kind == "method", distance, item[0].path, item[1]

    def best(found: list[tuple[FileEntry, int]]) -> tuple[FileEntry, int] | None:
        """Of a name's definitions: in an imported file, the same folder, a function, the nearest path."""
        return min(
            (item for item in found  # not a function nested in another: no other file calls it
             if item[0].path != cur.path and item[0].definitions[item[1]].kind != "nested"),
            key=rank, default=None,
        )

    def near_pick(name: str, kinds: tuple[str, ...] = ()) -> tuple[FileEntry, int] | None:
        """The best of a name's definitions (of ``kinds`` only, when given), unless too many files define it."""
        found = [(e, i) for e, i in index.named(name) if e.definitions[i].kind in kinds] if kinds else index.named(name)
        if not found or len({e.path for e, _ in found}) > MAX_AMBIGUOUS:
            return None
        return best(found)

    def near_picks():  # a name's pick depends on the file and its imports only: kept while the index stays the same
        for _, name in uses.near():
            if (pick := index.memo(("near pick", name, cur.path, imported), lambda: near_pick(name))) is not None:
                yield (*pick, False)

    named_like: dict[str, set[tuple[str, int]]] = {}

    def classes_of(owner: str) -> set[tuple[str, int]]:
        found = named_like.get(owner)
        if found is None:
            found = named_like[owner] = {(entry.path, k) for entry, k in chooser._classes_named(owner)}
        return found

    def called_on_receivers():
        def pick(owner: str, name: str) -> tuple[FileEntry, int] | None:
            """Of the methods named ``name``: one of a class named like ``owner`` (``_loop`` -> ``...Loop``) first."""
            found = [item for item in methods_named(index, name) if item[0].path != cur.path]
            if len(found) > 1:
                named = classes_of(owner)
                found = [item for item in found if (item[0].path, item[2]) in named] or found
            return None if not found else found[0][:2] if len(found) == 1 else best([item[:2] for item in found])

        receivers, order = receivers_near(cur, uses, chooser.modules)
        likely = likely_receivers(cur.line_prefix, receivers, order, uses.assigned_near(), chooser.modules)
        return short(receiver_members(index, likely, uses.local, pick))

    def called_by_similar_code():
        skip = {entry.file_id} if (entry := index.files.get(cur.path)) is not None else set()
        pick = lambda name: near_pick(name, ("method", "function"))  # noqa: E731
        return short(similar_calls(index, target, skip, uses.local, pick))

    short = lambda found: ((entry, def_index, True) for entry, def_index in found)  # noqa: E731
    words = chooser._words
    # what the cursor is about to name first, whole: an exception class after ``raise``, a member of ``owner.``
    for entry, def_index in exception_classes(index, cur, uses, links, words) + chooser._receiver(cur, links):
        take(entry, def_index, short=True)
    # then the rest in turns: the methods of the class each receiver near the cursor probably is, the
    # members the repository calls on receivers named like them, those the code most like the code around
    # the cursor calls, the inherited methods and those the receivers' names suggest, the members the file
    # calls, the names near the cursor, the imported names used far from it, the modules' names
    tiers = [lambda: short(chooser._voted(cur, uses)), called_on_receivers, called_by_similar_code,
             lambda: short(inherited_members(index, cur, uses, words) + chooser._owners(uses, links)),
             lambda: short(called_members(index, uses, words, best, (cur.path, imported))),
             near_picks, lambda: short(far)]
    if with_modules:
        tiers.append(lambda: short(chooser._module_names(cur, uses, links)))
    in_turns(tiers, take, room)


def in_turns(tiers: list[Callable[[], Iterable[tuple]]], take: Callable[..., bool], room: Callable[[], bool]) -> None:
    """``take(*item)`` TURN items of each of ``tiers`` (each made when first
    asked for) in turns, until they are spent or there is no room left."""
    running: list[Iterator[tuple] | None] = [None] * len(tiers)  # made when its first turn comes
    alive = list(range(len(tiers)))
    while alive:
        for k in list(alive):
            if not room():
                return
            if running[k] is None:
                running[k] = iter(tiers[k]())
            batch = list(islice(running[k], TURN))
            for item in batch:
                take(*item)
            if len(batch) < TURN:
                alive.remove(k)


def path_distance(a: str, b: str) -> int:
    """Folders between two paths (up from one to the common folder, down to the other)."""
    pa, pb = a.split("/"), b.split("/")
    common = 0
    for x, y in zip(pa, pb):
        if x != y:
            break
        common += 1
    return len(pa) + len(pb) - 2 * common
