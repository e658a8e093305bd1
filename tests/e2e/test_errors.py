"""Provider errors through the real server: one clear message per episode, no
request storms, recovery by itself, and the API key never shown."""

from __future__ import annotations

import asyncio
import time

from lsprotocol import types

from fim_server.fakes.deepseek import Reply

from .conftest import API_KEY, inline, open_doc, start

URI = "file:///work/errors.py"


def shown(client, kind: types.MessageType | None = None) -> list[str]:
    return [m.message for m in client.messages if kind is None or m.type == kind]


async def keystrokes(client, n: int, pause: float = 0.0) -> list[list]:
    out = []
    for _ in range(n):
        out.append(await inline(client, URI, 0, 4))
        if pause:
            await asyncio.sleep(pause)
    return out


def all_text(client) -> str:
    return "\n".join(shown(client) + [m.message for m in client.log_messages])


async def test_rejected_key_one_message_then_no_calls_until_settings_change(client, fake):
    fake.set_default(Reply.error(401, f"Authentication Fails, Your api key: {API_KEY} is invalid"))
    await start(client, fake)
    open_doc(client, URI, "x = \n")
    results = await keystrokes(client, 5)
    assert results == [[]] * 5
    assert len(fake.completion_requests()) == 1, "after a 401 no more calls until the settings change"
    errors = shown(client, types.MessageType.Error)
    assert len(errors) == 1
    assert "API key" in errors[0] and "DEEPSEEK_API_KEY" in errors[0] and "fimServer.apiKey" in errors[0]
    assert API_KEY not in all_text(client)
    # a settings change lifts the block
    fake.set_default(Reply(text="back"))
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"fimServer": {"baseUrl": fake.url, "apiKey": API_KEY, "debounceMs": 0}})
    )
    await asyncio.sleep(0.2)
    assert [i.insert_text for i in await inline(client, URI, 0, 4)] == ["back"]


async def test_insufficient_balance_is_reported_once(client, fake):
    fake.set_default(Reply.error(402))
    await start(client, fake)
    open_doc(client, URI, "x = \n")
    await keystrokes(client, 4)
    assert len(fake.completion_requests()) == 1
    (message,) = shown(client, types.MessageType.Error)
    assert "balance" in message.lower()


async def test_rejected_model_name_says_so(client, fake):
    fake.set_default(Reply.error(422, "Model Not Exist"))
    await start(client, fake, model="deepseek-coder-old")
    open_doc(client, URI, "x = \n")
    await keystrokes(client, 3)
    (message,) = shown(client, types.MessageType.Error)
    assert "deepseek-coder-old" in message and "fimServer.model" in message
    assert len(fake.completion_requests()) == 1


async def test_rate_limit_backs_off_honours_retry_after_and_recovers(client, fake):
    fake.push(Reply.rate_limited(retry_after=1))
    fake.set_default(Reply(text="resumed"))
    await start(client, fake)
    open_doc(client, URI, "x = \n")
    results = await keystrokes(client, 10, pause=0.05)  # about 0.5 s of typing
    first, *later = fake.completion_requests()
    assert results[0] == []
    # on a slow machine the typing may outlast the window; inside it, nothing is sent
    assert all(r.received_at >= first.received_at + 0.99 for r in later), "no calls inside the Retry-After window"
    assert len(later) <= 1
    warnings = shown(client, types.MessageType.Warning)
    assert len(warnings) == 1 and "429" in warnings[0]
    # the backoff window starts when the 429 arrives (Retry-After 1 s, jitter never
    # above that): wait until well past it, measured from the fake's own record
    await asyncio.sleep(max(0.0, first.received_at + 1.8 - time.monotonic()))
    assert [i.insert_text for i in await inline(client, URI, 0, 4)] == ["resumed"]
    assert len(shown(client, types.MessageType.Warning)) == 1, "recovery is silent"


async def test_overload_storm_gets_exponential_backoff_and_one_warning(client, fake):
    fake.set_default(Reply.overloaded())
    await start(client, fake)
    open_doc(client, URI, "x = \n")
    await keystrokes(client, 40, pause=0.05)  # about 2 s of typing
    calls = len(fake.completion_requests())
    # base 1 s with jitter in [0.5, 1], doubling: at most 3 calls fit in ~2 s
    assert 1 <= calls <= 3, calls
    assert len(shown(client, types.MessageType.Warning)) == 1
    assert shown(client, types.MessageType.Error) == []


async def test_timeout_gives_no_items_within_deadline_and_closes_connection(client, fake):
    fake.push(Reply.hanging(keepalives=100, keepalive_interval=0.05))
    await start(client, fake, timeoutMs=400)
    open_doc(client, URI, "x = \n")
    started = time.monotonic()
    assert await inline(client, URI, 0, 4) == []
    assert time.monotonic() - started < 1.5
    assert fake.completion_requests()[0].client_closed.wait(2)
    (warning,) = shown(client, types.MessageType.Warning)
    assert "0.4 s" in warning


async def test_connection_dropped_mid_stream_then_recovers(client, fake):
    fake.push(Reply.dropped(after_chunks=1, text="partial answer"))
    fake.set_default(Reply(text="whole"))
    await start(client, fake)
    open_doc(client, URI, "x = \n")
    assert await inline(client, URI, 0, 4) == []
    assert len(shown(client, types.MessageType.Warning)) == 1
    await asyncio.sleep(1.05)  # first backoff is at most 1 s
    assert [i.insert_text for i in await inline(client, URI, 0, 4)] == ["whole"]


async def test_connection_refused_is_one_warning(client, fake):
    url = fake.url
    fake.stop()
    await start(client, None, baseUrl=url, apiKey=API_KEY, debounceMs=0)
    open_doc(client, URI, "x = \n")
    for _ in range(5):
        assert await inline(client, URI, 0, 4) == []
    (warning,) = shown(client, types.MessageType.Warning)
    assert "cannot connect" in warning


async def test_missing_key_is_a_clear_error(client, fake):
    await start(client, None, baseUrl=fake.url, debounceMs=0)
    open_doc(client, URI, "x = \n")
    assert await inline(client, URI, 0, 4) == []
    assert await inline(client, URI, 0, 4) == []
    (message,) = shown(client, types.MessageType.Error)
    assert "DEEPSEEK_API_KEY" in message
    assert fake.completion_requests() == []


async def test_garbled_json_is_a_transient_warning(client, fake):
    fake.push(Reply(text="x", usage={"prompt_tokens": "not a number"}))
    await start(client, fake)
    open_doc(client, URI, "x = \n")
    # odd usage values are tolerated: the completion still shows
    assert [i.insert_text for i in await inline(client, URI, 0, 4)] == ["x"]
