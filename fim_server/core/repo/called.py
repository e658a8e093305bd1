"""The members the file calls on its objects, for ``selection.py``: a file that
calls ``self._proactor.recv(...)`` in one method likely calls ``recv_into`` or
``recv`` again in the next, and ``.create_future()`` three times likely a fourth;
the definitions of the names it uses as ``x.name`` in the code around the cursor
(hundreds of lines), the most used first, unless many classes define the name or
it is a method of the language's built-in types (``.append``, ``.get``:
``relevance.BUILTIN_METHODS``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from fim_server.core.repo.index import FileEntry
from fim_server.core.repo.relevance import BUILTIN_METHODS

if TYPE_CHECKING:
    from fim_server.core.repo.index import RepoIndex
    from fim_server.core.repo.relevance import Words
    from fim_server.core.repo.uses import Uses

MAX_CALLED = 10
MAX_FILES = 4  # a name defined in more files than this says too little about which one is meant
MAX_LOOKED = 24  # the most used names looked up


def called_members(index: "RepoIndex", uses: "Uses", words: "Words", best: Callable,
                   key: tuple | None = None) -> list[tuple[FileEntry, int]]:
    """The definitions of the ``x.name`` members the code around the cursor uses
    (``words.calls``) and the file does not define (``best`` picks one of a
    name's definitions), the most used first. With a ``key`` saying all ``best``
    depends on (the file and its imports), a name's pick is kept while the index
    stays the same."""

    def pick(name: str) -> tuple[FileEntry, int] | None:
        found = [(e, i) for e, i in index.named(name) if e.definitions[i].kind == "method"]
        if not found or len({e.path for e, _ in found}) > MAX_FILES:
            return None
        return best(found)

    out = []
    wanted = [(n, name) for name, n in words.calls.items()
              if name not in uses.local and name not in BUILTIN_METHODS and not name.startswith("__") and len(name) > 2]
    for _, name in sorted(wanted, key=lambda item: (-item[0], item[1]))[:MAX_LOOKED]:
        chosen = pick(name) if key is None else index.memo(("called pick", name, *key), lambda: pick(name))
        if chosen is not None:
            out.append(chosen)
            if len(out) >= MAX_CALLED:
                break
    return out
