"""Which of a class's (or a module's) many members the code around the cursor is
about, for ``selection.py`` and ``members.py``: a member whose name shares words
with the code and comments near the cursor (``include_default`` ...
``get_default_type``; ``except UnicodeError`` on an ``input_charset`` ...
``CharsetError``) is more likely the one about to be named than the class's most
used one. The words are the parts of the identifiers and of the prose there,
lower case, less the few every line has."""

from __future__ import annotations

from collections import Counter
from functools import lru_cache
from itertools import chain
import re
from typing import Iterable

NEAR_BEFORE, NEAR_AFTER = 12, 4  # lines of the document whose words count
MAX_SHARING = 3  # a near word in more of the candidates' names than this does not count
_IDENT = re.compile(r"[A-Za-z_$][\w$]*")
# ``x.name`` (after a name or a bracket); the dot first, then what is before it:
# the search skips from dot to dot (ten times faster than looking behind first)
MEMBER_USE = re.compile(r"\.(?<=[\w$)\]]\.)([A-Za-z_$][\w$]*)")
_PARTS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
# parts too common to tell one member from another
_STOP = frozenset(
    "get set has add del new init self cls this the and for not none true false return def class from import elif "
    "else try except raise pass with while async await yield lambda print len str int dict list var let const "
    "function value obj args kwargs".split()
)


# methods of Python's and JavaScript's built-in types: ``parts.append`` is the list's, not the repository's
BUILTIN_METHODS = frozenset(
    name for kind in (str, bytes, bytearray, list, dict, set, frozenset, tuple, int, float, object, type, BaseException)
    for name in dir(kind)
) | frozenset("push pop shift unshift map filter reduce forEach slice splice concat join indexOf includes keys values "
              "entries length toString call apply bind then catch finally has get set delete add size next".split())


def last_word(name: str) -> str:
    """The last word of a name, lower case: ``AbstractEventLoop`` and ``event_loop`` -> ``loop``."""
    words = _PARTS.findall(name)
    return words[-1].lower() if words else name.lower()


@lru_cache(maxsize=1 << 16)
def parts(name: str) -> frozenset[str]:
    """The words of a name, lower case (``get_default_type`` -> default, type);
    kept for the names seen last (the same members are scored request after request)."""
    return frozenset(p for w in _PARTS.findall(name) if len(p := w.lower()) >= 3 and p not in _STOP)


def lines_around(text: str, at: int, before: int, after: int) -> str:
    """The ``before`` lines above the line starting at offset ``at``, that line and ``after`` below."""
    start = at
    for _ in range(before):
        if start == 0:
            break
        start = text.rfind("\n", 0, start - 1) + 1
    end = at
    for _ in range(after + 1):
        j = text.find("\n", end)
        if j < 0:
            return text[start:]
        end = j + 1
    return text[start:end]


def by_words(names: Iterable[str]) -> dict[str, list[str]]:
    """Each word of ``names`` (``parts``) -> the names having it, each name once."""
    out: dict[str, list[str]] = {}
    for name in dict.fromkeys(names):
        for word in parts(name):
            out.setdefault(word, []).append(name)
    return out


def by_name_and_words(items: Iterable[tuple], at: int) -> tuple[dict[str, list[tuple]], dict[str, list[str]]]:
    """Of ranked ``items`` whose name is ``item[at]``: the items by name, each
    name's in their order, and the names by each of their words (``by_words``)."""
    by_name: dict[str, list[tuple]] = {}
    for item in items:
        by_name.setdefault(item[at], []).append(item)
    return by_name, by_words(by_name)


class Words:
    """The words near the cursor and the members the code around it uses: how
    well a member's name fits the code being written."""

    def __init__(self, block: str = "", at: int = 0, near_words: frozenset[str] | None = None) -> None:
        """``block``: the code around the cursor (hundreds of lines); ``at``: the
        offset in it where the cursor's line starts; ``near_words``: the words of
        its NEAR_BEFORE lines above to NEAR_AFTER below when known (``Uses.near_words``)."""
        if near_words is None:
            near = lines_around(block, at, NEAR_BEFORE, NEAR_AFTER)
            near_words = frozenset().union(*(parts(n) for n in set(_IDENT.findall(near))))
        self.words: frozenset[str] = near_words
        # how often the block uses ``x.name`` for each name
        self.calls: Counter[str] = Counter(MEMBER_USE.findall(block))
        self._scores: dict[str, int] = {}

    def shared(self, name: str) -> int:
        """How many of ``name``'s words are near the cursor."""
        return len(parts(name) & self.words)

    def score(self, name: str) -> int:
        """The words shared, one more when the code around the cursor uses ``x.name``."""
        found = self._scores.get(name)
        if found is None:
            found = self._scores[name] = len(parts(name) & self.words) + (name in self.calls)
        return found

    def fitting(self, by_word: dict[str, list[str]], names, excluded: set[str] | frozenset[str] = frozenset()) -> dict[str, int]:
        """``among`` of ``names`` less ``excluded`` without the names it scores
        zero, from ``by_words(names)`` (kept with the names): the work is in the
        few near words the names share, not in every name."""
        fit: dict[str, int] = {}
        for word in self.words & by_word.keys():
            named = [name for name in by_word[word] if name not in excluded] if excluded else by_word[word]
            if len(named) <= MAX_SHARING:
                for name in named:
                    fit[name] = fit.get(name, 0) + 1
        for name in self.calls.keys() & names:
            if name not in excluded:
                fit[name] = fit.get(name, 0) + 1
        return fit

    def among(self, names: Iterable[str]) -> dict[str, int]:
        """``score`` of each of ``names`` counting only the near words that few of
        them share: in a module whose names all say ``loop``, ``loop`` near the
        cursor tells none of them apart."""
        near = self.words
        shared = {name: parts(name) & near for name in names}
        out = dict.fromkeys(shared, 0)
        sharing = [(name, found) for name, found in shared.items() if found]  # most names share none
        if sharing:
            counts = Counter(chain.from_iterable(found for _, found in sharing))
            rare = {word for word, n in counts.items() if n <= MAX_SHARING}
            for name, found in sharing:
                out[name] = len(found & rare)
        for name in out.keys() & self.calls.keys():
            out[name] += 1
        return out
