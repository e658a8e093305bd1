"""Minimum useful length: ghost text of a lone punctuation mark is noise.

Dropped when it has fewer than ``MIN_CHARS`` non-blank characters and no letter or
digit (``x`` after ``return `` stays; a stray ``,`` goes), unless it is a closing
bracket alone on its line under the line that opened it: the ``}`` after a
function's last statement is exactly what the user types next.
"""

from __future__ import annotations

from fim_server.core.context import CursorContext
from fim_server.core.postprocess._text import PAIRS, indent_of

MIN_CHARS = 2
SCAN_CHARS = 4000  # how far back the opener of a lone closer is looked for


def apply(text: str, ctx: CursorContext) -> str:
    visible = "".join(text.split())
    if len(visible) < MIN_CHARS and not any(ch.isalnum() for ch in visible):
        opener = PAIRS.get(visible)
        if opener is not None and _closes_open_line(ctx.prefix[-SCAN_CHARS:] + text, visible, opener):
            return text
        return ""
    return text


def _closes_open_line(code: str, closer: str, opener: str) -> bool:
    """Whether ``closer``, alone on the last line of ``code``, closes the nearest line
    above at its indentation or less (``func f() {`` for the ``}`` under its body,
    ``call(a,`` for a ``)`` under its arguments)."""
    head, _, last = code.rpartition("\n")
    if last.strip() != closer:
        return False
    width = indent_of(last)
    for line in reversed(head.split("\n")):
        if line.strip() and indent_of(line) <= width:
            return line.count(opener) > line.count(closer)
    return False
