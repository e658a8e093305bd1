"""Settings: defaults, camelCase parsing, problems in plain words, the key kept secret."""

from __future__ import annotations

import pytest

from fim_server.settings import Settings, describe, mask, parse_settings

KEY = "sk-test-SECRET-1234"


def test_defaults():
    settings, problems = parse_settings(None)
    assert problems == []
    assert settings == Settings()
    assert settings.provider == "deepseek"
    assert settings.resolved_base_url() == "https://api.deepseek.com/beta"
    assert settings.resolved_model() == "deepseek-v4-flash"
    assert settings.temperature == 0
    assert settings.stream is True
    assert settings.api_key is None
    assert settings.enabled is True


@pytest.mark.parametrize(
    "wire, value, attr, expected",
    [
        ("enabled", False, "enabled", False),
        ("baseUrl", "http://localhost:8080/beta/", "base_url", "http://localhost:8080/beta"),
        ("apiKey", "sk-abc", "api_key", "sk-abc"),
        ("apiKey", "", "api_key", None),
        ("model", "  deepseek-chat ", "model", "deepseek-chat"),
        ("maxTokens", 64, "max_tokens", 64),
        ("maxTokens", 64.0, "max_tokens", 64),
        ("temperature", 1, "temperature", 1.0),
        ("temperature", 0.25, "temperature", 0.25),
        ("stream", False, "stream", False),
        ("debounceMs", 0, "debounce_ms", 0),
        ("timeoutMs", 120_000, "timeout_ms", 120_000),
        ("maxPrefixChars", 123, "max_prefix_chars", 123),
        ("maxSuffixChars", 0, "max_suffix_chars", 0),
        ("stop", "###", "stop", ("###",)),
        ("stop", ["a", "\n\n"], "stop", ("a", "\n\n")),
        ("cacheSize", 0, "cache_size", 0),
        ("cacheTtlSeconds", 60, "cache_ttl_seconds", 60),
        ("singleLineMidLine", False, "single_line_mid_line", False),
        ("completionFallback", "never", "completion_fallback", "never"),
        ("disabledLanguages", ["markdown", "plaintext"], "disabled_languages", ("markdown", "plaintext")),
    ],
)
def test_camel_case_values(wire, value, attr, expected):
    settings, problems = parse_settings({wire: value})
    assert problems == []
    assert getattr(settings, attr) == expected
    assert type(getattr(settings, attr)) is type(expected)


def test_nested_section():
    settings, problems = parse_settings({"fimServer": {"model": "m1", "maxTokens": 32}})
    assert problems == []
    assert (settings.model, settings.max_tokens) == ("m1", 32)


def test_layers_later_values_win():
    base, problems = parse_settings({"model": "a", "maxTokens": 10, "temperature": 0.5})
    assert problems == []
    settings, problems = parse_settings({"fimServer": {"model": "b"}}, base)
    assert problems == []
    assert settings.model == "b"
    assert settings.max_tokens == 10  # kept from the earlier layer
    assert settings.temperature == 0.5


def test_layer_with_a_bad_value_falls_back_to_the_default_not_the_earlier_layer():
    base, _ = parse_settings({"maxTokens": 10})
    settings, problems = parse_settings({"maxTokens": "many"}, base)
    assert settings.max_tokens == Settings().max_tokens
    assert len(problems) == 1


def test_null_restores_the_default():
    base, _ = parse_settings({"maxTokens": 10, "apiKey": "sk-a"})
    settings, problems = parse_settings({"maxTokens": None, "apiKey": None}, base)
    assert problems == []
    assert settings.max_tokens == 256
    assert settings.api_key is None


BAD_VALUES = [
    ("enabled", "yes", "enabled"),
    ("enabled", 1, "enabled"),
    ("provider", "vllm", "provider"),
    ("template", "gpt", "template"),
    ("baseUrl", "ftp://example.com", "base_url"),
    ("baseUrl", "", "base_url"),
    ("baseUrl", 42, "base_url"),
    ("model", "", "model"),
    ("model", "   ", "model"),
    ("model", 5, "model"),
    ("maxTokens", 0, "max_tokens"),
    ("maxTokens", 5000, "max_tokens"),
    ("maxTokens", 1.5, "max_tokens"),
    ("maxTokens", "256", "max_tokens"),
    ("maxTokens", True, "max_tokens"),
    ("temperature", -0.1, "temperature"),
    ("temperature", 2.5, "temperature"),
    ("temperature", "0", "temperature"),
    ("temperature", False, "temperature"),
    ("stream", "true", "stream"),
    ("debounceMs", -1, "debounce_ms"),
    ("timeoutMs", 50, "timeout_ms"),
    ("maxPrefixChars", -1, "max_prefix_chars"),
    ("maxSuffixChars", [], "max_suffix_chars"),
    ("stop", [""], "stop"),
    ("stop", ["x"] * 13, "stop"),
    ("stop", 5, "stop"),
    ("cacheSize", -1, "cache_size"),
    ("cacheTtlSeconds", 100_000, "cache_ttl_seconds"),
    ("singleLineMidLine", "no", "single_line_mid_line"),
    ("completionFallback", "sometimes", "completion_fallback"),
    ("disabledLanguages", [1], "disabled_languages"),
    ("disabledLanguages", {"a": 1}, "disabled_languages"),
    ("apiKey", 123, "api_key"),
    pytest.param("maxTokens", float("inf"), "max_tokens", id="maxTokens-infinity"),
    pytest.param("temperature", float("nan"), "temperature", id="temperature-nan"),
]


OTHERS = {"model": ("model", "other-model"), "debounceMs": ("debounce_ms", 7), "cacheSize": ("cache_size", 9)}


@pytest.mark.parametrize("wire, value, attr", BAD_VALUES)
def test_bad_value_gives_one_problem_and_the_default(wire, value, attr):
    others = {w: v for w, v in OTHERS.items() if w != wire}
    raw = {w: v for w, (_, v) in others.items()} | {wire: value}
    settings, problems = parse_settings(raw)
    assert len(problems) == 1, problems
    assert f"fimServer.{wire}" in problems[0]
    assert "default" in problems[0]
    assert getattr(settings, attr) == getattr(Settings(), attr)
    # the other settings still apply
    for name, v in others.values():
        assert getattr(settings, name) == v


def test_nan_problem_states_the_rule():
    _, problems = parse_settings({"maxTokens": float("nan")})
    assert len(problems) == 1
    assert "whole number from 1 to 4096" in problems[0]


def test_unknown_settings_are_reported_and_the_rest_applies():
    settings, problems = parse_settings({"modle": "x", "model": "y", "maxTokenz": 3})
    assert settings.model == "y"
    assert len(problems) == 2
    assert any("fimServer.modle" in p and "unknown" in p for p in problems)
    assert any("fimServer.maxTokenz" in p for p in problems)


@pytest.mark.parametrize("raw", [[1, 2], "text", 5])
def test_settings_that_are_not_an_object(raw):
    settings, problems = parse_settings(raw)
    assert settings == Settings()
    assert len(problems) == 1
    assert "object" in problems[0]


def test_null_nested_section_means_defaults():
    settings, problems = parse_settings({"fimServer": None})
    assert problems == []
    assert settings == Settings()


@pytest.mark.parametrize(
    "raw",
    [
        {"apiKey": [KEY]},
        {"apiKey": {"value": KEY}},
        {"fimServer": {"apiKey": [KEY]}},
        {"apikey": KEY},  # wrong case: unknown, but the value is not shown
        {"deepseekApiKey": KEY},
        {"api_key": KEY},
        KEY,
        [KEY],
    ],
)
def test_api_key_never_shown_in_problems(raw):
    _, problems = parse_settings(raw)
    assert problems  # there is something to report
    assert all("SECRET" not in p and KEY not in p for p in problems)


@pytest.mark.parametrize(
    "api_key, environ, expected",
    [
        ("sk-settings", {"DEEPSEEK_API_KEY": "sk-env"}, "sk-settings"),
        (None, {"DEEPSEEK_API_KEY": "sk-env"}, "sk-env"),
        (None, {}, None),
        (None, {"DEEPSEEK_API_KEY": ""}, None),
        (None, {"OPENAI_API_KEY": "sk-other"}, None),
    ],
)
def test_resolved_api_key(api_key, environ, expected):
    assert Settings(api_key=api_key).resolved_api_key(environ) == expected


def test_describe_masks_the_key():
    out = describe(Settings(api_key=KEY, stop=("a",)))
    assert out["apiKey"] == "sk-…1234"
    assert "SECRET" not in repr(out)
    assert out["baseUrl"] == "https://api.deepseek.com/beta"
    assert out["maxTokens"] == 256
    assert out["stop"] == ["a"]  # tuples as lists (JSON-like)
    assert describe(Settings())["apiKey"] is None


@pytest.mark.parametrize("secret, shown", [(None, "(none)"), ("", "(none)"), ("short", "****"), ("12345678", "****"), (KEY, "sk-…1234")])
def test_mask(secret, shown):
    assert mask(secret) == shown


@pytest.mark.parametrize(
    "provider, base_url, model, key_env",
    [
        ("deepseek", "https://api.deepseek.com/beta", "deepseek-v4-flash", "DEEPSEEK_API_KEY"),
        ("openai", "http://127.0.0.1:8000/v1", "Qwen/Qwen2.5-Coder-1.5B", "OPENAI_API_KEY"),
        ("ollama", "http://127.0.0.1:11434", "qwen2.5-coder:1.5b-base", "OLLAMA_API_KEY"),
        ("llamacpp", "http://127.0.0.1:8080", "default", "LLAMA_API_KEY"),
        ("codestral", "https://api.mistral.ai/v1", "codestral-latest", "MISTRAL_API_KEY"),
    ],
)
def test_provider_defaults_and_key_variable(provider, base_url, model, key_env):
    settings, problems = parse_settings({"provider": provider})
    assert problems == []
    assert (settings.resolved_base_url(), settings.resolved_model()) == (base_url, model)
    every_key = {name: f"key-of-{name}" for name in
                 ("DEEPSEEK_API_KEY", "OPENAI_API_KEY", "OLLAMA_API_KEY", "LLAMA_API_KEY", "MISTRAL_API_KEY")}
    assert settings.resolved_api_key(every_key) == f"key-of-{key_env}"
    assert key_env in settings.key_hint()
    # what the user set wins over the provider's default, and null brings the default back
    mine, _ = parse_settings({"baseUrl": "http://10.0.0.5:9000/", "model": "mine"}, settings)
    assert (mine.resolved_base_url(), mine.resolved_model()) == ("http://10.0.0.5:9000", "mine")
    back, _ = parse_settings({"baseUrl": None, "model": None}, mine)
    assert (back.resolved_base_url(), back.resolved_model()) == (base_url, model)


def test_switching_provider_keeps_explicit_values_only():
    settings, _ = parse_settings({"provider": "deepseek"})
    settings, _ = parse_settings({"provider": "ollama"}, settings)
    assert settings.resolved_base_url() == "http://127.0.0.1:11434"  # not DeepSeek's address
    assert describe(settings)["model"] == "qwen2.5-coder:1.5b-base"


# -- privacy and reliability settings: excludeGlobs, caBundle, fatalRetrySeconds --------


def test_exclude_globs():
    settings, problems = parse_settings({"excludeGlobs": ["**/secrets/**", "*.sql"]})
    assert settings.exclude_globs == ("**/secrets/**", "*.sql") and problems == []
    settings, problems = parse_settings({"excludeGlobs": "*.sql"})
    assert settings.exclude_globs == ("*.sql",)
    settings, problems = parse_settings({"excludeGlobs": [1, ""]})
    assert settings.exclude_globs == () and len(problems) == 1 and "excludeGlobs" in problems[0]


def test_ca_bundle(tmp_path):
    pem = tmp_path / "ca.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\n", encoding="ascii")
    settings, problems = parse_settings({"caBundle": str(pem)})
    assert settings.ca_bundle == str(pem) and problems == []
    settings, problems = parse_settings({"caBundle": str(tmp_path / "missing.pem")})
    assert settings.ca_bundle is None
    (problem,) = problems
    assert "caBundle" in problem and "readable PEM file" in problem
    settings, problems = parse_settings({"caBundle": ""})
    assert settings.ca_bundle is None and problems == []
    settings, problems = parse_settings({"caBundle": str(tmp_path)})  # a folder is not a file
    assert settings.ca_bundle is None and len(problems) == 1


def test_fatal_retry_seconds():
    assert Settings().fatal_retry_seconds == 300
    assert parse_settings({"fatalRetrySeconds": 0})[0].fatal_retry_seconds == 0
    settings, problems = parse_settings({"fatalRetrySeconds": -5})
    assert settings.fatal_retry_seconds == 300 and len(problems) == 1
