"""The debounce, in one place: newest-request-wins tickets per document, the
user's gaps between keystrokes, and the adaptive wait before a provider call.

Each request takes a ``Ticket``; taking one supersedes the document's previous
ticket, whose waits end at once with ``Superseded``. A provider call runs inside
``Ticket.race`` so that a superseded, timed-out or cancelled request also cancels
its HTTP request (closing the connection, so the provider stops generating).
"""

from __future__ import annotations

import asyncio
from collections import deque
import time
from typing import TYPE_CHECKING, Awaitable, Callable, Sequence, TypeVar

if TYPE_CHECKING:
    from fim_server.core.context import CursorContext
    from fim_server.settings import Settings

T = TypeVar("T")


class Superseded(Exception):
    """A newer request for the same document arrived."""


class Ticket:
    __slots__ = ("uri", "_event")

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self._event = asyncio.Event()

    @property
    def superseded(self) -> bool:
        return self._event.is_set()

    def supersede(self) -> None:
        self._event.set()

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` unless superseded first (then raise ``Superseded``)."""
        if self._event.is_set():
            raise Superseded
        try:
            await asyncio.wait_for(self._event.wait(), seconds)
        except asyncio.TimeoutError:
            return
        raise Superseded

    async def race(self, work: Awaitable[T], timeout: float) -> T:
        """Run ``work``; cancel it when superseded (``Superseded``), past ``timeout``
        (``asyncio.TimeoutError``) or when this task is cancelled."""
        if self._event.is_set():
            if asyncio.iscoroutine(work):
                work.close()
            raise Superseded
        task = asyncio.ensure_future(work)
        waiter = asyncio.ensure_future(self._event.wait())
        try:
            done, _ = await asyncio.wait({task, waiter}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            await _cancel(task)
            raise
        finally:
            waiter.cancel()
        if task in done:
            return task.result()
        await _cancel(task)
        if self._event.is_set():
            raise Superseded
        raise asyncio.TimeoutError


async def _cancel(task: asyncio.Future) -> None:
    if task.done():
        if not task.cancelled():
            task.exception()  # mark retrieved
        return
    task.cancel()
    # wait() never raises the task's own outcome; a cancellation of the caller
    # still propagates.
    await asyncio.wait({task})
    if not task.cancelled():
        task.exception()


# -- how long to wait -------------------------------------------------------------
RHYTHM_PERCENTILE = 0.9  # wait past this share of the user's gaps between keys
RHYTHM_MARGIN = 1.1  # ... and a little longer
MIN_GAPS = 8  # gaps needed before the rhythm counts (fewer: debounceMs as set)
GAP_WINDOW = 64  # the most recent gaps kept
BURST_GAP_S = 1.0  # a longer gap is a pause, not part of typing
MIN_WAIT_S = 0.04
MIN_CEILING_S = 0.4  # the rhythm may lengthen the wait to twice debounceMs, at least this
MAX_SHORTENING_S = 0.2  # the adaptive wait is never more than this below debounceMs
LINE_END_FACTOR = 0.6  # after punctuation at a line end a pause is likely: ask sooner
SLOW_PROVIDER_S = 0.8  # a provider whose median call takes longer than this ...
SLOW_PROVIDER_FACTOR = 0.8  # ... is asked sooner still
RECENT_CALLS = 16  # provider calls whose durations count


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def adaptive_delay(base_s: float, gaps: list[float], ctx: CursorContext, provider_s: list[float]) -> float:
    """Debounce from the user's own rhythm, the character typed, the cursor place and
    the provider's recent latency; ``base_s`` is ``debounceMs``.

    Waiting a little longer than nearly all of this user's gaps between keys (the
    90th percentile: a shorter wait would call mid-burst once every few keys) lets
    a burst finish without a call; at a line end after punctuation (``:``, ``(``,
    ``{``, ``,``) a pause is likely, so ask sooner; with a slow provider sooner
    still. The result stays between ``base_s`` less 200 ms and twice ``base_s``
    (at least 400 ms): a user who sets 2000 ms waits about 2 s; the default 150 ms
    adapts from 40 ms to 400 ms.
    """
    wait = base_s
    ceiling = max(2 * base_s, MIN_CEILING_S)
    if len(gaps) >= MIN_GAPS:
        wait = min(max(_quantile(gaps, RHYTHM_PERCENTILE) * RHYTHM_MARGIN, MIN_WAIT_S), ceiling)
    last = ctx.line_prefix[-1:]
    at_line_end = not ctx.line_suffix.strip()
    if at_line_end and last and not (last.isalnum() or last in "_ \t"):
        wait *= LINE_END_FACTOR
    if provider_s and sorted(provider_s)[len(provider_s) // 2] > SLOW_PROVIDER_S:
        wait *= SLOW_PROVIDER_FACTOR
    return min(max(wait, base_s - MAX_SHORTENING_S, 0.0), ceiling)


class Debouncer:
    """The debounce of one server: the latest ticket of each document (newest
    request wins), the user's gaps between keystrokes, and the wait before a
    provider call that follows from them."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._latest: dict[str, Ticket] = {}
        self._last_key_at: dict[str, float] = {}
        self._gaps: deque[float] = deque(maxlen=GAP_WINDOW)

    # -- tickets ---------------------------------------------------------------
    def enter(self, uri: str) -> Ticket:
        """A new request for ``uri``: its ticket; the previous one is superseded."""
        old = self._latest.get(uri)
        if old is not None:
            old.supersede()
        ticket = Ticket(uri)
        self._latest[uri] = ticket
        return ticket

    def leave(self, ticket: Ticket) -> None:
        if self._latest.get(ticket.uri) is ticket:
            del self._latest[ticket.uri]

    def cancel(self, uri: str) -> None:
        ticket = self._latest.pop(uri, None)
        if ticket is not None:
            ticket.supersede()

    def cancel_all(self) -> None:
        for uri in list(self._latest):
            self.cancel(uri)

    def forget(self, uri: str) -> None:
        """A document closed: its waiting request ends, its last keystroke is dropped."""
        self.cancel(uri)
        self._last_key_at.pop(uri, None)

    def __len__(self) -> int:
        return len(self._latest)

    # -- rhythm and wait ---------------------------------------------------------
    def keystroke(self, uri: str) -> None:
        """An automatic request (a keystroke): its gap to the last one, if short, is
        part of the user's rhythm."""
        now = self._clock()
        last = self._last_key_at.get(uri)
        self._last_key_at[uri] = now
        if last is not None and now - last < BURST_GAP_S:
            self._gaps.append(now - last)

    @property
    def gaps(self) -> list[float]:
        return list(self._gaps)

    def delay(self, ctx: CursorContext, settings: Settings, provider_s: Sequence[float]) -> float:
        """Seconds to wait before calling the provider (``debounceMs`` 0: none);
        ``provider_s``: the durations of the provider's calls, newest last."""
        if not settings.adaptive_debounce or settings.debounce_ms == 0:
            return settings.debounce_ms / 1000
        recent = list(provider_s)[-RECENT_CALLS:]
        return adaptive_delay(settings.debounce_ms / 1000, list(self._gaps), ctx, recent)

    async def wait(self, ticket: Ticket, ctx: CursorContext, settings: Settings, provider_s: Sequence[float]) -> None:
        """The debounce itself: sleep unless superseded first (``Superseded``)."""
        seconds = self.delay(ctx, settings, provider_s)
        if seconds > 0:
            await ticket.sleep(seconds)
