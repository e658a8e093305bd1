"""Suggestions to LSP items, positions back to the client's units."""

from __future__ import annotations

from lsprotocol import types

from .context import CursorContext
from .documents import codepoints_to_units
from .feedback import accept_command

LABEL_CHARS = 60


def inline_items(
    texts: list[str], position: types.Position, replace: types.Range | None = None, lead: str = ""
) -> list[types.InlineCompletionItem]:
    """Ghost text at the cursor; with a selected completion-menu item, the item's
    text plus the completion over the item's range. Each item carries the accept
    command, which editors run when the whole item is accepted."""
    rng = replace or types.Range(start=position, end=position)
    return [
        types.InlineCompletionItem(insert_text=lead + text, range=rng, command=accept_command(lead + text)) for text in texts
    ]


def completion_items(
    texts: list[str], ctx: CursorContext, position: types.Position, encoding: str
) -> list[types.CompletionItem]:
    """The menu fallback: one item whose edit starts at the word before the cursor,
    so the client's filtering on that word keeps it."""
    word = ctx.word_before
    start_units = codepoints_to_units(ctx.line_prefix, len(ctx.line_prefix) - len(word), encoding)
    rng = types.Range(start=types.Position(line=position.line, character=start_units), end=position)
    items = []
    for rank, text in enumerate(texts):
        full = word + text
        first = full.splitlines()[0] if full.strip() else full
        label = first.strip() or full.strip()
        if len(label) > LABEL_CHARS:
            label = label[: LABEL_CHARS - 1] + "…"
        items.append(
            types.CompletionItem(
                label=label,
                kind=types.CompletionItemKind.Text,
                detail="fim-server",
                documentation=full,
                filter_text=full,
                sort_text=f"0{rank}",
                insert_text_format=types.InsertTextFormat.PlainText,
                text_edit=types.TextEdit(range=rng, new_text=full),
            )
        )
    return items
