"""A closing bracket written twice: the completion ends with the closer that starts
the text right of the cursor, and the line balances better without it
(``lstrip()`` typed before ``)``, where the document already has that ``)``).

Trimmed only when the line's brackets get closer to balanced, so ``f(g()`` typed
before ``)`` keeps its own ``)``; brackets in the language's strings and comments
(``core.language``: Rust char literals, Go runes, JS templates...) do not count.
"""

from __future__ import annotations

from fim_server.core.context import CursorContext
from fim_server.core.postprocess._text import CLOSERS, balances_better


def apply(text: str, ctx: CursorContext) -> str:
    first = ctx.line_suffix[:1]
    if not first or first not in CLOSERS or not text.endswith(first) or "\n" in text:
        return text
    line = ctx.line_prefix + text + ctx.line_suffix
    trimmed = ctx.line_prefix + text[:-1] + ctx.line_suffix
    return text[:-1] if balances_better(trimmed, line, ctx.language_id) else text
