"""Drop whitespace at the end of a completion (and of each of its lines).

At the end of a line the document already has what follows; spaces or blank lines
at the end of ghost text would be inserted for nothing. Mid-line a trailing space
may separate the completion from the code after it, so it stays.
"""

from __future__ import annotations

from fim_server.core.context import CursorContext


def apply(text: str, ctx: CursorContext) -> str:
    lines = text.split("\n")
    body = "\n".join([line.rstrip(" \t\r") for line in lines[:-1]] + [lines[-1]])
    if ctx.line_suffix.strip():
        return body
    return body.rstrip()
