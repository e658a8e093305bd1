"""core/calls: the pure helpers of the typing optimisations; every provider call,
speculative or owned, ends by its deadline (issue 13, item 10); the text streamed
so far lives on the call, not in the request."""

from __future__ import annotations

import asyncio
import time

import pytest

from cursor import ctx_at as marked
from fim_server.core.engine import CompletionEngine, Trigger
from fim_server.fakes.deepseek import FakeDeepSeek, Reply
from fim_server.settings import Settings

from fim_server.core.context import build_context
from fim_server.core.documents import split_lines
from fim_server.core.calls import advanced, extension
from fim_server.core.text import common_prefix_len


def ctx_at(text: str, line: int, col: int, budget: int = 8000):
    return build_context("file:///t.py", split_lines(text), line, col, max_prefix_chars=budget, max_suffix_chars=2000)


def test_advanced_equals_the_context_after_typing():
    text = "def f(a):\n    \nz = 1\n"
    before = ctx_at(text, 1, 4)
    typed = "return a"
    after = ctx_at("def f(a):\n    return a\nz = 1\n", 1, 12)
    assert advanced(before, typed) == after
    multi = advanced(before, "x = a\n    return x")
    assert multi == ctx_at("def f(a):\n    x = a\n    return x\nz = 1\n", 2, 12)


@pytest.mark.parametrize(
    "old_text, old_pos, new_text, new_pos, expected",
    [
        ("x = \n", (0, 4), "x = ab\n", (0, 6), "ab"),
        ("x = \n", (0, 4), "x = \n", (0, 4), ""),
        ("x = \n", (0, 4), "y = ab\n", (0, 6), None),  # the text before changed
        ("x = \nq\n", (0, 4), "x = ab\nr\n", (0, 6), None),  # the text after changed
        ("x = ab\n", (0, 6), "x = a\n", (0, 5), None),  # backspace
    ],
)
def test_extension(old_text, old_pos, new_text, new_pos, expected):
    assert extension(ctx_at(old_text, *old_pos), ctx_at(new_text, *new_pos)) == expected


@pytest.mark.parametrize("a, b, n", [("", "", 0), ("abc", "abd", 2), ("abc", "abc", 3), ("ab", "abc", 2), ("x" * 9000 + "a", "x" * 9000 + "b", 9000)])
def test_common_prefix_len(a, b, n):
    assert common_prefix_len(a, b) == n


KEY = "sk-calls-test"


def _engine(url: str, statuses: list[str]) -> CompletionEngine:
    engine = CompletionEngine(Settings(base_url=url, api_key=KEY, timeout_ms=1000))
    engine.connect(on_status=lambda state, reason: statuses.append(state), with_snippets=lambda ctx: ctx)
    return engine


async def test_a_speculative_call_ends_by_its_deadline_against_a_trickling_upstream():
    # The second request (the speculative one after the first answer) gets headers
    # and then a keep-alive every 0.1 s for 20 s: every read succeeds, so only a
    # deadline for the whole call ends it.
    trickle = Reply(hang=True, keepalives=200, keepalive_interval=0.1)
    with FakeDeepSeek([Reply(text="alpha"), trickle], api_key=KEY) as fake:
        statuses: list[str] = []
        engine = _engine(fake.url, statuses)
        try:
            answer = await engine.complete(marked("x = █\n"), Trigger.INVOKED)
            assert [s.text for s in answer] == ["alpha"]
            assert engine.stats["speculative_calls"] == 1
            assert await asyncio.to_thread(fake.wait_for_requests, 2, 3.0, completions_only=True)
            speculative = fake.completion_requests()[1]
            started = time.monotonic()
            closed = await asyncio.to_thread(speculative.client_closed.wait, 6.0)
            assert closed, "the speculative call still holds its connection"
            assert time.monotonic() - started < 2.5
            await asyncio.sleep(0.05)
            assert engine.calls.running == 0
            assert statuses[-1] != "busy"
        finally:
            await engine.aclose()


async def test_an_owned_call_ends_by_its_deadline_and_says_so():
    trickle = Reply(hang=True, keepalives=200, keepalive_interval=0.1)
    with FakeDeepSeek([trickle], api_key=KEY) as fake:
        statuses: list[str] = []
        engine = _engine(fake.url, statuses)
        try:
            started = time.monotonic()
            assert await engine.complete(marked("x = █\n"), Trigger.INVOKED) == []
            assert time.monotonic() - started < 2.0
            assert await asyncio.to_thread(fake.completion_requests()[0].client_closed.wait, 3.0)
            await asyncio.sleep(0.05)
            assert engine.calls.running == 0 and statuses[-1] == "error"
            assert engine.stats["errors_transient"] == 1
        finally:
            await engine.aclose()


async def test_in_flight_reuse_reads_the_calls_own_progress():
    # A slow stream: the second request types the first streamed characters and
    # takes the running call over instead of starting another.
    slow = Reply(chunks=["alpha", "_beta", "_gamma"], chunk_delay=0.3)
    with FakeDeepSeek([slow], api_key=KEY) as fake:
        statuses: list[str] = []
        engine = _engine(fake.url, statuses)
        try:
            first = asyncio.ensure_future(engine.complete(marked("x = █\n"), Trigger.INVOKED))
            await asyncio.sleep(0.15)
            second = await engine.complete(marked("x = al█\n"), Trigger.INVOKED)
            assert [s.text for s in second] == ["pha_beta_gamma"]
            assert engine.stats["inflight_reused"] == 1
            assert len(fake.completion_requests()) == 1
            await first
        finally:
            await engine.aclose()
