"""Provider health (backoff, notices, blocks), HTTP helpers and DeepSeek error mapping."""

from __future__ import annotations

import calendar

import httpx
import pytest

from fim_server.providers import errors
from fim_server.core.health import BACKOFF_CAP_S, ProviderHealth
from fim_server.providers.http import MAX_RETRY_AFTER_S, error_message, parse_json_body, retry_after_seconds
from fim_server.providers.base import Usage
from fim_server.settings import Settings
from fim_server.providers.deepseek import DeepSeekProvider, usage_from

KEY = "sk-test-SECRET-1234"


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


# -- map_status -------------------------------------------------------------------------------


def map_status(status, body, headers, model):
    return DeepSeekProvider(Settings(model=model), None).map_status(status, body, headers)  # type: ignore[arg-type]

MODEL_BODY = b'{"error": {"message": "Model Not Exist", "type": "invalid_request_error"}}'


@pytest.mark.parametrize(
    "status, body, headers, kind, words, retry_after",
    [
        (400, MODEL_BODY, {}, errors.ModelRejected, ["deepseek-nope", "Model Not Exist", "fimServer.model"], None),
        (422, b'{"error": {"message": "unknown model"}}', {}, errors.ModelRejected, ["422", "fimServer.model"], None),
        (404, b'{"error": {"message": "model not found"}}', {}, errors.ModelRejected, ["fimServer.model"], None),
        (
            400, b'{"error": {"message": "max_tokens too large"}}', {}, errors.RequestRejected,
            ["max_tokens too large", "fimServer.maxTokens", "400"], None,
        ),
        (422, b"Unprocessable", {}, errors.RequestRejected, ["422", "Unprocessable"], None),
        (
            401, b'{"error": {"message": "Authentication Fails, your api key ' + KEY.encode() + b' is invalid"}}',
            {}, errors.AuthenticationFailed, ["401", "DEEPSEEK_API_KEY", "fimServer.apiKey"], None,
        ),
        (402, b'{"error": {"message": "Insufficient Balance"}}', {}, errors.InsufficientBalance, ["402", "top up"], None),
        (429, b"slow down", {"Retry-After": "7"}, errors.RateLimited, ["429", "rate limit", "resume"], 7.0),
        (429, b"slow down", {}, errors.RateLimited, ["429"], None),
        (500, b'{"error": {"message": "internal"}}', {}, errors.ProviderUnavailable, ["500", "internal", "resume"], None),
        (503, b"Service Unavailable", {"Retry-After": "12"}, errors.ProviderUnavailable, ["503", "resume"], 12.0),
    ],
)
def test_map_status(status, body, headers, kind, words, retry_after):
    error = map_status(status, body, httpx.Headers(headers), "deepseek-nope")
    assert type(error) is kind
    assert error.status == status
    for word in words:
        assert word in error.message
    assert KEY not in error.message and "SECRET" not in error.message
    if issubclass(kind, errors.TransientError):
        assert error.retry_after == retry_after
    assert isinstance(error, errors.FatalError) == (status in (400, 401, 402, 404, 422))


def test_map_status_context_length_is_not_a_model_problem():
    body = (
        b'{"error": {"message": "This model\'s maximum context length is 131072 tokens. However, you '
        b'requested 140000 tokens (139744 in the messages, 256 in the completion). Please reduce the '
        b'length of the messages or completion.", "type": "invalid_request_error"}}'
    )
    error = map_status(400, body, httpx.Headers({}), "deepseek-v4-flash")
    assert type(error) is errors.RequestRejected
    assert "fimServer.model" not in error.message


# -- usage_from --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, usage",
    [
        (
            {"prompt_tokens": 100, "completion_tokens": 20, "prompt_cache_hit_tokens": 64, "prompt_cache_miss_tokens": 36},
            Usage(100, 20, 64, 36),
        ),
        ({"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}, Usage(5, 1, 0, 0)),
        ({"prompt_tokens": 5.0, "prompt_cache_hit_tokens": True, "completion_tokens": "3"}, Usage(5, 0, 0, 0)),
        (None, Usage()),
        ([1, 2], Usage()),
        ({}, Usage()),
    ],
)
def test_usage_from(data, usage):
    assert usage_from(data) == usage


def test_usage_add():
    total = Usage()
    total.add(Usage(100, 20, 64, 36))
    total.add(Usage(10, 2, 6, 4))
    assert total == Usage(110, 22, 70, 40)
