"""What the repository context keeps between requests, so that a choice made
after the cursor moved does not work out again what the last one did: the lines
and rendered definitions of the files asked about last (an index entry never
changes: a changed file is a new entry), the paths a prompt shows, the imports of
the last document texts, and the names found on each line near a cursor.

Each store is bounded; none keeps an entry of the index alive after it left.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import lru_cache
import threading
from typing import TYPE_CHECKING, Callable
from urllib.parse import quote
import weakref

from fim_server.core.repo import definitions as defs
from fim_server.core.snippets import display_path

if TYPE_CHECKING:
    from fim_server.core.repo.index import FileEntry

LINES_KEPT = 64
RENDERED_KEPT = 4096  # a few hundred bytes each
TEXTS_KEPT = 4
OF_TEXT_KEPT = 1024
OF_TEXT_CHARS = 2_000_000  # of the strings in the keys kept: a few megabytes at most

_lock = threading.Lock()
_LINES: "OrderedDict[int, tuple[FileEntry, list[str]]]" = OrderedDict()
# (id of the entry, definition index) -> (weak reference to the entry, (text, head length))
_RENDERED: "OrderedDict[tuple[int, int], tuple[weakref.ref, tuple[str, int]]]" = OrderedDict()
_OF_TEXT: dict[tuple, tuple] = {}
_of_text_chars = 0


def lines_of(entry: "FileEntry") -> list[str]:
    """The lines of a file's text, kept for the last few files asked about."""
    with _lock:
        found = _LINES.get(id(entry))
        if found is not None and found[0] is entry:
            _LINES.move_to_end(id(entry))
            return found[1]
    lines = entry.text.split("\n")
    with _lock:
        _LINES[id(entry)] = (entry, lines)
        if len(_LINES) > LINES_KEPT:
            _LINES.popitem(last=False)
    return lines


def rendered(entry: "FileEntry", i: int) -> tuple[str, int]:
    """``definitions.render`` of an entry's definition ``i``, kept for the last
    few thousand asked about."""
    key = (id(entry), i)
    with _lock:
        found = _RENDERED.get(key)
        if found is not None and found[0]() is entry:
            _RENDERED.move_to_end(key)
            return found[1]
    out = defs.render(lines_of(entry), entry.definitions[i])
    with _lock:
        _RENDERED[key] = (weakref.ref(entry), out)
        if len(_RENDERED) > RENDERED_KEPT:
            _RENDERED.popitem(last=False)
    return out


def of_text(key: tuple, compute: Callable[[], tuple]):
    """``compute()``, a function of the strings in ``key`` only (the lines of a
    document naming a receiver), kept for the last thousand or so keys: the lines
    stay the same from one request to the next while the edit is elsewhere; all
    forgotten at once past OF_TEXT_KEPT keys or OF_TEXT_CHARS characters."""
    global _of_text_chars
    found = _OF_TEXT.get(key)
    if found is None:
        found = compute()
        size = sum(len(part) for part in key if isinstance(part, str))
        with _lock:
            if len(_OF_TEXT) >= OF_TEXT_KEPT or _of_text_chars + size > OF_TEXT_CHARS:
                _OF_TEXT.clear()
                _of_text_chars = 0
            _OF_TEXT[key] = found
            _of_text_chars += size
    return found


@lru_cache(maxsize=4096)
def file_uri(path: str) -> str:
    return "file://" + quote(path)


@lru_cache(maxsize=4096)
def shown_path(path: str, roots: tuple[str, ...] = ()) -> str:
    """The path a prompt names a file of the index by (``display_path`` with the
    index's folders ``roots``)."""
    return display_path(file_uri(path), roots)


class Texts:
    """A function of a document's text (``imports_of``), kept for the last few texts
    (the same text after the cursor moved, or in another stage's choice, is not
    read again); a text compares equal at once when it is the same object."""

    def __init__(self, compute: Callable[[str, str], tuple]) -> None:
        self.compute = compute
        self._kept: list[tuple[str, str, tuple]] = []

    def __call__(self, language: str, text: str) -> tuple:
        for lang, seen, found in self._kept:
            if lang == language and seen == text:
                return found
        found = self.compute(language, text)
        self._kept = [(language, text, found)] + self._kept[: TEXTS_KEPT - 1]
        return found

    def clear(self) -> None:
        self._kept = []


def clear() -> None:
    """Forget everything kept (tests, benchmarks measuring a cold start)."""
    global _of_text_chars
    with _lock:
        _LINES.clear()
        _RENDERED.clear()
        _OF_TEXT.clear()
        _of_text_chars = 0
    shown_path.cache_clear()
    file_uri.cache_clear()
