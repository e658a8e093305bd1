"""Write the completion's line breaks the way the document writes them (CRLF files)."""

from __future__ import annotations

from fim_server.core.context import CursorContext


def apply(text: str, ctx: CursorContext) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if ctx.newline != "\n":
        text = text.replace("\n", ctx.newline)
    return text
