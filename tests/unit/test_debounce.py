"""The debounce: newest-request-wins tickets, sleeping and racing provider calls, the
user's keystroke gaps and the adaptive wait (its percentile and its bounds)."""

from __future__ import annotations

import asyncio
import time

import pytest

from cursor import ctx_at
from fim_server.core.debounce import RHYTHM_PERCENTILE, Debouncer, Superseded, Ticket, adaptive_delay
from fim_server.settings import Settings


class Work:
    """A provider call stand-in that records how it ended."""

    def __init__(self, seconds: float = 10.0, result: str = "done") -> None:
        self.seconds = seconds
        self.result = result
        self.started = False
        self.cancelled = False
        self.finished = False

    async def __call__(self) -> str:
        self.started = True
        try:
            await asyncio.sleep(self.seconds)
            return self.result
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        finally:
            self.finished = True


async def test_sleep_returns_after_the_delay():
    ticket = Ticket("u")
    started = time.monotonic()
    await ticket.sleep(0.02)
    assert time.monotonic() - started >= 0.015


async def test_sleep_superseded_raises_promptly():
    debouncer = Debouncer()
    ticket = debouncer.enter("u")
    loop = asyncio.get_running_loop()
    loop.call_later(0.02, debouncer.enter, "u")
    started = time.monotonic()
    with pytest.raises(Superseded):
        await ticket.sleep(10)
    assert time.monotonic() - started < 1.0
    assert ticket.superseded


async def test_sleep_after_supersede_raises_at_once():
    ticket = Ticket("u")
    ticket.supersede()
    with pytest.raises(Superseded):
        await ticket.sleep(10)


async def test_race_returns_the_result():
    work = Work(seconds=0.01, result="text")
    assert await Ticket("u").race(work(), timeout=5) == "text"
    assert work.finished and not work.cancelled


async def test_race_raises_the_work_error():
    async def failing() -> str:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await Ticket("u").race(failing(), timeout=5)


async def test_race_superseded_cancels_the_work():
    debouncer = Debouncer()
    ticket = debouncer.enter("u")
    work = Work()
    asyncio.get_running_loop().call_later(0.02, debouncer.enter, "u")
    started = time.monotonic()
    with pytest.raises(Superseded):
        await ticket.race(work(), timeout=10)
    assert time.monotonic() - started < 1.0
    assert work.started and work.cancelled and work.finished


async def test_race_on_a_superseded_ticket_never_starts_the_work():
    ticket = Ticket("u")
    ticket.supersede()
    work = Work()
    with pytest.raises(Superseded):
        await ticket.race(work(), timeout=10)
    assert not work.started


async def test_race_timeout_cancels_the_work():
    work = Work()
    started = time.monotonic()
    with pytest.raises(asyncio.TimeoutError):
        await Ticket("u").race(work(), timeout=0.02)
    assert time.monotonic() - started < 1.0
    assert work.cancelled and work.finished


async def test_cancelling_the_caller_cancels_the_work():
    work = Work()
    task = asyncio.ensure_future(Ticket("u").race(work(), timeout=10))
    await asyncio.sleep(0.02)
    assert work.started and not work.finished
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert work.cancelled and work.finished


async def test_cancelling_the_caller_during_sleep():
    ticket = Ticket("u")
    task = asyncio.ensure_future(ticket.sleep(10))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_debouncer_keeps_the_latest_ticket_per_document():
    debouncer = Debouncer()
    a1 = debouncer.enter("a")
    b1 = debouncer.enter("b")
    a2 = debouncer.enter("a")
    assert a1.superseded and not a2.superseded and not b1.superseded
    assert len(debouncer) == 2
    debouncer.leave(a1)  # an old ticket leaving does not drop the newer one
    assert len(debouncer) == 2
    debouncer.leave(a2)
    assert len(debouncer) == 1
    debouncer.cancel("b")
    assert b1.superseded and len(debouncer) == 0


async def test_cancel_all():
    debouncer = Debouncer()
    tickets = [debouncer.enter(uri) for uri in ("a", "b", "c")]
    debouncer.cancel_all()
    assert all(t.superseded for t in tickets)
    assert len(debouncer) == 0


def test_adaptive_delay_follows_rhythm_character_and_place():
    slow = [0.2] * 20
    fast = [0.08] * 20
    mid_word = ctx_at("value = compu█\n")
    line_end = ctx_at("value = f(a,█\n")
    base = 0.15
    assert adaptive_delay(base, fast, mid_word, []) < adaptive_delay(base, slow, mid_word, [])
    assert adaptive_delay(base, slow, line_end, []) < adaptive_delay(base, slow, mid_word, [])
    assert adaptive_delay(base, slow, line_end, [1.5] * 5) < adaptive_delay(base, slow, line_end, [0.3] * 5)
    assert adaptive_delay(base, [], mid_word, []) == pytest.approx(base)  # too few gaps: the setting
    assert 0 <= adaptive_delay(base, [5.0] * 20, mid_word, []) <= 1.0


MID_WORD = ctx_at("value = compu█\n")
LINE_END = ctx_at("value = f(a,█\n")


def test_the_wait_follows_the_90th_percentile_of_the_gaps():
    # 75% of the gaps are 0.1 s, the slowest quarter 0.3 s: waiting past the 75th
    # percentile would call in the middle of every fourth gap; the 90th waits them out.
    gaps = [0.1] * 15 + [0.3] * 5
    assert RHYTHM_PERCENTILE == 0.9
    assert adaptive_delay(0.15, gaps, MID_WORD, []) == pytest.approx(0.3 * 1.1)
    assert adaptive_delay(0.15, [0.1] * 19 + [0.3], MID_WORD, []) == pytest.approx(0.1 * 1.1)


def test_the_readme_names_the_percentile_the_code_uses():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert f"{round(RHYTHM_PERCENTILE * 100)}th percentile" in readme
    assert "75th percentile" not in readme


@pytest.mark.parametrize("gaps", [[], [0.1] * 20, [0.3] * 20, [0.9] * 20])
@pytest.mark.parametrize("ctx", [MID_WORD, LINE_END])
@pytest.mark.parametrize("provider_s", [[], [1.5] * 5])
def test_a_long_debounce_setting_is_kept_about_as_set(gaps, ctx, provider_s):
    # 2000 ms: between 1.8 s and 2 s whatever the rhythm, place or provider (was
    # capped at 1 s before); 5000 ms (the largest allowed) likewise.
    assert 1.8 <= adaptive_delay(2.0, gaps, ctx, provider_s) <= 2.0
    assert 4.8 <= adaptive_delay(5.0, gaps, ctx, provider_s) <= 5.0


@pytest.mark.parametrize("gaps", [[], [0.01] * 20, [0.1] * 20, [0.9] * 20])
@pytest.mark.parametrize("ctx", [MID_WORD, LINE_END])
@pytest.mark.parametrize("provider_s", [[], [1.5] * 5])
def test_the_default_adapts_between_a_fraction_and_400_ms(gaps, ctx, provider_s):
    assert 0.0 < adaptive_delay(0.15, gaps, ctx, provider_s) <= 0.4


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_keystroke_gaps_are_recorded_per_document_and_pauses_left_out():
    clock = Clock()
    debouncer = Debouncer(clock)
    for step in (0.2, 0.2, 3.0, 0.1):  # a 3 s pause is not part of the rhythm
        debouncer.keystroke("a")
        clock.now += step
    debouncer.keystroke("a")
    debouncer.keystroke("b")  # another document's first key: no gap
    assert debouncer.gaps == pytest.approx([0.2, 0.2, 0.1])
    debouncer.forget("a")
    clock.now += 0.1
    debouncer.keystroke("a")  # its last key was forgotten: no gap
    assert len(debouncer.gaps) == 3


def test_delay_uses_the_settings_and_the_rhythm():
    clock = Clock()
    debouncer = Debouncer(clock)
    for _ in range(10):
        debouncer.keystroke("a")
        clock.now += 0.25
    adaptive = Settings(debounce_ms=150)
    assert debouncer.delay(MID_WORD, adaptive, []) == pytest.approx(0.25 * 1.1)
    assert debouncer.delay(MID_WORD, Settings(debounce_ms=150, adaptive_debounce=False), []) == pytest.approx(0.15)
    assert debouncer.delay(MID_WORD, Settings(debounce_ms=0), []) == 0
    assert debouncer.delay(MID_WORD, Settings(debounce_ms=2000), []) == pytest.approx(2.0 - 0.2)
    # only the last 16 provider calls count: 4096 slow ones long ago do not
    assert debouncer.delay(LINE_END, adaptive, [2.0] * 100 + [0.1] * 16) == pytest.approx(0.25 * 1.1 * 0.6)


async def test_wait_sleeps_the_delay_and_a_newer_request_ends_it():
    debouncer = Debouncer()
    settings = Settings(debounce_ms=60, adaptive_debounce=False)
    ticket = debouncer.enter("u")
    started = time.monotonic()
    await debouncer.wait(ticket, MID_WORD, settings, [])
    assert time.monotonic() - started >= 0.05
    ticket = debouncer.enter("u")
    asyncio.get_running_loop().call_later(0.01, debouncer.enter, "u")
    with pytest.raises(Superseded):
        await debouncer.wait(ticket, MID_WORD, Settings(debounce_ms=5000, adaptive_debounce=False), [])

