"""lsp/configuration: initializationOptions, then the pushed or pulled section, merged
into one Settings; each set of problems reported once."""

from __future__ import annotations

import asyncio

from lsprotocol import types

from fim_server.lsp.configuration import Configuration, pull_section


def _init(options, pull=False) -> types.InitializeParams:
    workspace = types.WorkspaceClientCapabilities(configuration=True) if pull else None
    return types.InitializeParams(
        capabilities=types.ClientCapabilities(workspace=workspace), initialization_options=options
    )


def test_initialize_reads_the_options_and_whether_the_client_can_be_asked():
    config = Configuration()
    settings, problems = config.initialize(_init({"debounceMs": 123}, pull=True))
    assert settings.debounce_ms == 123 and problems == []
    assert config.can_pull
    assert not Configuration().initialize(_init(None))[0].debounce_ms == 123


def test_the_section_overrides_the_options_and_the_rest_of_the_options_stay():
    config = Configuration()
    config.initialize(_init({"debounceMs": 123, "maxTokens": 40}))
    assert config.push({"fimServer": {"debounceMs": 7}}) is True
    settings, problems = config.merged()
    assert (settings.debounce_ms, settings.max_tokens, problems) == (7, 40, [])


def test_a_push_without_the_section_asks_for_a_pull_and_keeps_the_old_section():
    config = Configuration()
    config.push({"fimServer": {"debounceMs": 7}})
    assert config.push({"other": 1}) is False and config.push(None) is False
    assert config.merged()[0].debounce_ms == 7
    config.pulled([{"debounceMs": 9}])
    assert config.merged()[0].debounce_ms == 9
    config.pulled([None])  # a client without the section: the last one stays
    assert config.merged()[0].debounce_ms == 9


def test_problems_are_reported_once_until_they_change():
    config = Configuration()
    config.push({"fimServer": {"debounceMs": "soon"}})
    problems = config.merged()[1]
    assert problems and "debounceMs" in problems[0]
    assert config.news(problems).startswith("fim-server settings: ")
    assert config.news(problems) is None
    assert config.news([]) is None
    assert config.news(problems) is not None  # back after a clean spell: shown again


def test_plain_http_to_a_remote_host_is_a_problem():
    config = Configuration()
    config.push({"fimServer": {"baseUrl": "http://example.com/v1"}})
    assert any("http" in p for p in config.merged()[1])


def test_a_failing_pull_keeps_the_settings():
    async def failing(params):
        raise RuntimeError("no")

    async def answering(params):
        assert params.items[0].section == "fimServer"
        return [{"debounceMs": 5}]

    assert asyncio.run(pull_section(failing)) == (False, None)
    assert asyncio.run(pull_section(answering)) == (True, [{"debounceMs": 5}])
