"""Suggestions to LSP items, positions back to the client's units."""

from __future__ import annotations

from lsprotocol import types

from fim_server.core.context import CursorContext
from fim_server.core.documents import codepoints_to_units
from fim_server.lsp.feedback import accept_command

LABEL_CHARS = 60


def inline_items(
    texts: list[str],
    position: types.Position,
    replace: types.Range | None = None,
    lead: str = "",
    replace_after: list[int] | None = None,
    line_suffix: str = "",
    encoding: str = "utf-16",
) -> list[types.InlineCompletionItem]:
    """Ghost text at the cursor; with a selected completion-menu item, the item's
    text plus the completion over the item's range. ``replace_after[i]`` code points
    of ``line_suffix`` (the line right of the cursor) are replaced by item i too.
    Each item carries the accept command, which editors run when the whole item is
    accepted."""
    rng = replace or types.Range(start=position, end=position)
    items = []
    for i, text in enumerate(texts):
        extra = replace_after[i] if replace_after else 0
        item_range = rng
        if extra:
            units = codepoints_to_units(line_suffix, extra, encoding)
            end = types.Position(line=rng.end.line, character=rng.end.character + units)
            item_range = types.Range(start=rng.start, end=end)
        items.append(types.InlineCompletionItem(insert_text=lead + text, range=item_range, command=accept_command(lead + text)))
    return items


def completion_items(
    texts: list[str], ctx: CursorContext, position: types.Position, encoding: str, replace_after: list[int] | None = None
) -> list[types.CompletionItem]:
    """The menu fallback: one item whose edit starts at the word before the cursor,
    so the client's filtering on that word keeps it."""
    word = ctx.word_before
    start_units = codepoints_to_units(ctx.line_prefix, len(ctx.line_prefix) - len(word), encoding)
    items = []
    for rank, text in enumerate(texts):
        extra = replace_after[rank] if replace_after else 0
        end = position
        if extra:
            end = types.Position(line=position.line, character=position.character + codepoints_to_units(ctx.line_suffix, extra, encoding))
        rng = types.Range(start=types.Position(line=position.line, character=start_units), end=end)
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
