"""The fault matrix: every way the provider can fail, through the real server
process and real HTTP on 127.0.0.1.

For each fault, while the user keeps typing (a keystroke every 50 ms for about
two seconds) and after the provider heals:

* the server stays up (it answers the stats command, its process runs);
* every completion request is answered within its deadline (timeoutMs plus a
  margin for a loaded machine);
* the user sees at most one message for the episode;
* the provider gets no request storm (the calls are counted at the fake and
  bounded by the backoff: base 1 s, doubling, jitter down to half);
* completions resume by themselves once the provider heals, without a settings
  change and without another message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import json
import time
from typing import Any, Callable

import pytest

from fim_server.fakes.deepseek import FakeDeepSeek, Reply

from .rawlsp import RawServer, server_env

KEY = "sk-faults-KEY-7777"
URI = "file:///faults/main.py"
TIMEOUT_MS = 600
DEADLINE_S = TIMEOUT_MS / 1000 + 1.0  # the server's deadline plus room for a loaded machine
TYPING_S = 2.0
HEALED = "healed()"


@dataclass
class Fault:
    name: str
    reply: Callable[[], Reply] | None  # None: the provider is not listening at all
    max_calls: int = 3  # calls allowed in TYPING_S: 1 s backoff with jitter, doubling
    level: int = 2  # the message type the user sees once: 1 error, 2 warning
    words: tuple[str, ...] = ()  # the message says this
    settings: dict[str, Any] = field(default_factory=dict)
    min_gap_s: float = 0.45  # smallest time between two calls (backoff 1 s, jitter down to half)
    closes_connection: bool = False  # the server must hang up on the fake (stops generation)


SSE_GARBAGE = (
    b"event: message\nid: 1\n\nretry: 10\n"
    b"data: {\"choices\": [{\"text\": \"half\"\n"  # a JSON line cut short
    b"\x1b[31m terminal junk \x00\x01\x02\n"
    b"data: [DONE]\n\n"
)
NOT_UTF8 = b'{"id":"x","object":"text_completion","choices":[{"index":0,"text":"caf\xe9 \xff\xfe","finish_reason":"stop"}]}'
NOT_UTF8_SSE = b'data: {"choices":[{"index":0,"text":"\xc3\x28 \xa0\xa1","finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'
TEN_MB = b'{"choices":[{"index":0,"text":"' + b"x" * (10 * 1024 * 1024) + b'","finish_reason":"stop"}]}'

FAULTS = [
    Fault("connection refused", None, words=("cannot connect",)),
    Fault("hang before the headers", lambda: Reply(text="late", delay_before_headers=60), words=("did not answer",), closes_connection=True),
    Fault("hang in the middle of a stream", lambda: Reply(text="abcdef", hang_after_chunks=1), words=("did not answer",), closes_connection=True),
    Fault("connection reset mid-stream", lambda: Reply.reset(after_chunks=1, text="abcdef"), words=("dropped",)),
    Fault("connection closed mid-stream", lambda: Reply.dropped(after_chunks=1, text="abcdef"), words=("dropped",)),
    Fault("malformed JSON (non-streaming)", lambda: Reply.raw(b'{"choices": [{"text": "oops",'), words=("not valid JSON",), settings={"stream": False}),
    Fault("malformed JSON in a stream", lambda: Reply.raw(b'data: {"choices": [{"text": \n\ndata: [DONE]\n\n'), words=("not JSON",)),
    Fault("SSE garbage", lambda: Reply.raw(SSE_GARBAGE), words=("not JSON",)),
    Fault("stream without [DONE]", lambda: Reply.raw(b'data: {"choices":[{"index":0,"text":"cut"}]}\n\n'), words=("[DONE]",)),
    Fault("keep-alive comments forever", lambda: Reply.hanging(keepalives=100_000, keepalive_interval=0.05), words=("did not answer",), closes_connection=True),
    Fault("blank keep-alive lines forever (non-streaming)", lambda: Reply.hanging(keepalives=100_000, keepalive_interval=0.05), words=("did not answer",), settings={"stream": False}, closes_connection=True),
    Fault("a 10 MB answer", lambda: Reply.raw(TEN_MB), words=("exceeded",), settings={"stream": False}, closes_connection=True),
    Fault("a 10 MB stream", lambda: Reply.raw(b'data: {"choices":[{"index":0,"text":"' + b"y" * (10 << 20) + b'"}]}\n\n'), words=("exceeded",), closes_connection=True),
    Fault("invalid UTF-8 (non-streaming)", lambda: Reply.raw(NOT_UTF8), words=("UTF-8",), settings={"stream": False}),
    Fault("invalid UTF-8 in a stream", lambda: Reply.raw(NOT_UTF8_SSE), words=("UTF-8",)),
    Fault("429 storm with Retry-After", lambda: Reply.rate_limited(retry_after=1.5), words=("429",), max_calls=2, min_gap_s=1.45),
    Fault("429 storm without Retry-After", lambda: Reply.error(429), words=("429",)),
    Fault("500", lambda: Reply.error(500), words=("500",)),
    Fault("503", lambda: Reply.overloaded(), words=("503",)),
    Fault("503 with Retry-After", lambda: Reply.overloaded(retry_after=1.5), words=("503",), max_calls=2, min_gap_s=1.45),
    Fault("401 in the middle of a session", lambda: Reply.error(401), level=1, words=("API key",), max_calls=1, settings={"fatalRetrySeconds": 2}),
    Fault("402 in the middle of a session", lambda: Reply.error(402), level=1, words=("balance",), max_calls=1, settings={"fatalRetrySeconds": 2}),
]


def shown(server: RawServer) -> list[dict]:
    server.stats()  # a round trip: earlier messages have arrived
    return server.messages("window/showMessage")


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_fault(fault: Fault):
    fake = FakeDeepSeek(api_key=KEY, default=Reply(text="fine()")).start()
    port = fake.port
    server = RawServer(env=server_env())
    try:
        options = {"baseUrl": fake.url, "apiKey": KEY, "debounceMs": 0, "timeoutMs": TIMEOUT_MS, **fault.settings}
        server.initialize(options)
        text = "def main():\n    x = \n"
        server.open(URI, text)
        version = 1
        # a healthy session first
        assert server.inline(URI, 1, 8) == ["fine()"]
        before = len(fake.completion_requests())

        # the fault
        if fault.reply is None:
            fake.stop()
        else:
            fake.set_default(lambda req: fault.reply())
        slowest = 0.0
        started = time.monotonic()
        col = 8
        while time.monotonic() - started < TYPING_S:
            version += 1
            server.change(URI, version, (1, col), (1, col), "a")
            col += 1
            t0 = time.monotonic()
            assert server.inline(URI, 1, col, timeout=DEADLINE_S + 5) == []
            slowest = max(slowest, time.monotonic() - t0)
            time.sleep(0.05)
        assert slowest <= DEADLINE_S, f"a request took {slowest:.2f} s"
        if fault.reply is not None:
            during = fake.completion_requests()[before:]
            assert 1 <= len(during) <= fault.max_calls, f"{len(during)} calls in {TYPING_S} s: a storm"
            gaps = [b.received_at - a.received_at for a, b in zip(during, during[1:])]
            assert all(g >= fault.min_gap_s for g in gaps), gaps
            if fault.closes_connection:
                assert during[0].client_closed.wait(3), "the server did not hang up on a runaway answer"
        messages = shown(server)
        assert len(messages) == 1, messages
        assert messages[0]["type"] == fault.level
        assert all(w in messages[0]["message"] for w in fault.words), messages[0]["message"]
        assert KEY not in json.dumps(messages)

        # the provider heals: completions resume by themselves, silently
        if fault.reply is None:
            fake = FakeDeepSeek(api_key=KEY, default=Reply(text=HEALED), port=port).start()
        else:
            fake.set_default(Reply(text=HEALED))
        healed_at = time.monotonic()
        got: list[str] = []
        while time.monotonic() - healed_at < 8.0 and got != [HEALED]:
            version += 1
            server.change(URI, version, (1, col), (1, col), "b")
            col += 1
            got = server.inline(URI, 1, col, timeout=DEADLINE_S + 5)
            time.sleep(0.1)
        assert got == [HEALED], "completions did not resume by themselves"
        assert len(shown(server)) == 1, "recovery must not add a message"
        stats = server.stats()
        assert server.poll() is None
        assert stats["pending_handlers"] <= 1  # the stats request itself
    finally:
        code = server.close()
        fake.stop()
    assert code == 0, server.all_output()[-3000:]


def test_refused_then_back_on_a_dead_port_never_storms():
    """A provider that is down for good: over five seconds of typing, a handful of
    connection attempts, one message."""
    fake = FakeDeepSeek(api_key=KEY).start()
    url = fake.url
    fake.stop()
    with RawServer(env=server_env()) as server:
        server.initialize({"baseUrl": url, "apiKey": KEY, "debounceMs": 0, "timeoutMs": TIMEOUT_MS})
        server.open(URI, "x = \n")
        for i in range(100):
            assert server.inline(URI, 0, 4) == []
            time.sleep(0.05)
        stats = server.stats()
        # 1 s, 2 s, 4 s backoff with jitter: at most 4 attempts in about 5 s
        assert 1 <= stats.get("provider_calls", 0) <= 4, stats
        assert stats.get("skipped_unhealthy", 0) >= 90
        assert len(shown(server)) == 1
