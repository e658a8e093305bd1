"""SSE reading: strict UTF-8 (also when a character is split across chunks), any
line ending, a stream cut before [DONE] is an error, the size cap."""

from __future__ import annotations

import httpx
import pytest

from fim_server.providers import errors
from fim_server.providers.http import sse_events


class Chunks(httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    async def __aiter__(self):
        for chunk in self.chunks:
            yield chunk


def response(chunks: list[bytes]) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=Chunks(chunks))


async def events(chunks: list[bytes], limit: int = 1 << 20) -> list:
    return [e async for e in sse_events(response(chunks), limit)]


async def test_character_split_across_chunks():
    data = 'data: {"t": "中😀"}\n\ndata: [DONE]\n\n'.encode()
    cut = data.index("中".encode()) + 1  # inside the three bytes of 中
    cut2 = data.index("😀".encode()) + 2
    assert await events([data[:cut], data[cut:cut2], data[cut2:]]) == [{"t": "中😀"}]


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
async def test_line_endings(ending):
    body = ending.join([b": keep-alive", b"", b'data: {"a": 1}', b"", b"data: [DONE]", b"", b""])
    assert await events([body]) == [{"a": 1}]
    # CRLF split between two chunks
    half = body.index(b"data") - 1
    assert await events([body[:half], body[half:]]) == [{"a": 1}]


async def test_invalid_utf8_is_a_bad_response():
    with pytest.raises(errors.BadResponse, match="UTF-8"):
        await events([b'data: {"t": "\xff"}\n\ndata: [DONE]\n\n'])


async def test_stream_cut_before_done_is_a_bad_response():
    with pytest.raises(errors.BadResponse, match=r"\[DONE\]"):
        await events([b'data: {"t": "partial"}\n\n'])


async def test_what_follows_done_is_ignored():
    assert await events([b'data: {"a": 1}\n\ndata: [DONE]\n\ndata: not json\n\xff\n']) == [{"a": 1}]


async def test_size_cap():
    with pytest.raises(errors.BadResponse, match="exceeded"):
        await events([b"data: " + b"x" * 5000 + b"\n"], limit=1000)
