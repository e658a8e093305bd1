"""The members the code most like the code around the cursor calls, for
``near.py``: the windows of other files that share the most rare words with it
(``lexical.py``'s BM25) often do what the cursor is about to do, in the same
words (``except OSError as exc:`` then ``self._protocol.error_received(exc)``);
the definitions of what they call are likely what the next line calls.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable, Iterable

from fim_server.core.repo.relevance import BUILTIN_METHODS

if TYPE_CHECKING:
    from fim_server.core.repo.index import FileEntry, RepoIndex

_MEMBER_CALL = re.compile(r"\.\s*([A-Za-z_$][\w$]*)\s*\(")
WINDOWS = 4  # the best windows looked at
MAX_NAMES = 8  # definitions given, the best first


def similar_calls(index: "RepoIndex", target: Iterable[str], skip_ids: set[int], local: set[str],
                  pick: Callable[[str], "tuple[FileEntry, int] | None"]) -> list[tuple["FileEntry", int]]:
    """The definitions (``pick`` chooses one of a name's, or none) of the
    ``x.name(`` members the best windows for the ``target`` words (files
    ``skip_ids`` left out) call, each name scored by the windows calling it (the
    sum of their scores); names ``local`` to the file, dunder names and the
    methods of the language's built-in types left out."""
    score: dict[str, float] = {}
    for s, file_id, line in index.lexical.search(target, skip_ids, limit=WINDOWS):
        entry = index.by_id.get(file_id)
        if entry is None:
            continue
        for name in set(_MEMBER_CALL.findall(entry.window_text(line))):
            if name not in local and name not in BUILTIN_METHODS and not name.startswith("__"):
                score[name] = score.get(name, 0.0) + s
    out = []
    for name in sorted(score, key=lambda n: (-score[n], n)):
        found = pick(name)
        if found is not None:
            out.append(found)
            if len(out) >= MAX_NAMES:
                break
    return out
