"""Context beyond the cursor: snippets of other open documents and of recently
edited regions, ranked by how many identifiers they share with the code around the
cursor, chosen within a character budget (pure apart from a per-version cache).

The chosen snippets are returned ordered by path and line, not by score, so the
start of the prompt they open stays the same from keystroke to keystroke as long
as the same snippets win (the provider's prefix cache can then serve it).

Files the user excluded never contribute: the caller passes ``may_send(uri)``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
import re
from typing import Callable, Iterable
from urllib.parse import unquote, urlparse

WINDOW_LINES = 16
STEP_LINES = 8
AROUND_LINES = 24  # lines of the cursor's surroundings that rank the snippets
RECENT_BOOST = 0.15
MAX_RECENT = 16
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


def display_path(uri: str) -> str:
    """The last parts of a URI's path, as a reader knows the file."""
    parsed = urlparse(uri)
    parts = [p for p in unquote(parsed.path).split("/") if p]
    return "/".join(parts[-3:]) if parts else uri


def around_cursor(prefix: str, suffix: str, lines: int = AROUND_LINES) -> str:
    before = prefix.split("\n")[-lines:]
    after = suffix.split("\n")[: lines // 3]
    return "\n".join(before + after)


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
    """Chunks and their word sets per document version (so a keystroke costs a lookup)."""

    def __init__(self) -> None:
        self._chunks: dict[str, tuple[int | None, list[tuple[int, str, frozenset[str]]]]] = {}

    def chunks(self, source: Source) -> list[tuple[int, str, frozenset[str]]]:
        cached = self._chunks.get(source.uri)
        if cached is not None and cached[0] == source.version and source.version is not None:
            return cached[1]
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
    ) -> tuple[Snippet, ...]:
        """The best snippets within ``budget_chars`` (text plus a header line each).

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
            else:
                chunks = self.chunks(source)
            for start, text, chunk_words in chunks:
                end = start + WINDOW_LINES
                score = similarity(target, chunk_words)
                if any(start <= ln < end for ln in near):
                    score += RECENT_BOOST
                if score > 0:
                    candidates.append(Snippet(display_path(uri), text, score, uri, start))
        candidates.sort(key=lambda s: (-s.score, s.path, s.start_line))
        chosen: list[Snippet] = []
        used = 0
        for snip in candidates:
            if any(c.uri == snip.uri and abs(c.start_line - snip.start_line) < WINDOW_LINES for c in chosen):
                continue
            cost = len(snip.text) + len(snip.path) + 16
            if used + cost > budget_chars:
                continue
            chosen.append(snip)
            used += cost
        chosen.sort(key=lambda s: (s.path, s.start_line))
        return tuple(chosen)


def commented_blocks(extra: Iterable[tuple[str, str]], marker: str | None) -> str:
    """Snippets as comment blocks for models without a native form (DeepSeek):
    a ``Path:`` line, then each line of the snippet commented out."""
    marker = marker or "#"
    out = []
    for path, text in extra:
        out.append(f"{marker} Path: {path}\n")
        for line in text.rstrip("\n").split("\n"):
            out.append(f"{marker} {line}".rstrip() + "\n")
        out.append("\n")
    return "".join(out)
