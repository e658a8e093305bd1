"""Inline completion through the real server process and the fake DeepSeek."""

from __future__ import annotations

from lsprotocol import types

from fim_server.fakes.deepseek import Reply

from .conftest import API_KEY, edit, inline, open_doc, start

URI = "file:///work/example.py"


async def test_capabilities_advertise_inline_completion_and_incremental_sync(client, fake):
    result = await start(client, fake)
    caps = result.capabilities
    assert caps.inline_completion_provider is not None
    sync = caps.text_document_sync
    assert sync.change == types.TextDocumentSyncKind.Incremental
    assert caps.position_encoding == types.PositionEncodingKind.Utf16
    assert caps.completion_provider is not None


async def test_prompt_and_suffix_reach_deepseek_and_answer_becomes_ghost_text(client, fake):
    fake.push(Reply(text="a + b"))
    await start(client, fake, model="deepseek-v4-flash")
    open_doc(client, URI, "def add(a, b):\n    return \n\nprint(add(1, 2))\n")
    items = await inline(client, URI, 1, 11)
    assert [i.insert_text for i in items] == ["a + b"]
    assert items[0].range == types.Range(start=types.Position(line=1, character=11), end=types.Position(line=1, character=11))
    (req,) = fake.completion_requests()
    assert req.path == "/completions"
    assert req.body["prompt"] == "def add(a, b):\n    return "
    assert req.body["suffix"] == "\n\nprint(add(1, 2))\n"
    assert req.body["model"] == "deepseek-v4-flash"
    assert req.body["temperature"] == 0
    assert req.body["stream"] is True
    assert req.headers["authorization"] == f"Bearer {API_KEY}"


async def test_non_streaming_answer_after_keepalive_blank_lines(client, fake):
    fake.push(Reply(text="42", keepalives=3, force_stream=False))
    await start(client, fake, stream=False)
    open_doc(client, URI, "answer = ")
    items = await inline(client, URI, 0, 9)
    assert [i.insert_text for i in items] == ["42"]
    assert fake.completion_requests()[0].body["stream"] is False


async def test_stream_with_keepalive_comments_and_usage(client, fake):
    fake.push(Reply(chunks=["print(", "'hi'", ")"], keepalives=4))
    await start(client, fake)
    open_doc(client, URI, "def greet():\n    ")
    items = await inline(client, URI, 1, 4)
    assert [i.insert_text for i in items] == ["print('hi')"]
    stats = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="fimServer.stats"))
    assert stats["provider_calls"] == 1
    assert stats["prompt_tokens"] > 0
    assert "cache_hit_tokens" in stats


async def test_incremental_edits_cjk_and_emoji_split_at_cursor(client, fake):
    fake.push(Reply(text="X"))
    await start(client, fake)
    open_doc(client, URI, "s = '中文😀'\n")
    # type "é" after the emoji: UTF-16 column of the emoji's end is 4 + 2 + 2 = 8
    edit(client, URI, 2, 0, 9, "é")
    items = await inline(client, URI, 0, 10)
    assert items and items[0].insert_text == "X"
    req = fake.completion_requests()[0]
    assert req.body["prompt"] == "s = '中文😀é"
    assert req.body["suffix"] == "'\n"


async def test_utf8_negotiated_when_offered(client, fake):
    fake.push(Reply(text="Y"))
    result = await start(client, fake, encodings=["utf-16", "utf-8"])
    assert result.capabilities.position_encoding == types.PositionEncodingKind.Utf8
    open_doc(client, URI, "x = '中😀'\n")
    # bytes: "x = '" 5 + 中 3 + 😀 4 = 12
    await inline(client, URI, 0, 12)
    assert fake.completion_requests()[0].body["prompt"] == "x = '中😀"


async def test_crlf_document_split_exactly(client, fake):
    fake.push(Reply(text="return 1\n    return 2"))  # indented: stays in the block (scope limit)
    await start(client, fake)
    open_doc(client, URI, "def f():\r\n    \r\n\r\nx = 1\r\n")
    items = await inline(client, URI, 1, 4)
    req = fake.completion_requests()[0]
    assert req.body["prompt"] == "def f():\r\n    "
    assert req.body["suffix"] == "\r\n\r\nx = 1\r\n"
    assert items[0].insert_text == "return 1\r\n    return 2"


async def test_mid_line_keeps_single_line_and_sends_newline_stop(client, fake):
    fake.push(Reply(text="a, b\n    more = 1"))
    await start(client, fake)
    open_doc(client, URI, "result = compute()\n")
    items = await inline(client, URI, 0, 17)
    assert [i.insert_text for i in items] == ["a, b"]
    assert "\n" in fake.completion_requests()[0].body["stop"]


async def test_fim_tokens_and_suffix_repeat_are_cleaned(client, fake):
    fake.push(Reply(text="    return x;\n}<｜fim▁end｜>garbage"))
    await start(client, fake)
    open_doc(client, URI, "int f(int x) {\n\n}\n", language="c")
    items = await inline(client, URI, 1, 0)
    assert [i.insert_text for i in items] == ["    return x;"]


async def test_whitespace_answer_gives_no_items(client, fake):
    fake.push(Reply(text="  \n\n "))
    await start(client, fake)
    open_doc(client, URI, "x = ")
    assert await inline(client, URI, 0, 4) == []


async def test_completion_menu_fallback_for_clients_without_inline(client, fake):
    fake.push(Reply(text="ult = 3"))
    await start(client, fake, inline=False)
    open_doc(client, URI, "res\n")
    result = await client.text_document_completion_async(
        types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=URI), position=types.Position(line=0, character=3))
    )
    assert result is not None and len(result.items) == 1
    item = result.items[0]
    assert item.text_edit.new_text == "result = 3"
    assert item.text_edit.range == types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=3))


async def test_completion_menu_quiet_when_client_has_inline(client, fake):
    await start(client, fake)
    open_doc(client, URI, "res\n")
    result = await client.text_document_completion_async(
        types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=URI), position=types.Position(line=0, character=3))
    )
    assert result is None
    assert fake.completion_requests() == []


async def test_bad_positions_and_unknown_documents_give_no_items(client, fake):
    await start(client, fake)
    open_doc(client, URI, "one line\n")
    assert await inline(client, URI, 50, 0) == []
    assert await inline(client, "file:///not/open.py", 0, 0) == []
    assert fake.completion_requests() == []
    # the server is still fine
    fake.push(Reply(text="ok"))
    assert [i.insert_text for i in await inline(client, URI, 1, 0)] == ["ok"]


async def test_selected_completion_item_is_extended_over_its_range(client, fake):
    fake.push(Reply(text="('hello')"))
    await start(client, fake)
    open_doc(client, URI, "pri\n")
    rng = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=3))
    result = await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=URI),
            position=types.Position(line=0, character=3),
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Automatic,
                selected_completion_info=types.SelectedCompletionInfo(range=rng, text="print"),
            ),
        )
    )
    items = result.items if isinstance(result, types.InlineCompletionList) else result
    assert [i.insert_text for i in items] == ["print('hello')"]
    assert items[0].range == rng
    assert fake.completion_requests()[0].body["prompt"] == "print"
