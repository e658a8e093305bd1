"""HTTP helpers: Retry-After, JSON bodies with keep-alive lines, error messages; SSE reading:
strict UTF-8 (also when a character is split across chunks), any line ending, a stream cut before [DONE] is an error, the size cap."""

from __future__ import annotations

import calendar

import httpx
import pytest

from fim_server.providers import errors
from fim_server.providers.http import MAX_RETRY_AFTER_S, error_message, parse_json_body, retry_after_seconds, sse_events


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


# -- retry_after_seconds -----------------------------------------------------------------

NOW = float(calendar.timegm((2015, 10, 21, 7, 27, 30)))  # 30 s before the date below


@pytest.mark.parametrize(
    "value, expected",
    [
        ("5", 5.0),
        ("0", 0.0),
        (" 2.5 ", 2.5),
        ("-3", 0.0),
        ("100000", MAX_RETRY_AFTER_S),
        ("inf", MAX_RETRY_AFTER_S),
        ("nan", None),
        ("garbage", None),
        ("soon, please", None),
        ("", None),
        (None, None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),  # in the past
        ("Wed, 21 Oct 2015 09:00:00 GMT", MAX_RETRY_AFTER_S),
    ],
)
def test_retry_after_seconds(value, expected):
    headers = httpx.Headers({} if value is None else {"Retry-After": value})
    assert retry_after_seconds(headers, now=NOW) == expected
    assert MAX_RETRY_AFTER_S == 300


# -- parse_json_body and error_message ------------------------------------------------------


@pytest.mark.parametrize(
    "body, data",
    [
        (b'{"a": 1}', {"a": 1}),
        (b'\n\n\n{"choices": []}', {"choices": []}),
        (b'\r\n\r\n  {"x": "\xe4\xb8\xad"}\n', {"x": "中"}),
        (b"[1, 2]", [1, 2]),
    ],
)
def test_parse_json_body(body, data):
    assert parse_json_body(body) == data


@pytest.mark.parametrize("body", [b"", b"\n\n\n", b"not json", b'\n\n{"a": ', b"\xff\xfe"])
def test_parse_json_body_bad(body):
    with pytest.raises(errors.BadResponse):
        parse_json_body(body)


@pytest.mark.parametrize(
    "body, message",
    [
        (b'{"error": {"message": "Model Not Exist", "type": "invalid_request_error"}}', "Model Not Exist"),
        (b'{"error": "boom"}', "boom"),
        (b'{"message": "m"}', "m"),
        (b'{"detail": "d"}', "d"),
        (b'\n\n{"error": {"message": "after keep-alive"}}', "after keep-alive"),
        (b"Bad Gateway", "Bad Gateway"),
        (b"  <html>502</html>\n", "<html>502</html>"),
        (b"x" * 500, "x" * 200),
        (b'{"error": {"message": "' + b"y" * 500 + b'"}}', "y" * 200),
    ],
)
def test_error_message(body, message):
    assert error_message(body) == message
