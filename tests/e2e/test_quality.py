"""Completion quality through the real server: auto-closed brackets replaced through
the item's range, and snippets of other open documents in the prompt."""

from __future__ import annotations

from lsprotocol import types

from fim_server.fakes.deepseek import Reply

from .conftest import inline, open_doc, start

URI = "file:///work/example.py"
OTHER = "file:///work/helpers.py"


def pos(line: int, character: int) -> types.Position:
    return types.Position(line=line, character=character)


async def test_auto_closed_bracket_is_replaced_through_the_range_in_utf16(client, fake):
    fake.push(Reply(text="name).strip()"))
    await start(client, fake)
    # the emoji takes two UTF-16 units: the cursor is at unit 9, the ")" ends at 10
    open_doc(client, URI, "s = '😀' + str()\n")
    items = await inline(client, URI, 0, 15)
    assert [i.insert_text for i in items] == ["name).strip()"]
    assert items[0].range == types.Range(start=pos(0, 15), end=pos(0, 16))


async def test_auto_closed_quote_and_bracket_replaced_in_utf8(client, fake):
    fake.push(Reply(text='中")'))
    await start(client, fake, encodings=["utf-8"])
    open_doc(client, URI, 'print("")\n')
    items = await inline(client, URI, 0, 7)
    assert [i.insert_text for i in items] == ['中")']
    assert items[0].range == types.Range(start=pos(0, 7), end=pos(0, 9))


async def test_plain_completion_keeps_an_empty_range(client, fake):
    fake.push(Reply(text="x"))
    await start(client, fake)
    open_doc(client, URI, "print()\n")
    items = await inline(client, URI, 0, 6)
    assert items[0].range == types.Range(start=pos(0, 6), end=pos(0, 6))


async def test_completion_that_only_adds_syntax_errors_is_dropped_unless_turned_off(client, fake):
    fake.push(Reply(text="= = )"))
    await start(client, fake)
    open_doc(client, URI, "def f():\n    \n")
    assert await inline(client, URI, 1, 4) == []
    fake.push(Reply(text="= = )"))
    await start_again(client, fake, syntaxCheck=False)
    assert [i.insert_text for i in await inline(client, URI, 1, 4, automatic=False)] == ["= = )"]


async def start_again(client, fake, **settings):
    from .conftest import settings_for

    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"fimServer": settings_for(fake, **settings)})
    )


async def test_other_open_document_goes_first_in_the_prompt_as_comments(client, fake):
    fake.push(Reply(text="fields"))
    await start(client, fake)
    open_doc(client, OTHER, "def parse_header(raw_bytes):\n    fields = raw_bytes.split(b':')\n    return fields\n")
    open_doc(client, "file:///work/colours.py", "class Colour:\n    red = 1\n")
    open_doc(client, URI, "header = parse_header(raw_bytes)\nprint()\n")
    await inline(client, URI, 1, 6)
    prompt = fake.completion_requests()[0].body["prompt"]
    assert prompt == (
        "# Path: work/helpers.py\n# def parse_header(raw_bytes):\n#     fields = raw_bytes.split(b':')\n"
        "#     return fields\n\nheader = parse_header(raw_bytes)\nprint("
    )


async def test_workspace_context_can_be_turned_off(client, fake):
    fake.push(Reply(text="fields"))
    await start(client, fake, workspaceContext=False)
    open_doc(client, OTHER, "def parse_header(raw_bytes):\n    return raw_bytes\n")
    open_doc(client, URI, "header = parse_header(raw_bytes)\nprint()\n")
    await inline(client, URI, 1, 6)
    assert fake.completion_requests()[0].body["prompt"] == "header = parse_header(raw_bytes)\nprint("
