"""Lexical similarity over windows of the indexed files: BM25 with a window's
term frequency taken as one (a window is short; what counts is which rare words it
shares with the code around the cursor).

Windows are ``WINDOW_LINES`` lines, without overlap; postings are compact arrays of
window ids per word. A removed file's windows are skipped until enough are dead
to be worth a compaction.
"""

from __future__ import annotations

from array import array
import math
from operator import itemgetter
import re
import sys
from typing import Iterable

WINDOW_LINES = 16
MAX_DF_SHARE = 0.02  # a word in more windows than this share says little (self, return, ...)
MIN_MAX_DF = 64
MAX_QUERY_WORDS = 32
RANKED_KEPT = 64  # windows of the last query's ranking kept (the near stage and the lexical stage ask the same)
K1, B = 1.2, 0.75
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")


def words(text: str) -> set[str]:
    return set(_WORD.findall(text))


class Lexical:
    def __init__(self) -> None:
        self.postings: dict[str, int | array] = {}  # word -> window id, or an array of them
        self.window_file = array("I")
        self.window_line = array("I")
        self.window_len = array("H")
        self.live: set[int] = set()  # file ids whose windows count
        self.dead_windows = 0
        self.live_windows = 0
        self.total_len = 0
        self.changes = 0  # bumped by every add, removal and compaction: a kept ranking is stale
        self._ranked: tuple | None = None  # (changes, query, how many, the best (window id, raw score) first)

    def add(self, file_id: int, lines: list[str]) -> None:
        """The windows of a file (its lines without terminators)."""
        intern = sys.intern
        postings = self.postings
        for start in range(0, len(lines), WINDOW_LINES):
            found = _WORD.findall("\n".join(lines[start : start + WINDOW_LINES]))
            if not found:
                continue
            unique = set(found)
            wid = len(self.window_file)
            self.window_file.append(file_id)
            self.window_line.append(start)
            self.window_len.append(min(len(unique), 65535))
            self.total_len += len(unique)
            self.live_windows += 1
            for word in unique:
                ids = postings.get(word)
                if ids is None:  # a word in one window: its id alone (an array costs 64 bytes more)
                    postings[intern(word)] = wid
                elif type(ids) is int:
                    postings[word] = array("I", (ids, wid))
                else:
                    ids.append(wid)
        self.live.add(file_id)
        self.changes += 1

    def frequency(self, word: str) -> int:
        """In how many windows ``word`` is."""
        ids = self.postings.get(word)
        return 0 if ids is None else 1 if type(ids) is int else len(ids)

    def remove(self, file_id: int) -> None:
        if file_id not in self.live:
            return
        self.live.discard(file_id)
        self.changes += 1
        gone = sum(1 for f in self.window_file if f == file_id)
        self.dead_windows += gone
        self.live_windows -= gone
        self.total_len -= sum(n for f, n in zip(self.window_file, self.window_len) if f == file_id)
        if self.dead_windows > max(4096, self.live_windows):
            self.compact()

    def compact(self) -> None:
        """Drop the dead windows: ids renumbered, postings rebuilt."""
        keep = [w for w, f in enumerate(self.window_file) if f in self.live]
        new_id = {old: new for new, old in enumerate(keep)}
        self.window_file = array("I", (self.window_file[w] for w in keep))
        self.window_line = array("I", (self.window_line[w] for w in keep))
        self.window_len = array("H", (self.window_len[w] for w in keep))
        postings: dict[str, int | array] = {}
        for word, ids in self.postings.items():
            kept = array("I", (new_id[w] for w in ((ids,) if type(ids) is int else ids) if w in new_id))
            if kept:
                postings[word] = kept[0] if len(kept) == 1 else kept
        self.postings = postings
        self.dead_windows = 0
        self.changes += 1

    def search(self, query: Iterable[str], skip_files: set[int], limit: int = 8) -> list[tuple[float, int, int]]:
        """The best windows for the query words: (score, file id, first line),
        best first; windows of ``skip_files`` left out. The ranking of the last
        query is kept while the windows stay the same (asked again with other
        files left out: one ranking per request)."""
        query = query if isinstance(query, frozenset) else frozenset(query)
        wanted = limit * 8
        kept = self._ranked
        if kept is not None and kept[0] == self.changes and kept[1] == query and kept[2] >= wanted:
            return self._finish(kept[3][:wanted], skip_files, limit)
        best = self._rank(query, max(wanted, RANKED_KEPT))
        self._ranked = (self.changes, query, max(wanted, RANKED_KEPT), best)
        return self._finish(best[:wanted], skip_files, limit)

    def _rank(self, query: frozenset[str], many: int) -> list[tuple[int, float]]:
        """(window id, summed idf) of the ``many`` best windows, best first."""
        n = max(1, self.live_windows)
        max_df = max(MIN_MAX_DF, int(n * MAX_DF_SHARE))
        scored_words = []
        for word in query:
            ids = self.postings.get(word)
            if ids is None:
                continue
            if type(ids) is int:
                ids = (ids,)
            if len(ids) <= max_df:
                scored_words.append((len(ids), word, ids))
        scored_words.sort()
        scores: dict[int, float] = {}
        get = scores.get
        for df, _, ids in scored_words[:MAX_QUERY_WORDS]:
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            for wid in ids:
                scores[wid] = get(wid, 0.0) + idf
        return sorted(scores.items(), key=itemgetter(1), reverse=True)[:many]  # ties in order (heapq.nlargest's too)

    def _finish(self, best: list[tuple[int, float]], skip_files: set[int], limit: int) -> list[tuple[float, int, int]]:
        """``search``'s answer from the ranked windows: scored with their length, ``skip_files``' left out."""
        n = max(1, self.live_windows)
        average = self.total_len / n if n else 1.0
        out = []
        live, window_file, window_len, window_line = self.live, self.window_file, self.window_len, self.window_line
        for wid, raw in best:
            file_id = window_file[wid]
            if file_id not in live or file_id in skip_files:
                continue
            norm = (K1 + 1) / (1 + K1 * (1 - B + B * window_len[wid] / average))
            out.append((raw * norm, file_id, window_line[wid]))
        out.sort(key=lambda item: (-item[0], item[1], item[2]))
        return out[:limit]
