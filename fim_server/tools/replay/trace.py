"""The trace format: JSON Lines, one event per line (documented in bench/traces/README.md).

The first event opens a document; every later event waits ``delay`` milliseconds
(after the previous event) and then does one thing:

``{"type": "open", "uri": U, "languageId": L, "text": T, "line": 0, "character": 0, "source": S}``
    open the document (the cursor starts at line/character, code points).
``{"type": "key", "text": "a", "delay": 120}``
    one keystroke inserting ``text`` at the cursor (Enter with auto-indent is one
    key ``"\\n    "``).
``{"type": "backspace", "delay": 150}``
    delete the character before the cursor (``"count": N`` deletes N, one key).
``{"type": "move", "line": L, "character": C, "delay": 800}``
    put the cursor at (L, C) (code points).
``{"type": "pause", "delay": 1500}``
    the hand rests (only the wait; the next event's delay follows it).
``{"type": "accept", "delay": 200}``
    Tab: accept the ghost text shown, when it is what the user goes on to type.
``{"type": "dismiss", "delay": 100}``
    Escape: hide the ghost text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import json
from pathlib import Path
from typing import Any, Iterable

EVENT_TYPES = ("open", "key", "backspace", "move", "pause", "accept", "dismiss")


class TraceError(ValueError):
    """A trace that cannot be replayed; the message names the file and line."""


@dataclass
class Event:
    type: str
    delay: float = 0.0  # milliseconds after the previous event
    text: str = ""
    count: int = 1
    line: int = 0
    character: int = 0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.type == "key":
            out["text"] = self.text
        if self.type == "backspace" and self.count != 1:
            out["count"] = self.count
        if self.type == "move":
            out["line"], out["character"] = self.line, self.character
        out["delay"] = round(self.delay)
        return out


@dataclass
class Trace:
    name: str
    uri: str
    language_id: str
    text: str
    line: int = 0
    character: int = 0
    source: str = ""
    events: list[Event] = field(default_factory=list)

    @property
    def keystrokes(self) -> int:
        return sum(1 for e in self.events if e.type in ("key", "backspace"))

    @property
    def duration_ms(self) -> float:
        return sum(e.delay for e in self.events)

    def dump(self) -> str:
        head = {
            "type": "open",
            "uri": self.uri,
            "languageId": self.language_id,
            "line": self.line,
            "character": self.character,
            "source": self.source,
            "text": self.text,
        }
        lines = [json.dumps(head, ensure_ascii=False)]
        lines += [json.dumps(e.to_json(), ensure_ascii=False) for e in self.events]
        return "\n".join(lines) + "\n"

    def final_text(self) -> str:
        """The document after every event (accept events change nothing here: the
        text they insert is what the following keys type)."""
        from fim_server.core.documents import Document

        doc = Document(self.uri, self.text)
        line, col = self.line, self.character
        for event in self.events:
            if event.type == "move":
                line, col = event.line, event.character
            elif event.type == "key":
                doc.apply_change(event.text, (line, col), (line, col), "utf-32")
                line, col = advance(line, col, event.text)
            elif event.type == "backspace":
                line, col = back(doc.lines, line, col, event.count)
                end = advance_over(doc.lines, line, col, event.count)
                doc.apply_change("", (line, col), end, "utf-32")
        return doc.source


def advance(line: int, col: int, text: str) -> tuple[int, int]:
    """The cursor after inserting ``text`` at (line, col) (\\n line ends)."""
    breaks = text.count("\n")
    if not breaks:
        return line, col + len(text)
    return line + breaks, len(text) - text.rfind("\n") - 1


def back(lines: list[str], line: int, col: int, count: int) -> tuple[int, int]:
    """The position ``count`` characters before (line, col)."""
    for _ in range(count):
        if col > 0:
            col -= 1
        elif line > 0:
            line -= 1
            col = len(lines[line].rstrip("\r\n"))
    return line, col


def advance_over(lines: list[str], line: int, col: int, count: int) -> tuple[int, int]:
    """The position ``count`` characters after (line, col)."""
    for _ in range(count):
        content = len(lines[line].rstrip("\r\n"))
        if col < content:
            col += 1
        elif line + 1 < len(lines):
            line, col = line + 1, 0
    return line, col


MAX_DELAY_MS = 600_000  # ten minutes: a longer pause in a trace is a mistake (or 1e400)
MAX_COUNT = 10_000_000  # lines, characters, backspaces


def _number(obj: dict, key: str, where: str, default: float | None = None) -> float:
    """A finite number from 0 to its bound (``MAX_DELAY_MS`` for delays,
    ``MAX_COUNT`` for the rest); NaN, infinity (``1e400``) and huge values are
    refused with the line they are on."""
    value = obj.get(key, default)
    bound = MAX_DELAY_MS if key == "delay" else MAX_COUNT
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= bound:
        raise TraceError(f"{where}: {key!r} must be a number from 0 to {bound}, got {str(value)[:40]}")
    return value


def parse_trace(lines: Iterable[str], name: str) -> Trace:
    trace: Trace | None = None
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        where = f"{name}:{number}"
        try:
            obj = json.loads(raw)
        except ValueError as exc:
            raise TraceError(f"{where}: not JSON ({exc})") from None
        if not isinstance(obj, dict) or obj.get("type") not in EVENT_TYPES:
            raise TraceError(f"{where}: an event needs a type, one of {', '.join(EVENT_TYPES)}")
        kind = obj["type"]
        if trace is None:
            if kind != "open":
                raise TraceError(f"{where}: a trace starts with an open event")
            if not isinstance(obj.get("text"), str) or not isinstance(obj.get("uri"), str):
                raise TraceError(f"{where}: open needs uri and text strings")
            trace = Trace(
                name=name,
                uri=obj["uri"],
                language_id=str(obj.get("languageId", "")),
                text=obj["text"],
                line=int(_number(obj, "line", where, 0)),
                character=int(_number(obj, "character", where, 0)),
                source=str(obj.get("source", "")),
            )
            continue
        if kind == "open":
            raise TraceError(f"{where}: a trace opens one document (second open event)")
        event = Event(kind, delay=_number(obj, "delay", where, 0))
        if kind == "key":
            if not isinstance(obj.get("text"), str) or not obj["text"]:
                raise TraceError(f"{where}: key needs a non-empty text")
            event.text = obj["text"].replace("\r\n", "\n")
        elif kind == "backspace":
            event.count = int(_number(obj, "count", where, 1)) or 1
        elif kind == "move":
            event.line = int(_number(obj, "line", where))
            event.character = int(_number(obj, "character", where))
        trace.events.append(event)
    if trace is None:
        raise TraceError(f"{name}: empty trace")
    return trace


def load_trace(path: str | Path) -> Trace:
    from fim_server.tools.files import read_regular  # a FIFO or /dev/zero is refused, not read

    path = Path(path)
    try:
        text = read_regular(path).decode("utf-8")
    except OSError as exc:
        raise TraceError(f"cannot read trace {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise TraceError(f"trace {path} is not UTF-8") from None
    return parse_trace(text.splitlines(), path.stem)
