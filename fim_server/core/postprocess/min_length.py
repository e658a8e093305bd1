"""Minimum useful length: ghost text of a lone punctuation mark is noise.

Dropped when it has fewer than ``MIN_CHARS`` non-blank characters and no letter or
digit (``x`` after ``return `` stays; a stray ``,`` goes), unless it is a closing
bracket alone on its line under the line that opened it: the ``}`` after a
function's last statement is exactly what the user types next. So is the ``{`` at the
end of a brace language's line (``func f() █``), the ``)`` that closes the call open
on the line, and the quote that closes the string open on the line.
"""

from __future__ import annotations

from fim_server.core.context import CursorContext
from fim_server.core.language import BRACES, LONG_STRING, STRING, mask, open_at_end, rules
from fim_server.core.postprocess._text import OPENERS, PAIRS, indent_of

MIN_CHARS = 2
SCAN_CHARS = 4000  # how far back the opener of a lone closer is looked for


def apply(text: str, ctx: CursorContext) -> str:
    visible = "".join(text.split())
    if len(visible) < MIN_CHARS and not any(ch.isalnum() for ch in visible):
        opener = PAIRS.get(visible)
        if opener is not None and _closes_open_line(ctx.prefix[-SCAN_CHARS:] + text, visible, opener):
            return text
        if _ends_the_line(text, visible, ctx):
            return text
        return ""
    return text


def _ends_the_line(text: str, visible: str, ctx: CursorContext) -> bool:
    """Whether ``visible`` ends the line being typed as the user will: the ``{`` that
    opens the block of a brace language's line (``func f() ``, ``if x ``), the closer
    of the innermost bracket open on the line, or the quote that closes the string
    open on the line (the language's strings and comments skipped)."""
    if "\n" in text or ctx.line_suffix.strip() or not ctx.line_prefix.strip():
        return False
    if visible == "{" and rules(ctx.language_id).blocks == BRACES:
        return True
    if visible in PAIRS:  # closes the innermost bracket open on the line
        depth = 0
        for ch in reversed(mask(ctx.line_prefix, ctx.language_id)):
            if ch in PAIRS:
                depth += 1
            elif ch in OPENERS:
                if depth == 0:
                    return ch == PAIRS[visible]
                depth -= 1
        return False
    span = open_at_end(ctx.line_prefix, ctx.language_id)
    return span is not None and span.kind in (STRING, LONG_STRING) and span.closer == visible


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
