"""Provider health: backoff, jitter, Retry-After, one notice per episode, fatal blocks."""

from __future__ import annotations

import pytest

from fim_server.providers import errors
from fim_server.core.health import BACKOFF_CAP_S, ProviderHealth

class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Rng:
    def __init__(self, value: float = 1.0) -> None:
        self.value = value

    def __call__(self) -> float:
        return self.value


def transient(retry_after: float | None = None) -> errors.TransientError:
    return errors.ProviderUnavailable("DeepSeek is unavailable (503)", status=503, retry_after=retry_after)


def make_health(rng: float = 1.0) -> tuple[ProviderHealth, Clock]:
    clock = Clock()
    return ProviderHealth(clock=clock, rng=Rng(rng)), clock


# -- ProviderHealth ---------------------------------------------------------------------


def test_backoff_doubles_and_caps():
    health, clock = make_health(rng=1.0)  # no jitter below the base
    delays = []
    for _ in range(9):
        health.failed(transient())
        delay = health.retry_at - clock.now
        delays.append(delay)
        clock.now += delay - 0.01
        assert not health.may_call()
        clock.now += 0.01
        assert health.may_call()
    assert delays == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert BACKOFF_CAP_S == 60


@pytest.mark.parametrize("rng", [0.0, 0.1, 0.5, 0.999])
@pytest.mark.parametrize("failures, base", [(1, 1.0), (3, 4.0), (10, 60.0)])
def test_jitter_within_half_and_full_base(rng, failures, base):
    health, clock = make_health(rng=rng)
    for _ in range(failures):
        health.failed(transient())
    delay = health.retry_at - clock.now
    assert 0.5 * base <= delay <= base
    assert delay == pytest.approx(base * (0.5 + 0.5 * rng))


@pytest.mark.parametrize(
    "retry_after, expected",
    [(10.0, 10.0), (0.2, 1.0), (None, 1.0), (300.0, 300.0)],
)
def test_retry_after_honoured_when_larger(retry_after, expected):
    health, clock = make_health(rng=1.0)
    health.failed(errors.RateLimited("rate limited", status=429, retry_after=retry_after))
    assert health.retry_at - clock.now == pytest.approx(expected)


def test_one_notice_per_episode():
    health, clock = make_health()
    first = health.failed(transient())
    assert first.notice == "DeepSeek is unavailable (503)"
    assert first.level == "warning"
    clock.now += 100
    assert health.failed(transient()).notice is None
    clock.now += 100
    assert health.failed(errors.ProviderTimeout("timeout")).notice is None
    assert health.episodes == 1
    assert health.succeeded() is True  # the episode ends
    assert health.may_call()
    assert health.failed(transient()).notice is not None  # a new episode, a new notice
    assert health.episodes == 2


def test_succeeded_without_episode():
    health, _ = make_health()
    assert health.succeeded() is False
    assert not health.in_episode


def test_fatal_error_blocks_until_reset():
    health, clock = make_health()
    verdict = health.failed(errors.AuthenticationFailed("DeepSeek rejected the API key (401)", status=401))
    assert verdict.notice == "DeepSeek rejected the API key (401)"
    assert verdict.level == "error"
    clock.now += 1e6
    assert not health.may_call()
    again = health.failed(errors.AuthenticationFailed("DeepSeek rejected the API key (401)", status=401))
    assert again.notice is None
    health.reset()
    assert health.may_call()
    assert not health.in_episode
    assert health.succeeded() is False  # reset already ended it


def test_fatal_after_transient_still_tells_the_user():
    health, clock = make_health()
    health.failed(transient())
    clock.now += 10
    verdict = health.failed(errors.InsufficientBalance("top up", status=402))
    assert verdict.notice == "top up"
    assert verdict.level == "error"
    clock.now += 1e6
    assert not health.may_call()
    assert health.episodes == 1


def test_backoff_survives_a_long_outage():
    health, clock = make_health(rng=1.0)
    for _ in range(1100):
        health.failed(transient())
        clock.now = health.retry_at
    assert health.retry_at - clock.now <= BACKOFF_CAP_S
