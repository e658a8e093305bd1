"""Context beyond the cursor: snippets of other open documents and of recently
edited regions, ranked by how many identifiers they share with the code around the
cursor, chosen within a character budget (pure apart from a per-version cache).

The chosen snippets are returned ordered by path and line, not by score, so the
start of the prompt they open stays the same from keystroke to keystroke as long
as the same snippets win (the provider's prefix cache can then serve it).

Files the user excluded never contribute: the caller passes ``may_send(uri)``.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, replace
import re
from typing import Callable, Iterable
from urllib.parse import unquote, urlparse

WINDOW_LINES = 16
STEP_LINES = 8
AROUND_LINES = 24  # lines of the cursor's surroundings that rank the snippets
RECENT_BOOST = 0.15
MAX_RECENT = 16
MAX_CANDIDATES_PER_DOC = 24
REUSE_SIMILARITY = 0.8
HOLD_LINES = 16  # a prompt's snippets stand while the cursor stays this near where they were chosen
HOLD_SIMILARITY = 0.5  # ... and the words around it stay this similar
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")


@dataclass(frozen=True)
class Snippet:
    path: str
    text: str
    score: float
    uri: str = ""
    start_line: int = 0


@dataclass(frozen=True)
class Source:
    """An open document as the collector sees it."""

    uri: str
    version: int | None
    lines: list[str]
    language_id: str = ""


def words(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text))


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


SHOWN_PARTS = 3  # a snippet's file is named by the last parts of its path


def display_path(uri: str, roots: tuple[str, ...] = ()) -> str:
    """The last SHOWN_PARTS parts of a URI's path, as a reader knows the file;
    of a file in one of the workspace folders ``roots``, of its path in that
    folder (``asyncio/base_events.py`` in the folder ``asyncio`` is
    ``base_events.py``, as the code imports it; with several folders, the
    folder's name first): never longer than the plain last parts, and each
    character a header does not take, a definition may."""
    parsed = urlparse(uri)
    path = unquote(parsed.path)
    for root in roots:
        if path.startswith(root.rstrip("/") + "/"):
            inside = [p for p in path[len(root.rstrip("/")) + 1 :].split("/") if p]
            if len(roots) > 1:
                inside = [p for p in root.split("/") if p][-1:] + inside
            if inside:
                return "/".join(inside[-SHOWN_PARTS:])
    parts = [p for p in path.split("/") if p]
    return "/".join(parts[-SHOWN_PARTS:]) if parts else uri


def around_cursor(prefix: str, suffix: str, lines: int = AROUND_LINES) -> str:
    # rsplit/split with a limit: only the lines used are cut out of the windows
    before = prefix.rsplit("\n", lines)[-lines:]
    after = suffix.split("\n", lines // 3)[: lines // 3]
    return "\n".join(before + after)


@dataclass(frozen=True)
class Held:
    """The snippets a prompt got, and the place they were chosen for: the line, the
    words around it and what else they depend on (``world``: budgets, the other
    documents' versions, the index's generation)."""

    line: int
    words: frozenset[str]
    world: tuple
    snippets: tuple

    def still(self, line: int, around: frozenset[str], world: tuple) -> bool:
        """Whether they stand for a prompt at ``line``: while the user types in one
        place, the snippets stay the same (the start of the prompt, which the
        provider's prefix cache serves) instead of following every change of the
        words around the cursor; a move of more than ``HOLD_LINES`` lines from where
        they were chosen, new words, or any change elsewhere chooses again."""
        return (world == self.world and abs(line - self.line) <= HOLD_LINES
                and similarity(self.words, around) >= HOLD_SIMILARITY)


class RecentEdits:
    """Where the user edited last (uri, line), newest last; one per server."""

    def __init__(self, size: int = MAX_RECENT) -> None:
        self._edits: deque[tuple[str, int]] = deque(maxlen=size)

    def record(self, uri: str, line: int) -> None:
        if self._edits and self._edits[-1][0] == uri and abs(self._edits[-1][1] - line) <= STEP_LINES:
            self._edits.pop()  # the same region: keep one entry, the newest place
        self._edits.append((uri, line))

    def forget(self, uri: str) -> None:
        self._edits = deque((e for e in self._edits if e[0] != uri), maxlen=self._edits.maxlen)

    def __iter__(self):
        return iter(reversed(self._edits))


class SnippetIndex:
    """Chunks, their word sets and an inverted index (word -> chunks) per document
    version, so a keystroke only counts shared words of the chunks that have some."""

    def __init__(self) -> None:
        self._chunks: dict[str, tuple[int | None, list[tuple[int, str, frozenset[str]]]]] = {}
        self._postings: dict[str, dict[str, list[int]]] = {}
        self._last: tuple | None = None

    def postings(self, source: Source) -> dict[str, list[int]]:
        chunks = self.chunks(source)
        cached = self._postings.get(source.uri)
        if cached is None:
            index: dict[str, list[int]] = {}
            for i, (_, _, chunk_words) in enumerate(chunks):
                for w in chunk_words:
                    index.setdefault(w, []).append(i)
            # words in many chunks (self, return, ...) tell little apart
            limit = max(4, len(chunks) // 10)
            cached = {w: ids for w, ids in index.items() if len(ids) <= limit}
            self._postings[source.uri] = cached
        return cached

    def chunks(self, source: Source) -> list[tuple[int, str, frozenset[str]]]:
        cached = self._chunks.get(source.uri)
        if cached is not None and cached[0] == source.version and source.version is not None:
            return cached[1]
        self._postings.pop(source.uri, None)
        out = []
        lines = source.lines
        for start in range(0, max(1, len(lines)), STEP_LINES):
            text = "".join(lines[start : start + WINDOW_LINES])
            if text.strip():
                out.append((start, text, words(text)))
            if start + WINDOW_LINES >= len(lines):
                break
        self._chunks[source.uri] = (source.version, out)
        return out

    def forget(self, uri: str) -> None:
        self._chunks.pop(uri, None)
        self._postings.pop(uri, None)

    def clear_choice(self) -> None:
        """Forget the last choice, so the next ``collect`` asks ``may_send`` again
        (after any change of settings: a document may have become excluded)."""
        self._last = None

    def collect(
        self,
        current_uri: str,
        around: str,
        sources: Iterable[Source],
        *,
        budget_chars: int,
        recent: Iterable[tuple[str, int]] = (),
        may_send: Callable[[str], bool] = lambda uri: True,
        skip_lines: tuple[int, int] = (0, -1),
        roots: tuple[str, ...] = (),
    ) -> tuple[Snippet, ...]:
        """The best snippets within ``budget_chars`` (text plus a header line each,
        naming the file by ``display_path`` with the workspace folders ``roots``).

        Other documents are cut into overlapping windows; recently edited regions
        (also of the current document, outside the lines ``skip_lines`` the prompt
        already holds) get a boost. Chunks of excluded documents are never read.
        """
        if budget_chars <= 0:
            return ()
        target = words(around)
        if not target:
            return ()
        by_uri = {s.uri: s for s in sources}
        recent = tuple(recent)
        # Typing changes the words around the cursor a little at a time: while they
        # stay nearly the same and no other document changed, the last choice stands
        # (cheap, and the prompt's start stays the same for the prefix cache).
        state = (current_uri, budget_chars, skip_lines[0] // WINDOW_LINES, recent, roots,
                 tuple((u, s.version) for u, s in by_uri.items() if u != current_uri))
        last = self._last
        if last is not None and last[0] == state and similarity(last[1], target) >= REUSE_SIMILARITY:
            return last[2]
        recent_lines: dict[str, list[int]] = {}
        for uri, line in recent:
            recent_lines.setdefault(uri, []).append(line)
        candidates: list[Snippet] = []
        for uri, source in by_uri.items():
            if not may_send(uri):
                continue
            near = recent_lines.get(uri, [])
            if uri == current_uri:
                # the document being typed in changes every keystroke: only its
                # recently edited regions, cut on the spot, outside the prompt's windows
                chunks = []
                for ln in near:
                    start = max(0, ln - WINDOW_LINES // 2)
                    end = start + WINDOW_LINES
                    if start < skip_lines[1] and end > skip_lines[0]:
                        continue
                    text = "".join(source.lines[start:end])
                    if text.strip():
                        chunks.append((start, text, words(text)))
                scored = [(c, similarity(target, c[2])) for c in chunks]
            else:
                chunks = self.chunks(source)
                postings = self.postings(source)
                shared: Counter[int] = Counter()
                for w in target:
                    ids = postings.get(w)
                    if ids:
                        shared.update(ids)
                # the best few by shared words, then the exact score
                scored = []
                for i, _ in shared.most_common(MAX_CANDIDATES_PER_DOC):
                    scored.append((chunks[i], similarity(target, chunks[i][2])))
            for (start, text, chunk_words), score in scored:
                end = start + WINDOW_LINES
                if any(start <= ln < end for ln in near):
                    score += RECENT_BOOST
                if score > 0:
                    candidates.append(Snippet("", text, score, uri, start))
        candidates.sort(key=lambda s: (-s.score, s.uri, s.start_line))
        chosen: list[Snippet] = []
        used = 0
        for snip in candidates:
            if any(c.uri == snip.uri and abs(c.start_line - snip.start_line) < WINDOW_LINES for c in chosen):
                continue
            cost = len(snip.text) + len(display_path(snip.uri, roots)) + 16
            if used + cost > budget_chars:
                continue
            chosen.append(snip)
            used += cost
        chosen = [replace(s, path=display_path(s.uri, roots)) for s in chosen]
        chosen.sort(key=lambda s: (s.path, s.start_line))
        result = tuple(chosen)
        self._last = (state, target, result)
        return result
