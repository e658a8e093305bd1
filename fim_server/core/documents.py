"""The server's copy of each open document, kept in sync by incremental edits.

LSP positions count characters in the negotiated encoding (UTF-16 code units by
default, UTF-8 bytes or UTF-32 code points when negotiated); Python strings index
code points. Only ``\\n``, ``\\r\\n`` and ``\\r`` end a line (LSP's rule, unlike
``str.splitlines``). Edits touch only the lines they cover, so a keystroke in a
5,000-line file costs a few small list operations, not a copy of the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import re

UTF8 = "utf-8"
UTF16 = "utf-16"
UTF32 = "utf-32"

_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def split_lines(text: str) -> list[str]:
    """Split text into lines that keep their terminators; always at least one line.

    A text that ends with a terminator has an empty last line, so that a position
    on the line after the final newline is valid (as in every editor).
    """
    lines = _LINE_RE.findall(text)
    if not lines or lines[-1].endswith(("\n", "\r")):
        lines.append("")
    return lines


def line_content(line: str) -> str:
    """A line without its terminator."""
    if line.endswith("\r\n"):
        return line[:-2]
    if line.endswith(("\n", "\r")):
        return line[:-1]
    return line


def _units(ch: str, encoding: str) -> int:
    cp = ord(ch)
    if encoding == UTF16:
        return 2 if cp > 0xFFFF else 1
    if encoding == UTF8:
        if cp < 0x80:
            return 1
        if cp < 0x800:
            return 2
        if cp < 0x10000:
            return 3
        return 4
    return 1


def units_to_codepoints(text: str, units: int, encoding: str) -> int:
    """Code-point index in ``text`` for a column given in client units.

    Columns past the end clamp to the end; a column inside a surrogate pair or a
    UTF-8 sequence rounds down to the start of that character.
    """
    if units <= 0:
        return 0
    if encoding == UTF32 or text.isascii():
        return min(units, len(text))
    count = 0
    for i, ch in enumerate(text):
        count += _units(ch, encoding)
        if count > units:
            return i
        if count == units:
            return i + 1
    return len(text)


def codepoints_to_units(text: str, index: int, encoding: str) -> int:
    """Client units covered by the first ``index`` code points of ``text``."""
    index = max(0, min(index, len(text)))
    if encoding == UTF32 or text.isascii():
        return index
    return sum(_units(ch, encoding) for ch in text[:index])


@dataclass
class Document:
    """One open text document: its lines (terminators kept), version and language."""

    uri: str
    text: str = ""
    version: int | None = None
    language_id: str = ""
    lines: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.lines = split_lines(self.text)
        self.size = len(self.text)  # code points, kept up to date by apply_change
        del self.text
        # running sums of line lengths: _starts[i] = code points before line i, valid
        # for i < _valid; an edit invalidates only from its first line on, so typing
        # in one place costs O(1) per keystroke, not O(lines)
        self._starts: list[int] = [0]
        self._valid = 1
        # the first line of the last prompt window cut here, -1 before the first
        # (core/context.py keeps it put while it fits, so consecutive prompts share
        # their beginning)
        self.window_start = -1

    @property
    def source(self) -> str:
        return "".join(self.lines)

    def to_codepoints(self, line: int, character: int, encoding: str) -> tuple[int, int]:
        """Clamp a client position into the document and convert it to code points.

        A line past the end maps to the end of the document, a column past the end
        of its line to the end of that line (the LSP rules).
        """
        if line < 0:
            return 0, 0
        if line >= len(self.lines):
            last = len(self.lines) - 1
            return last, len(line_content(self.lines[last]))
        return line, units_to_codepoints(line_content(self.lines[line]), character, encoding)

    def offset_of(self, line: int, col: int) -> int:
        """Absolute code-point offset of a (line, code-point column) position."""
        starts, lines = self._starts, self.lines
        line = max(0, min(line, len(lines)))
        valid = self._valid
        if line >= valid:
            total = starts[valid - 1]
            for i in range(valid - 1, line):
                total += len(lines[i])
                if i + 1 < len(starts):
                    starts[i + 1] = total
                else:
                    starts.append(total)
            self._valid = line + 1
        return starts[line] + col

    def line_starts(self, line: int) -> list[int]:
        """Code points before each line, valid for indexes up to ``line`` (later
        entries may be stale): for the prompt window's bisection."""
        self.offset_of(line, 0)
        return self._starts

    def _invalidate(self, first_line: int) -> None:
        self._valid = max(1, min(self._valid, first_line + 1))

    def apply_change(
        self,
        text: str,
        start: tuple[int, int] | None = None,
        end: tuple[int, int] | None = None,
        encoding: str = UTF16,
    ) -> None:
        """Apply one content change; without a range the text replaces everything."""
        if start is None or end is None:
            self.lines = split_lines(text)
            self.size = len(text)
            self._invalidate(0)
            return
        sl, sc = self.to_codepoints(*start, encoding)
        el, ec = self.to_codepoints(*end, encoding)
        if (el, ec) < (sl, sc):
            sl, sc, el, ec = el, ec, sl, sc
        head = self.lines[sl][:sc]
        tail = self.lines[el][ec:]
        # A CR at the end of one piece and an LF at the start of the next become a
        # single CRLF terminator: take the neighbouring line into the re-split.
        if sl > 0 and (head + text + tail).startswith("\n") and self.lines[sl - 1].endswith("\r"):
            sl -= 1
            head = self.lines[sl] + head
        if (
            el + 1 < len(self.lines)
            and (head + text + tail).endswith("\r")
            and self.lines[el + 1].startswith("\n")
        ):
            el += 1
            tail = tail + self.lines[el]
        segment = head + text + tail
        new_lines = split_lines(segment)
        if el + 1 < len(self.lines) and new_lines[-1] == "":
            # The segment ended with a terminator and more lines follow: the empty
            # last element is not a line of its own.
            new_lines.pop()
        self.size += sum(map(len, new_lines)) - sum(map(len, self.lines[sl : el + 1]))
        self.lines[sl : el + 1] = new_lines
        self._invalidate(sl)
        if not self.lines:
            self.lines = [""]


class DocumentStore:
    """The open documents by URI."""

    def __init__(self) -> None:
        self._docs: dict[str, Document] = {}

    def open(self, uri: str, text: str, version: int | None = None, language_id: str = "") -> Document:
        doc = Document(uri, text, version, language_id)
        self._docs[uri] = doc
        return doc

    def get(self, uri: str) -> Document | None:
        return self._docs.get(uri)

    def close(self, uri: str) -> None:
        self._docs.pop(uri, None)

    def __len__(self) -> int:
        return len(self._docs)

    def __iter__(self):
        return iter(list(self._docs.values()))
