"""Cursor-marker helpers for table tests: ``█`` marks the cursor in a source string."""

from __future__ import annotations

from fim_server.core.context import CursorContext, build_context
from fim_server.core.documents import split_lines

CURSOR = "█"


def locate(text: str) -> tuple[list[str], int, int]:
    """Lines of ``text`` without the marker, and the cursor's (line, code-point column)."""
    if text.count(CURSOR) != 1:
        raise ValueError(f"exactly one {CURSOR} expected in {text!r}")
    offset = text.index(CURSOR)
    clean = text.replace(CURSOR, "")
    lines = split_lines(clean)
    seen = 0
    for number, line in enumerate(lines):
        if offset <= seen + len(line) and (offset < seen + len(line) or number == len(lines) - 1):
            col = offset - seen
            if col > len(line.rstrip("\r\n")):
                raise ValueError(f"cursor inside a line terminator in {text!r}")
            return lines, number, col
        seen += len(line)
    raise AssertionError("unreachable")


def ctx_at(
    text: str,
    *,
    max_prefix_chars: int = 8000,
    max_suffix_chars: int = 2000,
    uri: str = "file:///t.py",
    language_id: str = "python",
) -> CursorContext:
    """A ``CursorContext`` for the cursor marked by ``█`` in ``text``."""
    lines, line, col = locate(text)
    return build_context(
        uri,
        lines,
        line,
        col,
        max_prefix_chars=max_prefix_chars,
        max_suffix_chars=max_suffix_chars,
        language_id=language_id,
    )


class Recorder:
    """A provider that records what it was asked and answers ``answer``."""

    name = "recorder"

    def __init__(self, answer: str = "QQQ") -> None:
        self.answer = answer
        self.requests: list = []

    async def complete(self, request, timeout_s: float, progress=None):
        from fim_server.providers.base import Completion, Usage

        self.requests.append(request)
        return Completion(self.answer, "stop", Usage())
