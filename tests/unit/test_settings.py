"""fim_server/settings.py: every setting declared once; defaults, camelCase parsing,
problems in plain words (never an exception), the key kept secret and sent only to
its provider's own host, no password in baseUrl."""

from __future__ import annotations

import pytest

from fim_server.lsp.log import Redactor, crash_report
from fim_server.providers.catalog import KEY_VARIABLES, PROVIDER_DEFAULTS
from fim_server.settings import CLIENT_SPECS, DISPLAY_ORDER, SCOPES, SPECS, Settings, describe, mask, parse_settings

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
    every_key = {name: f"key-of-{name}" for name in KEY_VARIABLES}
    # the variable goes only to the provider's own host: not to a local OpenAI-compatible server
    expected = None if provider == "openai" else f"key-of-{key_env}"
    assert settings.resolved_api_key(every_key) == expected
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


# -- the settings added for privacy and reliability: excludeGlobs, caBundle, fatalRetrySeconds --

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


# -- one declaration: validation derives from it ------------------------------------------------
NUMERIC = [s for s in SPECS if s.kind in ("integer", "number")]


def test_every_field_is_declared_with_a_description_scope_and_clients():
    assert [s.attr for s in SPECS] == [f for f in Settings.__dataclass_fields__]
    for spec in SPECS + CLIENT_SPECS:
        assert spec.description.endswith((".", ")")), spec.name
        assert spec.scope in SCOPES and spec.clients, spec.name
        if spec.kind in ("integer", "number"):
            assert spec.minimum is not None and spec.maximum is not None and spec.minimum <= spec.default <= spec.maximum
    assert [s.name for s in DISPLAY_ORDER[:4]] == ["provider", "model", "baseUrl", "enabled"]


def test_settings_that_name_a_program_are_machine_scope():
    # a folder's settings must not choose what runs (issue 18)
    programs = [s for s in SPECS + CLIENT_SPECS if s.name in ("serverPath", "serverArgs")
                or any(word in s.name.lower() for word in ("path", "args", "command", "interpreter", "program"))]
    assert {s.name for s in programs} >= {"serverPath", "serverArgs"}
    assert {s.scope for s in programs} == {"machine"}


@pytest.mark.parametrize("spec", NUMERIC, ids=lambda s: s.name)
def test_numeric_ranges_come_from_the_declaration(spec):
    for value in (spec.minimum, spec.maximum):
        settings, problems = parse_settings({spec.name: value})
        assert problems == [] and getattr(settings, spec.attr) == value
    step = 1 if spec.kind == "integer" else 0.01
    for value in (spec.minimum - step, spec.maximum + step):
        settings, problems = parse_settings({spec.name: value})
        assert len(problems) == 1 and f"from {spec.minimum:g} to {spec.maximum:g}" in problems[0]
        assert getattr(settings, spec.attr) == spec.default


@pytest.mark.parametrize("spec", [s for s in SPECS if s.kind == "choice"], ids=lambda s: s.name)
def test_choices_come_from_the_declaration(spec):
    for option in spec.options():
        assert parse_settings({spec.name: option}) == (Settings(**{spec.attr: option}), [])
    settings, problems = parse_settings({spec.name: "no-such-choice"})
    assert len(problems) == 1 and all(repr(o) in problems[0] for o in spec.options())


def test_unknown_filter_names_are_refused():
    settings, problems = parse_settings({"disabledFilters": ["syntax", "no_such_filter"]})
    assert settings.disabled_filters == () and len(problems) == 1 and "no_such_filter" in problems[0]
    assert parse_settings({"disabledFilters": ["syntax"]})[0].disabled_filters == ("syntax",)


# -- parse_settings never raises (issue 13, item 13) ---------------------------------------------
@pytest.mark.parametrize("spec", NUMERIC, ids=lambda s: s.name)
@pytest.mark.parametrize("huge", [10**400, -(10**400)], ids=["plus", "minus"])
def test_a_400_digit_number_falls_back_alone(spec, huge):
    # on the old code math.isfinite(10**400) raised OverflowError out of parse_settings
    settings, problems = parse_settings({spec.name: huge, "excludeGlobs": ["*.txt"], "model": "m"})
    assert getattr(settings, spec.attr) == spec.default
    assert settings.exclude_globs == ("*.txt",) and settings.model == "m"  # the rest still applies
    assert len(problems) == 1 and f"fimServer.{spec.name}" in problems[0]
    assert "401-digit number" in problems[0] and len(problems[0]) < 200


def test_a_400_digit_number_over_an_earlier_layer():
    base, _ = parse_settings({"excludeGlobs": ["*.sql"], "maxTokens": 10})
    settings, problems = parse_settings({"fimServer": {"maxTokens": 10**400, "excludeGlobs": ["*.txt"]}}, base)
    assert settings.exclude_globs == ("*.txt",) and settings.max_tokens == 256 and len(problems) == 1


class Unprintable:
    def __repr__(self):
        raise RuntimeError("no repr")


ODD_VALUES = [10**400, -(10**400), 1e308 * 10, float("nan"), "x" * 100_000, b"bytes", object(), Unprintable(),
              {"a": [1, {"b": 2}]}, [10**400], [None], (), 0, -1, True, 3.5, "", " "]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_no_value_makes_parse_settings_raise(spec):
    for value in ODD_VALUES:
        settings, problems = parse_settings({spec.name: value, "excludeGlobs": ["*.txt"]})
        assert settings.exclude_globs == ("*.txt",)
        assert all(len(p) < 400 for p in problems)  # a huge value is cut short in the message


def test_odd_setting_names_are_reported_shortly():
    settings, problems = parse_settings({"x" * 10_000: 1, 5: 2})
    assert settings == Settings() and len(problems) == 2 and all(len(p) < 200 for p in problems)


# -- a password in baseUrl (issue 13, item 5) ----------------------------------------------------
@pytest.mark.parametrize("url", [
    "http://user:CANARY-PASS@127.0.0.1:8000/v1",
    "https://CANARY-PASS@api.deepseek.com/beta",
    "https://user:CANARY-PASS@api.deepseek.com@evil.example/beta",
])
def test_user_info_in_base_url_is_refused_and_never_shown(url):
    settings, problems = parse_settings({"baseUrl": url, "apiKey": KEY})
    assert settings.base_url is None and settings.resolved_base_url() == "https://api.deepseek.com/beta"
    (problem,) = problems
    assert "user name or password" in problem and "fimServer.baseUrl" in problem
    text = problem + repr(describe(settings)) + repr(settings)
    assert "CANARY" not in text and "user:" not in text
    assert settings.resolved_api_key({}) == KEY  # the key still goes as the Bearer token


def test_redactor_masks_user_info_in_urls():
    text = Redactor(environ={}).redact('initialize {"baseUrl": "http://user:CANARY-PASS@10.0.0.1/v1"}')
    assert "CANARY" not in text and "http://***@10.0.0.1/v1" in text


# -- one place resolves the key (issue 11 item 2, issue 13 item 7) -------------------------------
EVERY_KEY = {name: f"key-of-{name}" for name in KEY_VARIABLES}


@pytest.mark.parametrize(
    "provider, base_url, expected",
    [
        ("deepseek", None, "key-of-DEEPSEEK_API_KEY"),
        ("deepseek", "https://api.deepseek.com", "key-of-DEEPSEEK_API_KEY"),
        ("deepseek", "https://API.DeepSeek.com:443/beta", "key-of-DEEPSEEK_API_KEY"),
        ("deepseek", "http://api.deepseek.com/beta", None),  # plain http: never the ambient key
        ("deepseek", "https://api.deepseek.com.evil.example/beta", None),
        ("deepseek", "https://proxy.example/deepseek", None),
        ("deepseek", "http://127.0.0.1:9999/beta", None),
        ("openai", "https://api.openai.com/v1", "key-of-OPENAI_API_KEY"),
        ("openai", None, None),  # the default is a local vLLM: not an OpenAI key's home
        ("openai", "http://10.0.0.5:8000/v1", None),
        ("openai", "https://my-vllm.example/v1", None),
        ("codestral", None, "key-of-MISTRAL_API_KEY"),
        ("codestral", "https://codestral.mistral.ai/v1", "key-of-MISTRAL_API_KEY"),
        ("codestral", "https://mistral.example/v1", None),
        ("ollama", None, "key-of-OLLAMA_API_KEY"),
        ("ollama", "http://localhost:11434", "key-of-OLLAMA_API_KEY"),
        ("ollama", "https://ollama.com", "key-of-OLLAMA_API_KEY"),
        ("ollama", "http://192.168.1.9:11434", None),
        ("llamacpp", None, "key-of-LLAMA_API_KEY"),
        ("llamacpp", "http://[::1]:8080", "key-of-LLAMA_API_KEY"),
        ("llamacpp", "http://gpu-box:8080", None),
    ],
)
def test_environment_key_goes_only_to_the_providers_own_host(provider, base_url, expected):
    settings, problems = parse_settings({"provider": provider, "baseUrl": base_url})
    assert problems == []
    assert settings.resolved_api_key(EVERY_KEY) == expected
    variable = PROVIDER_DEFAULTS[provider].key_env
    if expected is not None:
        assert settings.api_key_source(EVERY_KEY) == f"${variable}"  # what doctor shows
        assert settings.key_hint() == f"set {variable} or fimServer.apiKey"
    else:
        assert "only" in settings.api_key_source(EVERY_KEY) and "fimServer.apiKey" in settings.key_hint()
        assert variable in settings.key_hint()  # the message says why the variable was not used
    # an explicit key goes wherever the user pointed it
    mine, _ = parse_settings({"apiKey": "sk-explicit"}, settings)
    assert mine.resolved_api_key(EVERY_KEY) == "sk-explicit" and mine.api_key_source(EVERY_KEY) == "fimServer.apiKey"


def test_the_key_is_resolved_in_one_place():
    # no module but providers/catalog.py reads a key variable from the environment
    import pathlib

    import fim_server

    package = pathlib.Path(fim_server.__file__).parent
    readers = []
    for path in package.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if any(name in text for name in KEY_VARIABLES) and path.name != "catalog.py":
            readers.append(path.relative_to(package).as_posix())
    assert readers == []


def test_redactor_knows_every_providers_variable():
    environ = {name: f"sk-CANARY-{name}" for name in KEY_VARIABLES}
    redactor = Redactor(environ=environ)
    try:
        raise RuntimeError("upstream said: " + ", ".join(environ.values()))
    except RuntimeError as exc:
        report = crash_report(exc, redactor)
    assert "CANARY" not in report and report.count("***") >= len(KEY_VARIABLES)
    assert set(KEY_VARIABLES) == {"DEEPSEEK_API_KEY", "OPENAI_API_KEY", "OLLAMA_API_KEY", "LLAMA_API_KEY",
                                  "MISTRAL_API_KEY"}


def test_set_items_reads_json_values_and_refuses_an_item_without_a_name():
    from fim_server.settings import set_items

    assert set_items(["debounceMs=0", "model=deepseek-chat", "excludeGlobs=[\"*.x\"]", "empty="]) == {
        "debounceMs": 0, "model": "deepseek-chat", "excludeGlobs": ["*.x"], "empty": ""}
    for bad in ("debounceMs", "=3"):
        with pytest.raises(ValueError, match="NAME=VALUE"):
            set_items([bad])
