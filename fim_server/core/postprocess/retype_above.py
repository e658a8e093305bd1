"""A completion that only re-types the line above the cursor adds nothing: drop it.

Compared without indentation and trailing whitespace; the line above is the last
non-blank line of the prefix before the cursor line.
"""

from __future__ import annotations

from fim_server.core.context import CursorContext


def line_above(ctx: CursorContext) -> str:
    head = ctx.prefix[: len(ctx.prefix) - len(ctx.line_prefix)]
    for line in reversed(head.replace("\r\n", "\n").split("\n")):
        if line.strip():
            return line.strip()
    return ""


def apply(text: str, ctx: CursorContext) -> str:
    above = line_above(ctx)
    if not above:
        return text
    typed = (ctx.line_prefix + text).strip()
    body = [line.strip() for line in typed.split("\n") if line.strip()]
    if body and all(line == above for line in body):
        return ""
    return text
