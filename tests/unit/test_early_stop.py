"""Streaming with early stop: a single-line request answers at the first line break
and closes the stream (the provider sees the connection closed)."""

from __future__ import annotations

import time

import httpx

from fim_server.config import Settings
from fim_server.fakes.deepseek import FakeDeepSeek, Reply
from fim_server.providers.base import FimRequest
from fim_server.providers.deepseek import DeepSeekProvider


async def _complete(first_line_only: bool):
    reply = Reply(chunks=["value", " + 1\nnext", "_line()", " + more"], chunk_delay=0.4)
    with FakeDeepSeek(default=reply, api_key="k") as fake:
        settings = Settings(base_url=fake.url, api_key="k")
        async with httpx.AsyncClient() as client:
            provider = DeepSeekProvider(settings, client)
            progress: list[str] = []
            request = FimRequest("x = ", "\ny = 2\n", 64, first_line_only=first_line_only, progress=progress)
            started = time.monotonic()
            completion = await provider.complete(request, 10)
            elapsed = time.monotonic() - started
        closed = fake.completion_requests()[0].client_closed.wait(3) if first_line_only else None
    return completion, elapsed, progress, closed


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
