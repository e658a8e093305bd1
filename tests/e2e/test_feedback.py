"""Shown / accepted / partly accepted: the notifications and command editors send
after showing ghost text, counted in fimServer.stats."""

from __future__ import annotations

import asyncio

from lsprotocol import types

from fim_server.fakes.deepseek import Reply

from .conftest import inline, open_doc, start

URI = "file:///work/feedback.py"


async def stats(client):
    return await client.workspace_execute_command_async(types.ExecuteCommandParams(command="fimServer.stats"))


async def settle(client):
    """Notifications have no answer: a request after them is answered only once
    the server has read them (messages are handled in order)."""
    await stats(client)
    await asyncio.sleep(0)


async def test_items_carry_the_accept_command_and_the_server_advertises_it(client, fake):
    fake.push(Reply(text="a + b"))
    result = await start(client, fake)
    assert "fimServer.accept" in result.capabilities.execute_command_provider.commands
    open_doc(client, URI, "def add(a, b):\n    return \n")
    (item,) = await inline(client, URI, 1, 11)
    assert item.command.command == "fimServer.accept"
    assert list(item.command.arguments) == [len("a + b")]


async def test_shown_accepted_and_partly_accepted_are_counted(client, fake):
    fake.push(Reply(text="a + b"))
    await start(client, fake)
    open_doc(client, URI, "def add(a, b):\n    return \n")
    (item,) = await inline(client, URI, 1, 11)
    before = await stats(client)
    assert before.get("shown", 0) == 0 and before.get("accepted", 0) == 0
    raw_item = {"insertText": item.insert_text, "command": {"command": item.command.command, "title": "x"}}
    client.protocol.notify("textDocument/didShowCompletion", {"item": raw_item})
    client.protocol.notify("textDocument/didShowCompletion", {"item": raw_item})
    client.protocol.notify("textDocument/didPartiallyAcceptCompletion", {"item": raw_item, "acceptedLength": 2})
    await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=item.command.command, arguments=item.command.arguments)
    )
    await settle(client)
    after = await stats(client)
    assert after["shown"] == 2
    assert after["partially_accepted"] == 1
    assert after["partially_accepted_units"] == 2
    assert after["accepted"] == 1
    assert after["accepted_chars"] == 5


async def test_bad_partial_accept_is_ignored_and_the_server_keeps_working(client, fake):
    fake.push(Reply(text="x"))
    await start(client, fake)
    client.protocol.notify("textDocument/didPartiallyAcceptCompletion", {"item": {}, "acceptedLength": "lots"})
    client.protocol.notify("textDocument/didPartiallyAcceptCompletion", {})
    client.protocol.notify("textDocument/didShowCompletion", None)
    await settle(client)
    after = await stats(client)
    assert after.get("partially_accepted", 0) == 0
    assert after["shown"] == 1
    open_doc(client, URI, "y = \n")
    assert [i.insert_text for i in await inline(client, URI, 0, 4)] == ["x"]
