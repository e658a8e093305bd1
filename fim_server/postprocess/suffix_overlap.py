"""Trim the end of a completion that repeats the text already after the cursor.

Two shapes: whole lines at the end of the completion that equal the next lines of
the document (compared without surrounding whitespace), and a last line that ends
with everything left of the cursor line (``foo(x)`` typed before ``)``).
"""

from __future__ import annotations

from ..context import CursorContext


def _lines_after_cursor(ctx: CursorContext) -> list[str]:
    rest = ctx.suffix.replace("\r\n", "\n").replace("\r", "\n").split("\n")[1:]
    return [line.strip() for line in rest if line.strip()]


def apply(text: str, ctx: CursorContext) -> str:
    if not text:
        return text
    lines = text.split("\n")
    following = _lines_after_cursor(ctx)
    if len(lines) > 1 and following:
        # drop trailing completion lines that are the document's next lines
        for m in range(min(len(lines) - 1, len(following)), 0, -1):
            tail = [line.strip() for line in lines[-m:]]
            if all(tail) and tail == following[:m]:
                lines = lines[:-m]
                text = "\n".join(lines)
                break
    rest = ctx.line_suffix.strip()
    if rest:
        last = lines[-1].rstrip()
        if last.endswith(rest) and len(last) > len(rest) or (len(lines) > 1 and last.strip() == rest):
            cut_at = len(text) - (len(lines[-1]) - len(lines[-1].rstrip())) - len(rest)
            text = text[:cut_at]
    return text
