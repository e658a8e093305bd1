"""Provider request bodies and error mapping as tables (no network: the HTTP
client is never used by these methods)."""

from __future__ import annotations

from dataclasses import replace
import json

import httpx
import pytest

from fim_server.fakes.replies import Reply
from fim_server.providers import errors
from fim_server.settings import parse_settings
from fim_server.providers import PROVIDER_CLASSES, FimRequest, create_provider
from fim_server.providers.base import Usage
from fim_server.providers.deepseek import DeepSeekProvider, usage_from
from fim_server.settings import Settings

REQ = FimRequest(prompt="x = ", suffix="\nprint(x)\n", max_tokens=32, temperature=0.2, stop=("\n",), stream=True, path="p/m.py")
CLIENT = httpx.AsyncClient()


def provider(**settings):
    parsed, problems = parse_settings(settings)
    assert problems == []
    return create_provider(parsed, CLIENT)


def test_every_provider_setting_has_a_module():
    assert set(PROVIDER_CLASSES) == {"deepseek", "openai", "ollama", "llamacpp", "codestral"}
    for name, cls in PROVIDER_CLASSES.items():
        assert isinstance(provider(provider=name), cls)


def test_openai_body_with_suffix_then_raw():
    p = provider(provider="openai", model="deepseek-coder-6.7b-base")
    body = p.body(REQ)
    assert (body["prompt"], body["suffix"], body["stop"]) == ("x = ", "\nprint(x)\n", ["\n"])
    assert body["stream_options"] == {"include_usage": True}
    p.raw_mode = True
    raw = p.body(REQ)
    assert "suffix" not in raw
    assert raw["prompt"] == "<｜fim▁begin｜>x = <｜fim▁hole｜>\nprint(x)\n<｜fim▁end｜>"
    assert raw["stop"][0] == "\n" and "<｜end▁of▁sentence｜>" in raw["stop"]


def test_ollama_raw_prompt_changes_only_at_its_end_while_typing_on_a_line():
    p = provider(provider="ollama", model="qwen2.5-coder:1.5b-base", template="qwen")
    first = FimRequest("import os\n\ndef main():\n    total = ", "\nprint(main())\n", 16)
    bodies = [p.body(replace(first, prompt=first.prompt + typed)) for typed in ("", "s", "su")]
    assert bodies[0]["raw"] is True and "suffix" not in bodies[0]
    assert bodies[0]["prompt"] == ("<|fim_prefix|>import os\n\ndef main():\n<|fim_suffix|>\nprint(main())\n"
                                   "<|fim_middle|>    total = ")
    assert bodies[1]["prompt"] == bodies[0]["prompt"] + "s" and bodies[2]["prompt"] == bodies[0]["prompt"] + "su"
    # Code Llama's vocabulary would put a space before the cursor line's text: the ordinary layout
    codellama = provider(provider="ollama", model="codellama:7b-code", template="codellama").body(first)
    assert codellama["prompt"] == "<PRE> " + first.prompt + " <SUF>" + first.suffix + " <MID>"
        # with "auto", Ollama's own template: prompt and suffix as they are
    auto = provider(provider="ollama", model="qwen2.5-coder:1.5b-base").body(first)
    assert auto["prompt"] == first.prompt and auto["suffix"] == first.suffix and "raw" not in auto


def test_ollama_body():
    body = provider(provider="ollama").body(REQ)
    assert body == {
        "model": "qwen2.5-coder:1.5b-base", "stream": True, "keep_alive": "30m", "prompt": "x = ",
        "suffix": "\nprint(x)\n", "options": {"num_predict": 32, "temperature": 0.2, "stop": ["\n"]},
    }
    assert provider(provider="ollama").body(FimRequest("x = ", "", 8))["suffix"] == " "


def test_llamacpp_body():
    body = provider(provider="llamacpp").body(
        FimRequest("a", "b", 16, extra=(("util.py", "X = 1"),)), timeout_s=5.0)
    assert body["input_prefix"] == "a" and body["input_suffix"] == "b"
    assert body["input_extra"] == [{"filename": "util.py", "text": "X = 1"}]
    assert body["n_predict"] == 16 and body["t_max_predict_ms"] == 4000 and body["cache_prompt"] is True


def test_codestral_body():
    body = provider(provider="codestral").body(REQ)
    assert body["model"] == "codestral-latest" and body["suffix"] == "\nprint(x)\n" and body["stop"] == ["\n"]


H = httpx.Headers()


@pytest.mark.parametrize(
    "settings, status, body, kind, words",
    [
        ({"provider": "ollama", "model": "llama3"}, 400, b'{"error":"llama3:latest does not support insert"}',
         errors.ModelRejected, ["llama3", "qwen2.5-coder", "fimServer.model"]),
        ({"provider": "ollama", "model": "x:7b"}, 404, b'{"error":"model \\"x:7b\\" not found, try pulling it first"}',
         errors.ModelRejected, ["ollama pull x:7b"]),
        ({"provider": "ollama"}, 500, b'{"error":"out of memory"}', errors.ProviderUnavailable, ["out of memory"]),
        ({"provider": "llamacpp"}, 503, b'{"error":{"code":503,"message":"Loading model"}}',
         errors.ProviderUnavailable, ["loading"]),
        ({"provider": "llamacpp"}, 501, b'{"error":{"message":"Infill is not supported by this model"}}',
         errors.ModelRejected, ["FIM model"]),
        ({"provider": "llamacpp"}, 401, b'{"error":{"message":"Invalid API Key"}}',
         errors.AuthenticationFailed, ["LLAMA_API_KEY"]),
        ({"provider": "codestral"}, 401, b'{"message":"Unauthorized"}', errors.AuthenticationFailed, ["MISTRAL_API_KEY"]),
        ({"provider": "codestral", "model": "c"}, 400, b'{"message":"Invalid model: c","type":"invalid_model"}',
         errors.ModelRejected, ["'c'", "fimServer.model"]),
        ({"provider": "codestral"}, 429, b'{"message":"Requests rate limit exceeded"}', errors.RateLimited, ["429"]),
        ({"provider": "openai", "model": "m"}, 404, b'{"message":"The model `m` does not exist."}',
         errors.ModelRejected, ["'m'", "/v1/models"]),
        ({"provider": "openai"}, 401, b'{"message":"Unauthorized"}', errors.AuthenticationFailed, ["OPENAI_API_KEY"]),
        ({"provider": "openai"}, 400, b'{"message":"suffix is not currently supported"}',
         errors.RequestRejected, ["suffix"]),
    ],
)
def test_status_mapping(settings, status, body, kind, words):
    error = provider(**settings).map_status(status, body, H)
    assert type(error) is kind
    for word in words:
        assert word in error.message


def test_llamacpp_503_forgets_readiness():
    p = provider(provider="llamacpp")
    p.ready = True
    p.map_status(503, b"{}", H)
    assert p.ready is False


def test_missing_key_only_where_required(monkeypatch):
    for name in ("DEEPSEEK_API_KEY", "MISTRAL_API_KEY", "OPENAI_API_KEY", "OLLAMA_API_KEY", "LLAMA_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(errors.MissingApiKey, match="MISTRAL_API_KEY"):
        provider(provider="codestral").headers()
    assert provider(provider="ollama").headers() == {}
    monkeypatch.setenv("OPENAI_API_KEY", "tok")
    assert provider(provider="openai", baseUrl="https://api.openai.com/v1").headers() == {"Authorization": "Bearer tok"}
    # OpenAI's key never goes to another OpenAI-compatible server (issue 13, item 7)
    assert provider(provider="openai", baseUrl="http://10.0.0.5:8000/v1").headers() == {}
    assert provider(provider="openai", baseUrl="http://10.0.0.5:8000/v1", apiKey="mine").headers() == {
        "Authorization": "Bearer mine"}
    monkeypatch.setenv("MISTRAL_API_KEY", "mistral-key")
    with pytest.raises(errors.MissingApiKey, match="fimServer.apiKey .MISTRAL_API_KEY is sent only to"):
        provider(provider="codestral", baseUrl="https://mistral-proxy.example/v1").headers()


KEY = "sk-test-SECRET-1234"


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
@pytest.mark.parametrize(
    "answer, expected",
    [
        # a current server: the prompt split into evaluated (prompt_n) and cached (cache_n) tokens
        ({"tokens_evaluated": 40, "tokens_predicted": 6, "stop": True, "stop_type": "limit",
          "timings": {"prompt_n": 3, "cache_n": 37, "prompt_ms": 2.5, "predicted_ms": 7.25}},
         (40, 6, 37, 3, 2.5, 7.25, "length")),
        # an older server: stopped_limit, no timings
        ({"tokens_evaluated": 9, "tokens_predicted": 2, "stop": True, "stopped_limit": True}, (9, 2, 0, 0, 0.0, 0.0, "length")),
        ({"tokens_evaluated": 9, "tokens_predicted": 2, "stop": True, "stop_type": "eos",
          "timings": {"prompt_n": "x", "cache_n": None}}, (9, 2, 0, 0, 0.0, 0.0, "stop")),
    ],
)
def test_llamacpp_usage_and_finish_reason_from_the_final_answer(answer, expected):
    from fim_server.providers.llamacpp import _reason, usage_from

    usage = usage_from(answer)
    got = (usage.prompt_tokens, usage.completion_tokens, usage.cache_hit_tokens, usage.cache_miss_tokens,
           usage.prompt_ms, usage.generation_ms, _reason(answer))
    assert got == expected


def test_error_text_is_redacted_before_it_is_cut(monkeypatch):
    # an upstream that echoes the key it was sent, with the cut at 200 characters
    # falling inside it: no part of the key survives in the message
    key = "Zq8canaryPLAINsecret4417"
    p = provider(provider="openai", apiKey=key)
    for pad in range(175, 200):
        body = json.dumps({"error": {"message": "x" * pad + " invalid token " + key}}).encode()
        message = p.map_status(500, body, H).message
        assert key[:5] not in message, message
    shaped = json.dumps({"error": "bad key sk-canary-unknown-to-us-0001"}).encode()
    assert "sk-canary" not in p.map_status(500, shaped, H).message


def test_llamacpp_front_without_health_goes_on_to_infill():
    from fim_server.fakes.llamacpp import FakeLlamaCpp
    import asyncio

    class NoHealth(FakeLlamaCpp):
        def routes(self):
            routes = dict(super().routes())
            del routes["/health"]
            return routes

    async def go(url):
        async with httpx.AsyncClient() as client:
            settings, _ = parse_settings({"provider": "llamacpp", "baseUrl": url})
            return await create_provider(settings, client).complete(REQ, 5.0)

    with NoHealth(default=Reply(text="42"), props=False) as fake:  # nor /props nor /tokenize: /infill
        assert asyncio.run(go(fake.url)).text == "42"
        assert [r.path for r in fake.requests] == ["/health", "/props", "/infill"]


def test_llamacpp_prefix_window_keeps_its_start_while_typing_at_the_end():
    from fim_server.providers.llamacpp import prefix_window

    lines = [f"line {i:03d} " + "x" * 40 + "\n" for i in range(200)]  # 50 characters each
    prefix = "".join(lines)
    window = prefix_window(prefix, budget=1000, step=8)
    assert len(window) <= 1000 and window.startswith("line ") and prefix.endswith(window)
    start = window[:8]
    for typed in ("d", "de", "def f(", "def f(a, b):\n    return a"):
        assert prefix_window(prefix + typed, budget=1000, step=8).startswith(start)  # the same start: the cache holds
    # the start moves by whole blocks of 8 lines once a block's worth more is typed
    assert prefix_window(prefix + "y" * 150, budget=1000, step=8).startswith(start)
    moved = prefix_window(prefix + "y" * 250, budget=1000, step=8)
    assert moved.startswith(f"line {int(start[5:8]) + 8:03d}")
    assert prefix_window("short\ntext", budget=1000) == "short\ntext"
    assert prefix_window("z" * 3000, budget=1000) == "z" * 1000  # only a cursor line over the budget is cut inside


@pytest.mark.parametrize(
    "suffix, budget, expected",
    [
        ("a\nb\n", 10, "a\nb\n"),
        ("rest of line\nnext\nthird line here\n", 20, "rest of line\nnext\n"),
        ("x" * 30, 10, "x" * 10),
        ("", 10, ""),
    ],
)
def test_llamacpp_suffix_window_keeps_whole_lines(suffix, budget, expected):
    from fim_server.providers.llamacpp import suffix_window

    assert suffix_window(suffix, budget) == expected


def test_llamacpp_body_sends_the_windows_and_asks_timings_on_streams():
    from fim_server.providers.llamacpp import PREFIX_CHARS, SUFFIX_CHARS

    long = FimRequest("p = 1\n" * 2000, "s = 2\n" * 2000, 16, stream=True)
    body = provider(provider="llamacpp").body(long, timeout_s=5.0)
    assert len(body["input_prefix"]) <= PREFIX_CHARS and long.prompt.endswith(body["input_prefix"])
    assert len(body["input_suffix"]) <= SUFFIX_CHARS and long.suffix.startswith(body["input_suffix"])
    assert body["timings_per_token"] is True
    assert "timings_per_token" not in provider(provider="llamacpp").body(replace(long, stream=False), timeout_s=5.0)


def run_llamacpp(fake, *requests: FimRequest, **settings):
    """Each request through one llamacpp provider against ``fake``; the completions."""
    import asyncio

    async def go():
        async with httpx.AsyncClient() as client:
            parsed, problems = parse_settings({"provider": "llamacpp", "baseUrl": fake.url, **settings})
            assert problems == []
            p = create_provider(parsed, client)
            return [await p.complete(r, 5.0) for r in requests]

    return asyncio.run(go())


def test_llamacpp_known_fim_tokens_put_the_cursor_line_last_on_completion():
    from fim_server.fakes.llamacpp import FakeLlamaCpp

    above = "import os\n\ndef main():\n"
    first = FimRequest(above + "    total = ", "\nprint(main())\n", 16, stream=False, path="m.py")
    second = replace(first, prompt=first.prompt + "su")
    with FakeLlamaCpp(default=Reply(text="sum(x)")) as fake:  # qwen2.5-coder: its FIM tokens are in the vocabulary
        answers = run_llamacpp(fake, first, second)
        assert [a.text for a in answers] == ["sum(x)", "sum(x)"]
        # the layout is decided once: /props names the model, /tokenize confirms its three markers
        assert [r.path for r in fake.requests] == ["/health", "/props", "/tokenize", "/completion", "/completion"]
        assert fake.requests[2].json == {"content": "<|fim_prefix|><|fim_suffix|><|fim_middle|>x", "with_pieces": True}
        bodies = [r.json for r in fake.completion_requests()]
    assert bodies[0]["prompt"] == ("<|fim_prefix|>" + above + "<|fim_suffix|>\nprint(main())\n<|fim_middle|>    total = ")
    assert "input_prefix" not in bodies[0] and bodies[0]["cache_prompt"] is True
    # typing on the line changed only the end of the prompt
    assert bodies[1]["prompt"] == bodies[0]["prompt"] + "su"
    assert "<|file_sep|>" in bodies[0]["stop"] and "<|endoftext|>" in bodies[0]["stop"]


@pytest.mark.parametrize(
    "fake_options, settings, path",
    [
        ({"model_path": "/models/my-own-model.gguf"}, {}, "/infill"),  # no family in the name
        ({"supports_infill": False}, {}, "/infill"),  # a qwen without FIM tokens: /tokenize splits the markers
        ({"model_path": "/models/my-own-model.gguf", "family": "qwen"}, {"template": "qwen"}, "/completion"),  # named
        ({"model_path": "/models/codellama-7b.Q4_K_M.gguf"}, {}, "/completion"),
        ({"model_path": "/models/codellama-7b.Q4_K_M.gguf"}, {"template": "qwen"}, "/infill"),  # wrong family named
        # a SentencePiece vocabulary that puts a space before the cursor line's text: /infill
        ({"model_path": "/models/codellama-7b.Q4_K_M.gguf", "space_prefix": True}, {}, "/infill"),
    ],
)
def test_llamacpp_raw_layout_only_with_tokens_the_server_confirms(fake_options, settings, path):
    from fim_server.fakes.llamacpp import FakeLlamaCpp

    request = FimRequest("def f():\n    return ", "\n", 8, stream=False)
    with FakeLlamaCpp(default=Reply(text="1"), **fake_options) as fake:
        try:
            run_llamacpp(fake, request, **settings)
        except errors.ModelRejected:
            assert not fake.supports_infill  # /infill's 501, as before
        assert [r.path for r in fake.completion_requests()] == [path]


def test_llamacpp_layout_is_asked_again_after_a_transient_failure():
    from fim_server.fakes.llamacpp import FakeLlamaCpp

    class BusyOnce(FakeLlamaCpp):
        busy = 1

        def routes(self):
            routes = dict(super().routes())
            props = routes["/props"]

            def busy_props(req):
                if self.busy:
                    self.busy -= 1
                    return 503, self.error_body(503, "busy")
                return props(req)

            return {**routes, "/props": busy_props}

    request = FimRequest("a\nb = ", "\n", 8, stream=False)
    with BusyOnce(default=Reply(text="1")) as fake:
        run_llamacpp(fake, request, request)
        assert [r.path for r in fake.requests] == ["/health", "/props", "/infill", "/health", "/props", "/tokenize",
                                                   "/completion"]


def test_llamacpp_raw_layout_keeps_other_files_first_in_each_familys_form():
    from fim_server.providers.templates import TEMPLATES

    request = FimRequest("def f():\n    return ", "\n", 8, path="m.py", comment="#",
                         extra=(("util.py", "def g():\n    return 1\n"),))
    p = provider(provider="llamacpp")
    p.template = TEMPLATES["qwen"]  # repo-level form: the file before the current one
    assert p.body(request, 5.0)["prompt"] == ("<|repo_name|>repo\n<|file_sep|>util.py\ndef g():\n    return 1\n\n"
                                             "<|file_sep|>m.py\n<|fim_prefix|>def f():\n<|fim_suffix|>\n<|fim_middle|>    return ")
    p.template = TEMPLATES["codellama"]  # no form of its own: comment blocks at the top of the prefix
    assert p.body(request, 5.0)["prompt"] == ("<PRE> # Path: util.py\n# def g():\n#     return 1\n\ndef f():\n"
                                             " <SUF>\n <MID>    return ")
