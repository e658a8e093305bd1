"""Streaming with early stop: a single-line request answers at the first line break
and closes the stream (the provider sees the connection closed)."""

from __future__ import annotations

import time

import httpx
import pytest

from fim_server.settings import Settings, parse_settings
from fim_server.fakes.codestral import FakeCodestral
from fim_server.fakes.llamacpp import FakeLlamaCpp
from fim_server.fakes.ollama import FakeOllama
from fim_server.fakes.openai import FakeOpenAI
from fim_server.providers import create_provider
from fim_server.fakes.deepseek import FakeDeepSeek, Reply
from fim_server.providers.base import FimRequest, Streamed
from fim_server.providers.deepseek import DeepSeekProvider


async def _complete(first_line_only: bool):
    reply = Reply(chunks=["value", " + 1\nnext", "_line()", " + more"], chunk_delay=0.4)
    with FakeDeepSeek(default=reply, api_key="k") as fake:
        settings = Settings(base_url=fake.url, api_key="k")
        async with httpx.AsyncClient() as client:
            provider = DeepSeekProvider(settings, client)
            progress = Streamed()
            request = FimRequest("x = ", "\ny = 2\n", 64, first_line_only=first_line_only)
            started = time.monotonic()
            completion = await provider.complete(request, 10, progress)
            elapsed = time.monotonic() - started
        closed = fake.completion_requests()[0].client_closed.wait(3) if first_line_only else None
    return completion, elapsed, progress.pieces, closed


async def test_single_line_request_stops_at_the_first_line_break():
    completion, elapsed, progress, closed = await _complete(True)
    assert completion.text == "value + 1\nnext"
    assert completion.finish_reason == "early_stop"
    assert progress == ["value", " + 1\nnext"]
    assert elapsed < 1.0  # two more pieces would take 0.8 s
    assert closed


async def test_without_early_stop_the_whole_stream_is_read():
    completion, elapsed, progress, closed = await _complete(False)
    assert completion.text == "value + 1\nnext_line() + more"
    assert completion.finish_reason == "stop"
    assert "".join(progress) == completion.text


@pytest.mark.parametrize("name", ["openai", "ollama", "llamacpp", "codestral"])
async def test_every_streaming_provider_stops_early_and_reports_progress(name):
    """The other providers' streams (SSE or NDJSON) stop at the first line break of a
    single-line request too, and fill ``progress`` for in-flight reuse."""
    fakes = {"openai": (FakeOpenAI, {"accepts_suffix": True}), "ollama": (FakeOllama, {}),
             "llamacpp": (FakeLlamaCpp, {}), "codestral": (FakeCodestral, {})}
    cls, extra = fakes[name]
    reply = Reply(chunks=["value", " + 1\nnext", "_line()", " + more"], chunk_delay=0.4)
    with cls(default=reply, **extra) as fake:
        settings, problems = parse_settings({"provider": name, "baseUrl": fake.base_url, "apiKey": "k"})
        assert problems == []
        async with httpx.AsyncClient() as client:
            provider = create_provider(settings, client)
            progress = Streamed()
            request = FimRequest("x = ", "\ny = 2\n", 64, first_line_only=True)
            started = time.monotonic()
            completion = await provider.complete(request, 10, progress)
            elapsed = time.monotonic() - started
    assert completion.text == "value + 1\nnext" and completion.finish_reason == "early_stop"
    assert progress.pieces == ["value", " + 1\nnext"]
    assert elapsed < 1.0


async def _requests_after(replies: list[Reply], stream: bool = False):
    """The provider's answer (or error) to one request, and the fake's completion requests."""
    from fim_server.providers import errors

    with FakeDeepSeek(replies, default=Reply(text="late"), api_key="k") as fake:
        async with httpx.AsyncClient() as client:
            provider = DeepSeekProvider(Settings(base_url=fake.url, api_key="k"), client)
            try:
                answer = (await provider.complete(FimRequest("x = ", "\n", 16, stream=stream), 10)).text
            except errors.ProviderError as exc:
                answer = exc
        found = fake.completion_requests()
        for request in found:  # a drop is recorded before the close; an answer just after its last byte
            if request.outcome is None:
                request.completed.wait(3)
        return answer, [r.outcome for r in found]


async def test_a_connection_closed_before_any_answer_is_sent_once_more():
    """A kept-alive connection the server closes as the request goes out: sent again on a
    new connection, once; the user sees the answer, not a "dropped" notice."""
    answer, outcomes = await _requests_after([Reply(drop_before_headers=True), Reply(text="a + b")])
    assert answer == "a + b" and outcomes == ["dropped", "completed"]


async def test_closed_twice_before_any_answer_is_one_error_after_two_requests():
    answer, outcomes = await _requests_after([Reply(drop_before_headers=True)] * 3)
    assert "dropped mid-answer" in str(answer) and outcomes == ["dropped", "dropped"]  # never a third


async def test_a_connection_closed_after_the_answer_began_is_not_sent_again():
    answer, outcomes = await _requests_after([Reply(chunks=["a", " + b"], drop_after_chunks=1)], stream=True)
    assert "dropped mid-answer" in str(answer) and outcomes == ["dropped"]
