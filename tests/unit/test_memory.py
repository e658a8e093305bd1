"""The cache key, the cache (bounded by count and by bytes, one answer by length:
issue 13, item 12), typing-through."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cursor import ctx_at
from fim_server.core.engine import CompletionEngine, Trigger
from fim_server.core.memory import (
    MAX_ANSWER_CHARS,
    MAX_CACHE_BYTES,
    CompletionCache,
    Shown,
    answer_bytes,
    bounded_answer,
    cache_key,
    typed_through,
)
from fim_server.settings import Settings
from fim_server.providers.base import Completion, FimRequest, Usage


# -- cache_key -----------------------------------------------------------------------------

SETTINGS = Settings()
REQUEST = FimRequest(prompt="def f(", suffix="):\n", max_tokens=64, temperature=0.0, stop=("\n",))


def test_cache_key_equal_for_equal_inputs():
    again = FimRequest(prompt="def " + "f(", suffix="):\n", max_tokens=64, temperature=0.0, stop=("\n",))
    assert cache_key(Settings(), again) == cache_key(SETTINGS, REQUEST)
    assert hash(cache_key(Settings(), again)) == hash(cache_key(SETTINGS, REQUEST))


@pytest.mark.parametrize(
    "settings, request_",
    [
        pytest.param(replace(SETTINGS, model="deepseek-other"), REQUEST, id="model"),
        pytest.param(replace(SETTINGS, base_url="http://localhost:9/beta"), REQUEST, id="base_url"),
        pytest.param(replace(SETTINGS, provider="other"), REQUEST, id="provider"),
        pytest.param(SETTINGS, replace(REQUEST, max_tokens=65), id="max_tokens"),
        pytest.param(SETTINGS, replace(REQUEST, temperature=0.5), id="temperature"),
        pytest.param(SETTINGS, replace(REQUEST, stop=()), id="stop"),
        pytest.param(SETTINGS, replace(REQUEST, stop=("\n", "###")), id="stop-added"),
        pytest.param(SETTINGS, replace(REQUEST, prompt="def g("), id="prompt"),
        pytest.param(SETTINGS, replace(REQUEST, suffix="): pass\n"), id="suffix"),
        # the boundary between prompt and suffix is part of the key
        pytest.param(SETTINGS, replace(REQUEST, prompt="def f():", suffix="\n"), id="boundary"),
    ],
)
def test_cache_key_changes(settings, request_):
    assert cache_key(settings, request_) != cache_key(SETTINGS, REQUEST)


def test_cache_key_handles_lone_surrogates():
    request = replace(REQUEST, prompt="x\ud800")
    assert cache_key(SETTINGS, request) != cache_key(SETTINGS, REQUEST)


# -- CompletionCache -----------------------------------------------------------------------


class FakeTimer:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_cache_lru_eviction():
    cache = CompletionCache(2, 60, timer=FakeTimer())
    cache.put(("a",), "A")
    cache.put(("b",), "B")
    assert cache.get(("a",)) == "A"  # a is now the most recently used
    cache.put(("c",), "C")
    assert cache.get(("b",)) is None
    assert cache.get(("a",)) == "A"
    assert cache.get(("c",)) == "C"
    assert len(cache) == 2


def test_cache_ttl_expiry():
    timer = FakeTimer()
    cache = CompletionCache(10, 60, timer=timer)
    cache.put(("a",), "A")
    timer.now += 30
    cache.put(("b",), "B")
    timer.now += 29.5
    assert cache.get(("a",)) == "A"
    timer.now += 1  # a is 60.5 s old, b 30.5 s
    assert cache.get(("a",)) is None
    assert cache.get(("b",)) == "B"
    timer.now += 30
    assert cache.get(("b",)) is None
    assert len(cache) == 0


def test_cache_replaces_a_value():
    cache = CompletionCache(10, 60, timer=FakeTimer())
    cache.put(("a",), "old")
    cache.put(("a",), "new")
    assert cache.get(("a",)) == "new"
    assert len(cache) == 1


@pytest.mark.parametrize("size, ttl", [(0, 60), (10, 0)])
def test_cache_off(size, ttl):
    cache = CompletionCache(size, ttl, timer=FakeTimer())
    cache.put(("a",), "A")
    assert cache.get(("a",)) is None
    assert len(cache) == 0


# -- typed_through ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "before, shown_text, after, rest",
    [
        pytest.param("x = █\n", "foo(bar)", "x = fo█\n", "o(bar)", id="typed-first-chars"),
        pytest.param("x = █\n", "foo(bar)", "x = f█\n", "oo(bar)", id="typed-one-char"),
        pytest.param("x = █\n", "foo(bar)", "x = fx█\n", None, id="typed-wrong-char"),
        pytest.param("x = █\n", "foo(bar)", "x = g█\n", None, id="typed-other-char"),
        pytest.param("x = █\ny\n", "foo(bar)", "x = f█\nz\n", None, id="suffix-changed"),
        pytest.param("x = █)\n", "foo", "x = f█ )\n", None, id="suffix-changed-on-the-line"),
        pytest.param("x = fo█\n", "o(bar)", "x = f█\n", None, id="moved-backwards"),
        pytest.param("x = █\n", "foo", "x = foo█\n", None, id="typed-all"),
        pytest.param("x = █\n", "foo", "x = █\n", None, id="not-moved"),
        pytest.param("x = █\n", "foo", "y = f█\n", None, id="edited-before-the-cursor"),
        pytest.param("x = █\n", "1\ny = 2", "x = 1\ny█\n", " = 2", id="typed-across-newline"),
        pytest.param("x = █\r\n", "1\r\ny = 2", "x = 1\r\ny█\r\n", " = 2", id="typed-across-crlf"),
        pytest.param(
            "def f():█\n", "\n    return 1\n    pass", "def f():\n    re█\n", "turn 1\n    pass",
            id="typed-newline-and-indent",
        ),
        pytest.param("s = '█'\n", "😀中文", "s = '😀█'\n", "中文", id="typed-emoji"),
    ],
)
def test_typed_through(before, shown_text, after, rest):
    old = ctx_at(before)
    shown = Shown(old.prefix, old.suffix, old.offset, shown_text)
    assert typed_through(shown, ctx_at(after)) == rest


def test_typed_through_with_a_cut_prefix_window():
    old = ctx_at("0123456789█\n", max_prefix_chars=5)
    assert old.prefix == "56789"
    shown = Shown(old.prefix, old.suffix, old.offset, "abc")
    new = ctx_at("0123456789a█\n", max_prefix_chars=5)
    assert new.prefix == "6789a"
    assert typed_through(shown, new) == "bc"


# -- bounded by bytes ---------------------------------------------------------------------

HUGE = ("value = compute(first, second) + another_term * factor\n" * 17_000)[:900_000]  # 900 KB


class Huge:
    name = "huge"

    async def complete(self, request, timeout_s, progress=None) -> Completion:
        return Completion(HUGE, "stop", Usage())


def test_the_cache_evicts_by_bytes_least_recently_used_first():
    cache = CompletionCache(1000, 600, max_bytes=10 * answer_bytes("x" * 1000))
    for i in range(25):
        cache.put((i,), "x" * 1000)
        assert cache.bytes <= cache.max_bytes
    assert len(cache) == 10
    assert cache.get((14,)) is None and cache.get((15,)) == "x" * 1000
    assert cache.bytes == sum(answer_bytes(cache.get((i,))) for i in range(15, 25))
    cache.put((15,), "y")  # replacing an answer gives its bytes back
    assert cache.bytes == 9 * answer_bytes("x" * 1000) + answer_bytes("y")


def test_an_answer_larger_than_the_whole_cache_is_not_kept():
    cache = CompletionCache(10, 600, max_bytes=1000)
    cache.put(("a",), "a" * 5000)
    assert len(cache) == 0 and cache.bytes == 0


def test_a_suggestion_is_cut_at_a_line_break_before_the_limit():
    cut = bounded_answer(HUGE)
    assert len(cut) <= MAX_ANSWER_CHARS and HUGE.startswith(cut) and cut.endswith("factor")
    assert bounded_answer("short") == "short"
    assert len(bounded_answer("x" * (MAX_ANSWER_CHARS + 10))) == MAX_ANSWER_CHARS


async def test_900_kb_answers_over_200_requests_keep_memory_bounded():
    engine = CompletionEngine(Settings(api_key="k", speculative_next=False), provider_factory=lambda s, c: Huge())
    try:
        for i in range(200):
            await engine.complete(ctx_at(f"# request {i}\nx = █\n"), Trigger.INVOKED)
    finally:
        await engine.aclose()
    assert engine.stats["provider_calls"] == 200
    assert len(engine.cache) == 200
    assert engine.cache.bytes <= 200 * answer_bytes("x" * MAX_ANSWER_CHARS)  # not 200 * 900 KB
    assert engine.cache.bytes <= MAX_CACHE_BYTES


async def test_the_byte_bound_holds_when_the_count_bound_is_far_away():
    engine = CompletionEngine(Settings(api_key="k", speculative_next=False, cache_size=100_000), provider_factory=lambda s, c: Huge())
    engine.cache.max_bytes = 40 * answer_bytes("x" * MAX_ANSWER_CHARS)
    try:
        for i in range(60):
            await engine.complete(ctx_at(f"# request {i}\nx = █\n"), Trigger.INVOKED)
    finally:
        await engine.aclose()
    assert 0 < engine.cache.bytes <= engine.cache.max_bytes
    assert len(engine.cache) < 60
