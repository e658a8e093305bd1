"""The names the modules a file imports whole offer, for ``selection.py`` (the
``imports`` stage with room left): of each of the nearest used modules, its best
names taken in turns: those sharing two words or more with the code near the
cursor, then those other files reach through the module (``tasks.all_tasks``:
``qualified.py``), then the rest, the most used first."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from fim_server.core.repo.imports import MODULE, Link
from fim_server.core.repo.index import FileEntry
from fim_server.core.repo.qualified import member_uses
from fim_server.core.repo.relevance import by_name_and_words

if TYPE_CHECKING:
    from fim_server.core.repo.index import RepoIndex
    from fim_server.core.repo.relevance import Words
    from fim_server.core.repo.uses import Uses

MAX_MODULES = 4
MAX_NAMES = 12  # of each module


def module_names(index: "RepoIndex", words: "Words", path: str, uses: "Uses", links: list[Link],
                 passed_on: Callable) -> list[tuple[FileEntry, int]]:
    """The best MAX_NAMES names of each of the MAX_MODULES modules imported whole
    that the file at ``path`` uses nearest, taken in turns (``passed_on(entry,
    popularity)``: the names a module passes on from others). As sorting each
    module's names by (two shared words or more / reached / neither, minus the
    words shared, minus the times reached, minus the frequency, name), without
    scoring every name: the few fitting the near words sorted and merged with
    the order the rest keep while the index stays the same."""
    modules = sorted({(uses.nearest(link.local) or 1 << 20, link.path) for link in links if link.remote is MODULE})
    turns = []
    for rank, (_, module) in enumerate(modules[:MAX_MODULES]):
        order, by_name, by_word = index.memo(("offered", module, path), lambda: _ordered(index, module, path, passed_on))
        fit = words.fitting(by_word, by_name.keys())
        reached = member_uses(index, module, path)
        first = sorted(((_key(item, fit[name], reached), item) for name in fit for item in by_name[name]),
                       key=lambda pair: pair[0])
        for j, item in enumerate(_merged(first, order, fit)):
            turns.append(((j, rank), item[2], item[3]))
    return [(entry, i) for _, entry, i in sorted(turns, key=lambda turn: turn[0])]


def _merged(first: list[tuple], order: list[tuple], fit: dict) -> list[tuple]:
    """The first MAX_NAMES items of ``first`` and of the ``order`` items not in
    ``fit``, both (key, item) sorted by key, merged by key (``first``'s on a tie):
    ``heapq.merge`` without its per-item key calls."""
    out: list[tuple] = []
    i = 0
    for key, item in order:
        if item[1] in fit:
            continue
        while i < len(first) and first[i][0] <= key and len(out) < MAX_NAMES:
            out.append(first[i][1])
            i += 1
        if len(out) >= MAX_NAMES:
            return out
        out.append(item)
    out += [item for _, item in first[i : i + MAX_NAMES - len(out)]]
    return out


def _key(item: tuple, fit: int, reached) -> tuple:
    return (0 if fit >= 2 else 1 if reached[item[1]] else 2, -fit, -reached[item[1]], *item[:2])


def _ordered(index: "RepoIndex", module: str, path: str, passed_on: Callable) -> tuple[list, dict, dict]:
    """(rank key when no near word fits, (minus the frequency, name, file,
    index)) of each name the module offers, in that order (a stable sort of its
    definitions, then the names it passes on); the items by name; the names by
    each of their words."""
    popularity = lambda name: -index.lexical.frequency(name)
    entry = index.files.get(module)
    ranked = [(popularity(d.name), d.name, entry, i) for i, d in enumerate(entry.definitions if entry else ())
              if d.kind in ("function", "class", "constant") and not d.name.startswith("__")]
    ranked += passed_on(entry, popularity)
    reached = member_uses(index, module, path)
    order = sorted(((_key(item, 0, reached), item) for item in ranked), key=lambda pair: pair[0])
    return (order, *by_name_and_words((item for _, item in order), 1))
