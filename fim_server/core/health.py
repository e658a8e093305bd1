"""Whether the provider may be called now: backoff after transient failures,
a block after fatal ones, and one notice per episode."""

from __future__ import annotations

from dataclasses import dataclass
import math
import random
import time
from typing import Callable

from fim_server.providers.errors import FatalError, ProviderError

BACKOFF_BASE_S = 1.0
BACKOFF_FACTOR = 2.0
BACKOFF_CAP_S = 60.0


@dataclass
class Verdict:
    """What the caller should do after a failure: tell the user ``notice`` if set."""

    notice: str | None
    level: str  # "error" or "warning"


class ProviderHealth:
    def __init__(self, clock: Callable[[], float] = time.monotonic, rng: Callable[[], float] = random.random) -> None:
        self._clock = clock
        self._rng = rng
        self.failures = 0
        self.retry_at = 0.0
        self.blocked_by: str | None = None
        self.episodes = 0
        # After a fatal error, one probe call this often (None or 0: none until reset()),
        # so a topped-up balance or a re-enabled key heals without a settings change.
        self.fatal_retry_s: float | None = None
        self.probe_at = 0.0

    @property
    def in_episode(self) -> bool:
        return self.failures > 0 or self.blocked_by is not None

    def may_call(self) -> bool:
        now = self._clock()
        if self.blocked_by is not None:
            if not self.fatal_retry_s or now < self.probe_at:
                return False
            self.probe_at = now + self.fatal_retry_s  # this caller is the one probe
            return True
        return now >= self.retry_at

    def backoff_delay(self, retry_after: float | None) -> float:
        # the exponent stops growing once the cap is reached (no overflow in long outages)
        exponent = min(self.failures - 1, 32)
        base = min(BACKOFF_CAP_S, BACKOFF_BASE_S * BACKOFF_FACTOR**exponent)
        delay = base * (0.5 + 0.5 * self._rng())  # jitter: spread clients apart
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay

    def failed(self, error: ProviderError) -> Verdict:
        first = not self.in_episode
        if first:
            self.episodes += 1
        if isinstance(error, FatalError):
            already = self.blocked_by is not None
            self.blocked_by = error.message
            self.probe_at = self._clock() + (self.fatal_retry_s or 0.0)
            return Verdict(None if already else error.message, "error")
        self.failures += 1
        self.retry_at = self._clock() + self.backoff_delay(getattr(error, "retry_after", None))
        return Verdict(error.message if first else None, "warning")

    def succeeded(self) -> bool:
        """Record a success; True when it ends a failure episode."""
        was = self.in_episode
        self.failures = 0
        self.retry_at = 0.0
        self.blocked_by = None
        return was

    def describe(self) -> dict:
        """For the editor's status: ``kind`` fatal (needs the user) or transient, and
        for transient failures ``retryIn``, whole seconds until calls resume."""
        if self.blocked_by is not None:
            return {"kind": "fatal"}
        return {"kind": "transient", "retryIn": max(0, math.ceil(self.retry_at - self._clock()))}

    def reset(self) -> None:
        """Settings changed: forget the block and the backoff."""
        self.succeeded()
