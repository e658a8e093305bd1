"""Suggestions that replace auto-closed closers: the item's range in client units."""

from __future__ import annotations

from lsprotocol import types

from cursor import ctx_at
from fim_server.lsp import convert


def pos(line: int, character: int) -> types.Position:
    return types.Position(line=line, character=character)


def test_inline_range_covers_replaced_closers_in_utf16_and_utf8():
    # "😀)" right of the cursor: replacing 2 code points is 3 UTF-16 units, 5 UTF-8 bytes
    for encoding, units in (("utf-16", 3), ("utf-8", 5), ("utf-32", 2)):
        items = convert.inline_items(["x😀)"], pos(2, 4), replace_after=[2], line_suffix="😀)", encoding=encoding)
        assert items[0].range == types.Range(start=pos(2, 4), end=pos(2, 4 + units))


def test_inline_range_after_a_selected_menu_item_extends_its_end():
    selected = types.Range(start=pos(0, 2), end=pos(0, 5))
    items = convert.inline_items(["a)"], pos(0, 5), selected, "foo", replace_after=[1], line_suffix=")")
    assert items[0].insert_text == "fooa)"
    assert items[0].range == types.Range(start=pos(0, 2), end=pos(0, 6))


def test_no_replacement_keeps_the_empty_range():
    items = convert.inline_items(["a", "b"], pos(1, 1), replace_after=[0, 0], line_suffix=")")
    assert all(i.range == types.Range(start=pos(1, 1), end=pos(1, 1)) for i in items)


def test_menu_item_edit_covers_replaced_closers():
    ctx = ctx_at("print(na█)\n")
    items = convert.completion_items(["me)"], ctx, pos(0, 8), "utf-16", [1])
    assert items[0].text_edit.range == types.Range(start=pos(0, 6), end=pos(0, 9))
    assert items[0].text_edit.new_text == "name)"
