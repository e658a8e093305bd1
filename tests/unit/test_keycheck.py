"""What the VS Code extension asks of the server: ``fimServer.checkKey`` (one
request after *Set API key*) and the kind of an error in ``fimServer/status``
(a rate limit is transient, with the seconds until the retry; a rejected key is
fatal)."""

from __future__ import annotations

import asyncio

from fim_server.core.engine import CompletionEngine
from fim_server.core.health import ProviderHealth
from fim_server.fakes.deepseek import FakeDeepSeek
from fim_server.lsp.keycheck import check_key
from fim_server.lsp.server import STATUS_DELAY_S, create_server
from fim_server.providers.errors import AuthenticationFailed, RateLimited
from fim_server.settings import Settings

KEY = "sk-keycheck-CANARY-1234"


def _check(settings: Settings) -> dict:
    async def run():
        engine = CompletionEngine(settings)
        try:
            return await check_key(engine), engine
        finally:
            await engine.aclose()

    return asyncio.run(run())


def test_a_good_key_is_accepted_with_one_request_and_lifts_a_block():
    with FakeDeepSeek(api_key=KEY) as fake:
        async def run():
            engine = CompletionEngine(Settings(base_url=fake.url, api_key=KEY))
            engine.health.failed(AuthenticationFailed("rejected"))
            try:
                return await check_key(engine), engine.health.blocked_by
            finally:
                await engine.aclose()

        result, blocked = asyncio.run(run())
        requests = list(fake.requests)
    assert result["ok"] is True and "accepted" in result["message"]
    assert blocked is None
    assert len(requests) == 1 and not requests[0].is_completion


def test_a_rejected_key_says_so_without_the_key():
    with FakeDeepSeek(api_key=KEY) as fake:
        result, _ = _check(Settings(base_url=fake.url, api_key="sk-wrong-CANARY-9"))
    assert result["ok"] is False and "401" in result["message"]
    assert "sk-wrong-CANARY-9" not in result["message"]


def test_no_key_and_no_server_are_failures_not_exceptions():
    result, _ = _check(Settings(base_url="http://127.0.0.1:9", api_key=None, provider="deepseek"))
    assert result["ok"] is False


def test_status_error_carries_its_kind_and_the_seconds_until_the_retry():
    clock = [100.0]
    health = ProviderHealth(clock=lambda: clock[0], rng=lambda: 1.0)
    health.failed(RateLimited("429", retry_after=7))
    assert health.describe() == {"kind": "transient", "retryIn": 7}
    clock[0] += 5
    assert health.describe()["retryIn"] == 2
    health.failed(AuthenticationFailed("401"))
    assert health.describe() == {"kind": "fatal"}


def test_the_status_notification_sends_the_kind():
    server = create_server()
    sent: list = []
    server.protocol.notify = lambda method, params=None: sent.append(params)
    server.engine.health.failed(RateLimited("429", retry_after=30))

    async def scenario():
        server.send_status("error", "rate limit reached (429)")
        await asyncio.sleep(STATUS_DELAY_S * 3)

    asyncio.run(scenario())
    assert sent[-1]["state"] == "error" and sent[-1]["kind"] == "transient" and 29 <= sent[-1]["retryIn"] <= 30
