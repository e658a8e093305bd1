"""Drop an answer that is empty or only whitespace."""

from __future__ import annotations

from fim_server.core.context import CursorContext


def apply(text: str, ctx: CursorContext | None = None) -> str:
    return text if text.strip() else ""
