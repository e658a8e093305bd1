"""Debounce, supersede, cancellation, cache and typing-through, through the real server."""

from __future__ import annotations

import asyncio
import time

import pytest
from lsprotocol import types

from fim_server.fakes.deepseek import Reply

from .conftest import edit, inline, open_doc, start

URI = "file:///work/flow.py"


def inline_params(line: int, char: int) -> types.InlineCompletionParams:
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=URI),
        position=types.Position(line=line, character=char),
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic),
    )


def send(client, line: int, char: int) -> asyncio.Future:
    """Send an inline completion request now; the future resolves with its answer."""
    return asyncio.ensure_future(client.text_document_inline_completion_async(inline_params(line, char)))


def texts(result) -> list[str]:
    if result is None:
        return []
    items = result.items if isinstance(result, types.InlineCompletionList) else result
    return [i.insert_text for i in items]


async def wait_until(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.01)
    return predicate()


async def test_debounce_newer_request_supersedes_older_at_once(client, fake):
    fake.set_default(Reply(text="value"))
    await start(client, fake, debounceMs=400)
    open_doc(client, URI, "x = \n")
    first = send(client, 0, 4)
    await asyncio.sleep(0.05)
    edit(client, URI, 2, 0, 4, "v")
    started = time.monotonic()
    second = send(client, 0, 5)
    assert texts(await first) == []
    assert time.monotonic() - started < 0.3, "the superseded request must return at once, not after its debounce"
    assert texts(await second) == ["value"]
    assert len(fake.completion_requests()) == 1
    assert fake.completion_requests()[0].body["prompt"] == "x = v"


async def test_superseded_in_flight_request_closes_its_connection(client, fake):
    fake.push(Reply.hanging(), Reply(text=" + fresh"))  # "y = 1fresh" would not parse (syntax check)
    await start(client, fake)
    open_doc(client, URI, "y = \n")
    first = send(client, 0, 4)
    assert await wait_until(lambda: len(fake.completion_requests()) == 1)
    edit(client, URI, 2, 0, 4, "1")
    second = send(client, 0, 5)
    assert texts(await first) == []
    assert texts(await second) == [" + fresh"]
    assert fake.completion_requests()[0].client_closed.wait(3), "the provider must see the superseded request's connection closed"


async def test_cancel_request_cancels_handler_and_closes_provider_connection(client, fake):
    fake.push(Reply.hanging(keepalives=2, keepalive_interval=0.05))
    await start(client, fake)
    open_doc(client, URI, "z = \n")
    future = asyncio.ensure_future(
        client.protocol.send_request_async(types.TEXT_DOCUMENT_INLINE_COMPLETION, inline_params(0, 4), msg_id=4242)
    )
    assert await wait_until(lambda: len(fake.completion_requests()) == 1)
    client.cancel_request(types.CancelParams(id=4242))
    with pytest.raises(Exception) as info:
        await asyncio.wait_for(future, 5)
    assert "cancel" in str(info.value).lower()
    assert fake.completion_requests()[0].client_closed.wait(3)
    # still serving
    fake.push(Reply(text="after"))
    assert [i.insert_text for i in await inline(client, URI, 0, 4)] == ["after"]


async def test_same_context_is_answered_from_cache(client, fake):
    fake.push(Reply(text="cached()"))
    await start(client, fake)
    open_doc(client, URI, "call = \n")
    assert texts(await client.text_document_inline_completion_async(inline_params(0, 7))) == ["cached()"]
    assert texts(await client.text_document_inline_completion_async(inline_params(0, 7))) == ["cached()"]
    assert len(fake.completion_requests()) == 1


async def test_typing_through_the_suggestion_costs_no_request(client, fake):
    fake.push(Reply(text="hello_world()"))
    await start(client, fake)
    open_doc(client, URI, "greet = \n")
    assert texts(await client.text_document_inline_completion_async(inline_params(0, 8))) == ["hello_world()"]
    version = 2
    for i, ch in enumerate("hello_"):
        edit(client, URI, version, 0, 8 + i, ch)
        version += 1
        got = texts(await client.text_document_inline_completion_async(inline_params(0, 9 + i)))
        assert got == ["hello_world()"[i + 1 :]]
    assert len(fake.completion_requests()) == 1
    stats = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="fimServer.stats"))
    assert stats["typing_through"] == 6


async def test_typing_a_different_character_asks_the_provider_again(client, fake):
    fake.push(Reply(text="alpha"), Reply(text="eta"))
    await start(client, fake)
    open_doc(client, URI, "name = \n")
    assert texts(await client.text_document_inline_completion_async(inline_params(0, 7))) == ["alpha"]
    edit(client, URI, 2, 0, 7, "b")
    assert texts(await client.text_document_inline_completion_async(inline_params(0, 8))) == ["eta"]
    assert len(fake.completion_requests()) == 2


async def test_handler_bookkeeping_does_not_grow_with_keystrokes(client, fake):
    await start(client, fake)
    open_doc(client, URI, "\n")
    for i in range(300):
        edit(client, URI, i + 2, 0, i, "a")
    stats = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="fimServer.stats"))
    assert stats["pending_handlers"] <= 3
    assert stats["open_documents"] == 1
