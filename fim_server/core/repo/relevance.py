"""Which of a class's (or a module's) many members the code around the cursor is
about, for ``selection.py`` and ``members.py``: a member whose name shares words
with the code and comments near the cursor (``include_default`` ...
``get_default_type``; ``except UnicodeError`` on an ``input_charset`` ...
``CharsetError``) is more likely the one about to be named than the class's most
used one. The words are the parts of the identifiers and of the prose there,
lower case, less the few every line has."""

from __future__ import annotations

from functools import lru_cache
import re

NEAR_BEFORE, NEAR_AFTER = 12, 4  # lines of the document whose words count
_IDENT = re.compile(r"[A-Za-z_$][\w$]*")
_MEMBER = re.compile(r"\.([A-Za-z_$][\w$]*)")
_PARTS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
# parts too common to tell one member from another
_STOP = frozenset(
    "get set has add del new init self cls this the and for not none true false return def class from import elif "
    "else try except raise pass with while async await yield lambda print len str int dict list var let const "
    "function value obj args kwargs".split()
)


@lru_cache(maxsize=16384)
def parts(name: str) -> frozenset[str]:
    """The words of a name, lower case (``get_default_type`` -> default, type);
    kept for the names seen last (the same members are scored request after request)."""
    return frozenset(p for w in _PARTS.findall(name) if len(p := w.lower()) >= 3 and p not in _STOP)


class Words:
    """The words near the cursor and the member names the file calls: how well
    a member's name fits the code being written."""

    def __init__(self, text: str, line: int, block: str = "") -> None:
        lines = text.split("\n", max(0, line + 1 + NEAR_AFTER))  # the rest of a long file is not cut
        near = "\n".join(lines[max(0, line - NEAR_BEFORE) : line + 1 + NEAR_AFTER])
        self.words: frozenset[str] = frozenset().union(*(parts(n) for n in set(_IDENT.findall(near))))
        # ``.name`` anywhere in ``block`` (the code around the cursor, hundreds of lines)
        self.called: frozenset[str] = frozenset(_MEMBER.findall(block))
        self._cache: dict[str, int] = {}

    def shared(self, name: str) -> int:
        """How many of ``name``'s words are near the cursor."""
        found = self._cache.get(name)
        if found is None:
            found = self._cache[name] = len(parts(name) & self.words)
        return found

    def score(self, name: str) -> int:
        """The words shared, one more when the file calls ``.name`` somewhere."""
        return self.shared(name) + (name in self.called)
