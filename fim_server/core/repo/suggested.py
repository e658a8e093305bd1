"""The methods a receiver's name suggests, for ``selection.py``: ``self._loop``,
``event_loop`` and ``loop`` end with the word of ``...Loop`` classes, whose
methods (public first, the most used first, those fitting the words near the
cursor before all) are likely what follows ``loop.``. Right after ``loop.`` the
method's parameters fit too: ``func_call = functools.partial(ctx.run, func, ...)``
above ``return await loop.`` holds the ``func`` that ``run_in_executor(self,
executor, func, *args)`` takes."""

from __future__ import annotations

from collections import Counter
from itertools import chain
import re
from typing import TYPE_CHECKING, Callable

from fim_server.core.repo.index import FileEntry, last_word
from fim_server.core.repo.members import class_methods
from fim_server.core.repo.relevance import MAX_SHARING, by_name_and_words, parts

if TYPE_CHECKING:
    from fim_server.core.repo.index import RepoIndex
    from fim_server.core.repo.relevance import Words
    from fim_server.core.repo.uses import Uses

MAX_OWNERS = 2  # owners near the cursor whose suggested classes' methods are shown
PER_OWNER = 6  # methods shown per owner


def methods_of_classes(index: "RepoIndex", classes_named: Callable, word: str) -> list[tuple[FileEntry, int, str, int]]:
    """(file, index, name, lexical frequency) of the methods of the classes
    ``classes_named`` finds for ``word``, kept while the index stays the same."""
    def methods() -> list[tuple[FileEntry, int, str, int]]:
        found = []
        for entry, i in classes_named(word) if len(word) >= 3 else ():
            for j in class_methods(entry, i):
                name = entry.definitions[j].name
                if not name.startswith("__"):
                    found.append((entry, j, name, index.lexical.frequency(name)))
        return found

    return index.memo(("methods of classes", word), methods)


_PARAMETERS = re.compile(r"\((.*)")  # a signature's line from its first bracket
_PARAMETER = re.compile(r"(?:^|,)\s*\**([A-Za-z_$][\w$]*)")  # each name after a comma (``*args`` -> ``args``)
_NOT_PARAMETERS = frozenset(("self", "cls", "this"))


def parameter_words(entry: FileEntry, j: int) -> frozenset[str]:
    """The words of the parameter names on the first line of definition ``j``
    (``def run_in_executor(self, executor, func, *args):`` -> executor, func)."""
    m = _PARAMETERS.search(entry.rendered(j)[0].split("\n", 1)[0])
    names = [n for n in _PARAMETER.findall(m.group(1)) if n not in _NOT_PARAMETERS] if m is not None else []
    return frozenset().union(*(parts(n) for n in names))


def suggested_members(index: "RepoIndex", words: "Words", classes_named: Callable, owner: str,
                      partial: str = "", parameters: bool = True) -> list[tuple[tuple, FileEntry, int]]:
    """Methods of the classes whose name ends with ``owner``'s (``_loop`` ->
    ``...Loop``) starting with ``partial``, with their rank key: fitting the
    near words first (by their name, and with ``parameters``, for ``owner.``
    right before the cursor, by their parameters' names: a word counts when at
    most MAX_SHARING of the methods' parameters have it), then public, then the
    most used."""
    word = last_word(owner)
    methods = [m for m in methods_of_classes(index, classes_named, word) if m[2].startswith(partial)]
    fit = words.among(name for _, _, name, _ in methods)
    if parameters:
        _fit_parameters(index, classes_named, word, methods, words, fit)
    return [((-fit[name], name.startswith("_"), -frequency, name), entry, j) for entry, j, name, frequency in methods]


def _fit_parameters(index: "RepoIndex", classes_named: Callable, word: str, methods: list, words: "Words",
                    fit: dict[str, int]) -> None:
    """Adds to ``fit`` one per near word in a method's parameter names that at
    most MAX_SHARING of the methods with such words have (each method's
    parameter words kept while the index stays the same)."""
    params = index.memo(("parameter words", word), lambda: {
        (entry.path, j): parameter_words(entry, j) for entry, j, _, _ in methods_of_classes(index, classes_named, word)})
    near: dict[str, frozenset[str]] = {}
    for entry, j, name, _ in methods:
        if found := params[(entry.path, j)] & words.words:
            near[name] = near.get(name, frozenset()) | found
    sharing = Counter(w for found in near.values() for w in found)
    for name, found in near.items():
        fit[name] += sum(1 for w in found if sharing[w] <= MAX_SHARING)


def owner_members(index: "RepoIndex", uses: "Uses", modules: set[str], words: "Words",
                  classes_named: Callable) -> list[tuple[FileEntry, int]]:
    """Near ``owner.name`` uses (``loop.call_soon``): the first PER_OWNER methods
    by ``suggested_members``'s rank without the parameters (measured here, they
    changed nothing), then path and index, of the classes the first MAX_OWNERS
    owners' names suggest, one of each name, none the file defines. Without
    scoring every method: the fitting ones sorted ahead of the order the rest
    keep while the index stays the same."""
    out: list[tuple[FileEntry, int]] = []
    seen: set[str] = set()
    for owner in [o for o in uses.receivers() if o not in modules][:MAX_OWNERS]:
        word = last_word(owner)
        order, by_name, by_word = index.memo(("suggested order", word), lambda: _ordered(index, classes_named, word))
        fit = words.fitting(by_word, by_name.keys())
        first = sorted((-n, *item) for name, n in fit.items() for item in by_name[name])
        taken = 0
        for *_, name, _, j, entry in chain(first, ((0, *item) for item in order if item[2] not in fit)):
            if name not in seen and name not in uses.local:
                seen.add(name)
                out.append((entry, j))
                taken += 1
                if taken >= PER_OWNER:
                    break
    return out


def _ordered(index: "RepoIndex", classes_named: Callable, word: str) -> tuple[list, dict, dict]:
    """(private, minus the lexical frequency, name, path, index, file) of the
    methods ``methods_of_classes`` finds for ``word`` in that order; the same by
    name; the names by each of their words."""
    order = sorted((name.startswith("_"), -frequency, name, entry.path, j, entry)
                   for entry, j, name, frequency in methods_of_classes(index, classes_named, word))
    return (order, *by_name_and_words(order, 2))
