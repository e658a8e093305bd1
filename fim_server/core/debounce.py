"""Newest-request-wins waiting, per document.

Each request takes a ``Ticket``; taking one supersedes the document's previous
ticket, whose waits end at once with ``Superseded``. A provider call runs inside
``Ticket.race`` so that a superseded, timed-out or cancelled request also cancels
its HTTP request (closing the connection, so the provider stops generating).
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, TypeVar

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


class Debouncer:
    """The latest ticket of each document."""

    def __init__(self) -> None:
        self._latest: dict[str, Ticket] = {}

    def enter(self, uri: str) -> Ticket:
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

    def __len__(self) -> int:
        return len(self._latest)
