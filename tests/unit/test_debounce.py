"""Newest-request-wins waiting: tickets, sleeping and racing provider calls."""

from __future__ import annotations

import asyncio
import time

import pytest

from fim_server.core.debounce import Debouncer, Superseded, Ticket


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
