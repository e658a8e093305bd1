"""What the repository calls on receivers named like the ones near the cursor,
for ``near.py``: across asyncio, ``self._loop.``, ``loop.`` and ``event_loop.``
are followed by ``call_soon``, ``get_debug``, ``create_future``;
``self._protocol.`` by ``data_received``, ``connection_lost``; ``waiter.`` by
``set_result``, ``done``. The class of a receiver is rarely written down and the
calls near the cursor may not settle it (or there are none yet: ``loop =
events.get_running_loop()`` just above), but its name says what is called on it.

The calls are counted per receiver word (the last word of the receiver's name,
lower case: ``self._loop`` and ``event_loop`` -> ``loop``) and member name; the
index adds a file's counts when it puts the file in and takes them out when it
drops it, as it does for ``qualified.py``'s module members.
"""

from __future__ import annotations

from collections import Counter
import re
from typing import TYPE_CHECKING, Callable, Iterable

from fim_server.core.repo.relevance import last_word

if TYPE_CHECKING:
    from fim_server.core.repo.index import FileEntry, RepoIndex

# ``owner.name(``: the whole name before the dot (no name character before it; the
# lookahead takes it at once), then the member and its bracket
_CALL = re.compile(r"(?<![\w$])(?=([A-Za-z_$][\w$]*))\1\s*\.\s*([A-Za-z_$][\w$]*)\s*\(")
_TRAILING_NAME = re.compile(r"([A-Za-z_$][\w$]*)\s*\.?\s*$")
NOT_RECEIVERS = frozenset(("self", "this", "cls", "super"))
MAX_RECEIVERS = 4  # receiver words looked at, the nearest first
PER_RECEIVER = 8  # the most called members shown per receiver word
MIN_CALLS = 2  # a member called fewer times than this on such receivers says little


def receiver_calls(text: str) -> Counter[tuple[str, str]]:
    """(receiver word, member) -> how often ``text`` calls ``receiver.member(``
    (not on ``self``/``this``, nor on a capitalized name: a class or a namespace)."""
    found: Counter[tuple[str, str]] = Counter()
    for owner, name in _CALL.findall(text):
        if owner in NOT_RECEIVERS or owner[:1].isupper() or name.startswith("__"):
            continue
        found[(last_word(owner), name)] += 1
    return found


def called_on(index: "RepoIndex", word: str) -> list[tuple[int, str]]:
    """(calls, member) of the members the files of the index call on receivers
    of ``word`` at least MIN_CALLS times, the most called first; kept until the
    index changes. The file being typed in counts too: what it calls on such
    receivers elsewhere is good evidence, and the index holds an open document
    as typed (its live text), not a saved text holding what is being typed.
    The caller holds the index's lock."""
    def compute() -> list[tuple[int, str]]:
        found = index.receivers.get(word, {})
        return sorted(((n, name) for name, n in found.items() if n >= MIN_CALLS), key=lambda item: (-item[0], item[1]))

    return index.memo(("called on", word), compute)


def likely_receivers(line_prefix: str, receivers: dict[str, dict[str, int]], order: list[str],
                     assigned: dict[str, int], skip: Iterable[str]) -> list[str]:
    """The receivers the next call is likely made on: the name right before the
    cursor (``return await loop``, ``self._loop.``) first, then, nearest first,
    those near the cursor (``receivers``: receiver -> {member: distance}, in
    ``members.receivers_near``'s ``order``) and the names the lines near it assign
    (``assigned``: name -> distance), less ``skip`` (modules, ``self``)."""
    skip = set(skip) | NOT_RECEIVERS
    distance = {owner: min(receivers[owner].values(), default=0) for owner in order}
    for name, d in assigned.items():
        if name not in distance and name not in skip:
            distance[name] = d
    m = _TRAILING_NAME.search(line_prefix)
    first = [m.group(1)] if m is not None and m.group(1) not in skip else []
    return first + sorted(distance, key=lambda owner: (distance[owner], owner))


def receiver_members(index: "RepoIndex", receivers: Iterable[str], local: set[str],
                     pick: Callable[[str, str], "tuple[FileEntry, int] | None"]) -> list[tuple["FileEntry", int]]:
    """For each receiver word of ``receivers`` (MAX_RECEIVERS of them, in that
    order), the definitions of the PER_RECEIVER members the repository calls most
    on receivers of that word (``pick(receiver, name)`` chooses one of a name's
    definitions, or none); names ``local`` to the file left out."""
    out: list[tuple[FileEntry, int]] = []
    seen: set[str] = set()
    looked: list[str] = []
    for owner in receivers:
        word = last_word(owner)
        if word in looked:
            continue
        looked.append(word)
        shown = 0
        for _, name in called_on(index, word):
            if shown >= PER_RECEIVER:
                break
            if name in seen or name in local:
                continue
            found = pick(owner, name)
            if found is not None:
                seen.add(name)
                out.append(found)
                shown += 1
        if len(looked) >= MAX_RECEIVERS:
            break
    return out
