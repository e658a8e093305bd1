"""The snippets a prompt opens with stand while the user types in one place
(core/snippets.py ``Held``, core/workspace.py ``with_snippets``), so the prompt's
start stays the same for the provider's prefix cache; any change elsewhere, a
move away or new settings choose them again."""

from __future__ import annotations

import pytest

from fim_server.settings import Settings


HELPERS = "def parse_header(raw_bytes):\n    fields = raw_bytes.split(b':')\n    return fields\n"
COLOURS = "class Colour:\n    red = 1\n    green = 2\n"
MAIN = "".join(f"filler_{i} = {i}\n" for i in range(60))


def _workspace():
    from fim_server.core.workspace import Workspace

    workspace = Workspace()
    workspace.open("file:///a/helpers.py", HELPERS, 1, "python")
    workspace.open("file:///a/colour.py", COLOURS, 1, "python")
    doc = workspace.open("file:///a/main.py", MAIN, 1, "python")
    return workspace, doc


def _type(doc, line: int, text: str) -> None:
    doc.apply_change(text, (line, 0), (line, 0), "utf-32")
    doc.version += 1


def _snippets(workspace, doc, line: int, settings: Settings) -> tuple:
    ctx = workspace.context(doc, line, 0, settings)
    return workspace.with_snippets(ctx, settings, lambda uri: True).snippets, ctx


def test_snippets_stand_while_typing_in_one_place_and_are_chosen_again_elsewhere():
    workspace, doc = _workspace()
    settings = Settings()
    _type(doc, 40, "header = parse_header(raw_bytes)\n")
    first, _ = _snippets(workspace, doc, 41, settings)
    assert [path for path, _ in first] == ["a/helpers.py"]
    shades = "".join(f"shade_{i} = Colour.red + Colour.green\n" for i in range(5))
    _type(doc, 41, shades)  # new words: a fresh choice adds colour.py
    held, ctx = _snippets(workspace, doc, 46, settings)
    assert held is first
    assert "a/colour.py" in [path for path, _ in workspace.snippets(ctx, settings, lambda uri: True)]
    # 20 lines further down: chosen again for the new place
    _type(doc, 62, "shade = Colour.red + Colour.green\n")
    again, ctx = _snippets(workspace, doc, 63, settings)
    assert again is not first and again == workspace.snippets(ctx, settings, lambda uri: True)


@pytest.mark.parametrize("change", ["edit other", "close other", "settings", "reopen", "budget"])
def test_any_change_elsewhere_chooses_the_snippets_again(change):
    workspace, doc = _workspace()
    settings = Settings()
    _type(doc, 40, "header = parse_header(raw_bytes)\n")
    first, _ = _snippets(workspace, doc, 41, settings)
    assert first
    if change == "edit other":
        workspace.documents.get("file:///a/helpers.py").version = 2
    elif change == "close other":
        workspace.close("file:///a/helpers.py")
    elif change == "settings":
        workspace.settings_changed()
    elif change == "reopen":
        workspace.close("file:///a/main.py")
        doc = workspace.open("file:///a/main.py", "".join(doc.lines), 9, "python")
    elif change == "budget":
        settings = Settings(context_budget_chars=999)
    again, _ = _snippets(workspace, doc, 41, settings)
    assert again is not first
    if change == "close other":
        assert not any(path == "a/helpers.py" for path, _ in again)


def test_an_excluded_document_stops_contributing_at_once():
    """New exclusions come with new settings, which the server announces
    (``settings_changed``, as lsp/server.py does): the held snippets go with the old ones."""
    workspace, doc = _workspace()
    _type(doc, 40, "header = parse_header(raw_bytes)\n")
    first, _ = _snippets(workspace, doc, 41, Settings())
    assert [path for path, _ in first] == ["a/helpers.py"]
    excluded = Settings(exclude_globs=("**/helpers.py",))
    from fim_server.core.privacy import exclusion_reason

    workspace.settings_changed()
    ctx = workspace.context(doc, 41, 0, excluded)
    out = workspace.with_snippets(ctx, excluded, lambda uri: exclusion_reason(uri, "python", excluded) is None)
    assert not any(path == "a/helpers.py" for path, _ in out.snippets)
