"""Providers against a REAL inference server, not our own fake: llama.cpp's own HTTP
server, prebuilt in the ``xllamacpp`` wheel (the extra ``real``), loading a tiny GGUF
model that ``tiny_llama.write_tiny_model`` writes here. The model answers ``ab`` at
every position whatever the prompt (see tiny_llama.py), so the answers are known in
advance; the server's own ``timings`` say how much of each prompt it evaluated.

Covered: provider ``llamacpp`` on the native API (``/health``, ``/infill``, ``timings``
and the KV-cache reuse they report), the real ``fim-server`` process with provider
``llamacpp`` and with provider ``openai`` on ``/v1/completions``. Skipped only when the
wheel, ``gguf`` or ``numpy`` is not installed, unless ``FIM_REQUIRE_REAL=1`` (CI
installs them with the extra and sets it, so there they must run).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

if os.environ.get("FIM_REQUIRE_REAL") != "1":  # .ci/run sets it: there a missing wheel is a failure
    pytest.importorskip("numpy")
    pytest.importorskip("gguf")
    pytest.importorskip("xllamacpp", reason="the extra 'real' (pip install -e '.[real]') brings llama.cpp's server")

import httpx  # noqa: E402
import pytest_lsp  # noqa: E402
from lsprotocol import types  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient  # noqa: E402

from fim_server.providers.base import FimRequest  # noqa: E402
from fim_server.providers.llamacpp import LlamaCppProvider  # noqa: E402
from fim_server.settings import Settings  # noqa: E402
from tests.e2e.conftest import SERVER_ENV, inline, open_doc, start, stop  # noqa: E402
from fim_server.tools.replay.driver import ReplayOptions, replay_trace  # noqa: E402
from fim_server.tools.replay.trace import Event, Trace  # noqa: E402
from tests.real.tiny_llama import ANSWER_TOKEN, running_server, write_tiny_model  # noqa: E402

MAX_TOKENS = 6
SOURCE = "def add(a, b):\n    return \n\nprint(add(1, 2))\n"


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gguf")
    model = folder / "tiny-fim.gguf"
    write_tiny_model(model, n_ctx=16384)
    # no --cache-reuse (llama-server's default): only an unchanged beginning is reused;
    # -b 8192 keeps this model's long prompts whole (one token is about a byte here)
    with running_server(model, folder / "server.log", ctx=16384, batch=8192) as url:
        yield url


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "fim_server"], server_env=SERVER_ENV))
async def lsp(lsp_client: LanguageClient):
    yield
    await stop(lsp_client)


def infill(url: str, prefix: str, suffix: str, **extra) -> dict:
    answer = httpx.post(url + "/infill", timeout=60, json={
        "input_prefix": prefix, "input_suffix": suffix, "n_predict": MAX_TOKENS, "temperature": 0,
        "cache_prompt": True, **extra})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_native_server_answers_health_and_infill_with_timings(llama_server):
    assert httpx.get(llama_server + "/health", timeout=10).json() == {"status": "ok"}
    prefix = "import os\n" * 20 + "def add(a, b):\n    return "
    first = infill(llama_server, prefix, "\n", id_slot=0)
    assert first["content"] == ANSWER_TOKEN * MAX_TOKENS
    assert first["prompt"].startswith("<PRE>") and first["prompt"].endswith("<MID>")
    timings = first["timings"]
    assert timings["predicted_n"] == MAX_TOKENS and timings["prompt_ms"] >= 0 and timings["predicted_ms"] >= 0
    # the same prompt again: the slot's KV cache holds all of it but the last token
    again = infill(llama_server, prefix, "\n", id_slot=0)["timings"]
    assert again["cache_n"] + again["prompt_n"] == timings["cache_n"] + timings["prompt_n"]
    assert again["prompt_n"] <= 2 and again["cache_n"] > 200
    # one character typed at the end of the prefix: the text before it is reused (the
    # last few tokens of the old prefix may tokenize differently with it)
    typed = infill(llama_server, prefix + "a", "\n", id_slot=0)["timings"]
    assert typed["cache_n"] >= again["cache_n"] - 5 and typed["prompt_n"] < 10


@pytest.mark.parametrize("stream", [True, False])
async def test_the_llamacpp_provider_reads_answer_usage_and_timings(llama_server, stream):
    settings = Settings(provider="llamacpp", base_url=llama_server)
    async with httpx.AsyncClient() as client:
        provider = LlamaCppProvider(settings, client)
        request = FimRequest(prompt="def add(a, b):\n    return ", suffix="\n", max_tokens=MAX_TOKENS, stream=stream,
                             extra=(("util.py", "def sub(a, b):\n    return a - b\n"),), path="calc.py")
        first = await provider.complete(request, timeout_s=30)
        assert provider.ready  # /health answered 200 first
        assert first.text == ANSWER_TOKEN * MAX_TOKENS
        assert first.finish_reason == "length"
        assert first.usage.completion_tokens == MAX_TOKENS
        assert first.usage.prompt_tokens > 10
        second = await provider.complete(request, timeout_s=30)
        assert second.text == first.text
        # the server reused its cache for the repeated prompt, and says so
        assert second.usage.prompt_tokens == first.usage.prompt_tokens
        assert second.usage.cache_hit_tokens >= second.usage.prompt_tokens - 2
        assert second.usage.cache_miss_tokens + second.usage.cache_hit_tokens == second.usage.prompt_tokens


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("template", ["auto", "codellama"])  # /infill; /completion with the cursor line last
async def test_fim_server_completes_against_the_native_llama_cpp_server(lsp, llama_server, stream, template):
    await start(lsp, None, provider="llamacpp", baseUrl=llama_server, maxTokens=MAX_TOKENS,
                debounceMs=0, timeoutMs=30000, stream=stream, template=template)
    uri = "file:///work/real/calc.py"
    open_doc(lsp, uri, SOURCE)
    items = await inline(lsp, uri, 1, 11)
    assert [i.insert_text for i in items] == [ANSWER_TOKEN * MAX_TOKENS]
    assert [m.message for m in lsp.messages] == []
    stats = await lsp.workspace_execute_command_async(types.ExecuteCommandParams(command="fimServer.stats"))
    assert stats["provider_calls"] == 1
    assert stats["completion_tokens"] == MAX_TOKENS  # usage reported by the real server
    assert stats["prompt_tokens"] > 0
    # llama.cpp's timings: the prompt split into evaluated and cached tokens, and the time split
    assert stats["cache_hit_tokens"] + stats["cache_miss_tokens"] == stats["prompt_tokens"]
    assert stats["prompt_ms"] > 0 and stats["generation_ms"] > 0


@pytest.mark.parametrize("stream", [True, False])
async def test_fim_server_completes_against_the_openai_compatible_path(lsp, llama_server, stream):
    """Provider ``openai`` on llama.cpp's ``/v1/completions``."""
    await start(lsp, None, provider="openai", baseUrl=llama_server + "/v1", model="tiny-fim", maxTokens=MAX_TOKENS,
                debounceMs=0, timeoutMs=30000, stream=stream)
    uri = "file:///work/real/calc.py"
    open_doc(lsp, uri, SOURCE)
    items = await inline(lsp, uri, 1, 11)
    assert [i.insert_text for i in items] == [ANSWER_TOKEN * MAX_TOKENS]
    assert [m.message for m in lsp.messages] == []
    stats = await lsp.workspace_execute_command_async(types.ExecuteCommandParams(command="fimServer.stats"))
    assert stats["provider_calls"] == 1
    assert stats["completion_tokens"] == MAX_TOKENS
    assert stats["prompt_tokens"] > 0


async def test_typing_at_the_end_reuses_the_servers_cache_for_the_provider_windows(llama_server):
    """The provider's windows (a prefix cut in whole-line blocks, a short suffix) keep
    the prompt's beginning unchanged while the user types: the server evaluates the
    typed text and the suffix again, and takes the rest from its cache."""
    from fim_server.providers.llamacpp import SUFFIX_CHARS

    prefix = "".join(f"def helper_{i}(value):\n    return value + {i}\n\n" for i in range(300)) + "def main():\n    total = "
    suffix = "".join(f"    print(total, {i})\n" for i in range(200))
    settings = Settings(provider="llamacpp", base_url=llama_server)
    async with httpx.AsyncClient() as client:
        provider = LlamaCppProvider(settings, client)
        await provider.complete(FimRequest(prompt=prefix, suffix=suffix, max_tokens=2, stream=False), timeout_s=30)
        usage = []
        for typed in ("h", "he", "hel", "help"):
            answer = await provider.complete(FimRequest(prompt=prefix + typed, suffix=suffix, max_tokens=2, stream=True), timeout_s=30)
            usage.append(answer.usage)
    for u in usage:
        assert u.cache_miss_tokens + u.cache_hit_tokens == u.prompt_tokens
        assert u.cache_miss_tokens <= SUFFIX_CHARS + 10  # the suffix (about a token a byte) and the typed letters
        assert u.cache_hit_tokens > 3000  # the prefix window, from the cache
        assert u.prompt_ms >= 0 and u.generation_ms >= 0


async def test_the_cursor_line_last_layout_reuses_all_but_the_typed_text(llama_server):
    """With the model's FIM tokens known (``template``; the tiny model has codellama's
    ``<PRE>``/``<SUF>``/``<MID>``, confirmed by the server's /tokenize) the provider sends
    /completion the lines above, the suffix, then the cursor line last: a keystroke on
    the line makes the server evaluate only the typed text. With /infill the suffix
    comes after the typed text and is evaluated again at every key."""
    above = "".join(f"def helper_{i}(value):\n    return value + {i}\n\n" for i in range(80)) + "def main():\n"
    suffix = "".join(f"    print(total, {i})\n" for i in range(20))
    lines = ["    total = ", "    total = h", "    total = he", "    total = hel"]
    evaluated: dict[str, list] = {}
    async with httpx.AsyncClient() as client:
        for template in ("codellama", "auto"):
            provider = LlamaCppProvider(Settings(provider="llamacpp", base_url=llama_server, template=template), client)
            usage = []
            for line in lines:
                answer = await provider.complete(FimRequest(prompt=above + line, suffix=suffix, max_tokens=2, stream=True),
                                                 timeout_s=30)
                assert answer.text == ANSWER_TOKEN * 2
                usage.append(answer.usage)
            assert provider.path() == ("/completion" if template == "codellama" else "/infill")
            evaluated[template] = usage
            # a new line moves the finished line into the prefix: the suffix is evaluated again, once
            newline = await provider.complete(FimRequest(prompt=above + lines[-1] + "p\n    ", suffix=suffix, max_tokens=2,
                                                         stream=True), timeout_s=30)
            assert newline.usage.cache_miss_tokens > len(suffix) // 2
    prompt_tokens = evaluated["codellama"][0].prompt_tokens
    assert prompt_tokens > 2000  # about a token a byte
    for u in evaluated["codellama"][1:]:
        assert u.cache_miss_tokens <= 3 and u.cache_hit_tokens + u.cache_miss_tokens == u.prompt_tokens
        assert u.cache_miss_tokens < 0.01 * u.prompt_tokens
    for u in evaluated["auto"][1:]:  # /infill: the typed letter and the whole suffix after it
        assert u.cache_miss_tokens >= len(suffix) // 2


async def test_no_cursor_line_last_where_the_tokenizer_puts_a_space_before_it(tmp_path):
    """A SentencePiece vocabulary with a space prefix (Code Llama's) tokenizes the text
    after ``<MID>`` with a space in front: the cursor line would be shifted right, so
    the provider keeps ``/infill``, whose answer follows the whole prefix."""
    model = tmp_path / "spaced.gguf"
    write_tiny_model(model, n_ctx=4096, space_prefix=True)
    with running_server(model, tmp_path / "spaced.log", ctx=4096) as url:
        pieces = httpx.post(url + "/tokenize", json={"content": "<MID>x", "with_pieces": True}).json()["tokens"]
        assert [t["piece"] for t in pieces] == ["<MID>", " ", "x"]
        async with httpx.AsyncClient() as client:
            provider = LlamaCppProvider(Settings(provider="llamacpp", base_url=url, template="codellama"), client)
            answer = await provider.complete(FimRequest(prompt="def f():\n    return ", suffix="\n", max_tokens=2), timeout_s=30)
    assert answer.text == ANSWER_TOKEN * 2 and provider.path() == "/infill"


async def test_replay_real_reports_what_the_server_evaluated_and_reused(llama_server):
    """``fim-server replay --real``'s tap: per request and in total, the server's own
    figures for a few keystrokes typed into the real fim-server."""
    text = "".join(f"def helper_{i}(value):\n    return value + {i}\n\n" for i in range(40)) + "\n\nprint(helper_1(2))\n"
    line = text.count("\n") - 2
    events = [Event("key", 40, text=ch) for ch in "def main():"] + [Event("pause", 700)]
    events += [Event("key", 40, text=ch) for ch in "\n    return 1"] + [Event("pause", 700), Event("key", 40, text="\n")]
    trace = Trace("tiny", "file:///work/real/helpers.py", "python", text, line=line, character=0, events=events)
    options = ReplayOptions(settings={"provider": "llamacpp", "baseUrl": llama_server, "maxTokens": MAX_TOKENS},
                            fake=False, tap_upstream=llama_server)
    result = await replay_trace(trace, options)
    engine = result.engine
    infill = [r for r in engine["per_request"] if r["path"] == "/infill"]
    assert infill and len(infill) == result.server["provider_calls"]
    assert all(r["prompt_n"] is not None and r["cache_n"] is not None for r in infill)
    assert engine["prompt_evaluated"] == sum(r["prompt_n"] for r in infill)
    assert engine["prompt_reused"] == sum(r["cache_n"] for r in infill)
    totals = engine["server_totals"]  # /metrics: every request the server saw, cut ones too
    assert totals["prompt_evaluated"] >= engine["prompt_evaluated"] > 0
    assert totals["prompt_reused"] >= engine["prompt_reused"] > 0  # typing at the end: the beginning is reused
    assert totals["prompt_eval_ms"] > 0 and totals["generation_ms"] > 0


def doctor(url: str, *settings: str) -> subprocess.CompletedProcess:
    args = [arg for item in ("provider=llamacpp", f"baseUrl={url}", *settings) for arg in ("--set", item)]
    return subprocess.run([sys.executable, "-m", "fim_server", "doctor", *args], capture_output=True, text=True,
                          timeout=60, env=SERVER_ENV)


def check_line(output: str, name: str) -> str:
    return next(line for line in output.splitlines() if line.strip().split(" ", 1)[-1].lstrip().startswith(name + ":"))


def test_doctor_reads_the_context_size_from_props(llama_server):
    result = doctor(llama_server)
    assert result.returncode == 0, result.stdout + result.stderr
    context = check_line(result.stdout, "context")
    assert context.split()[0] == "ok" and "16384 tokens per slot, 1 slot(s)" in context
    probe = check_line(result.stdout, "FIM request")
    assert probe.split()[0] == "ok" and "prompts go to /infill" in probe  # tiny-fim: no family in the name
    probe = check_line(doctor(llama_server, "template=codellama").stdout, "FIM request")
    assert probe.split()[0] == "ok" and "/completion with the model's codellama FIM tokens" in probe


def test_doctor_says_when_the_context_is_too_small_or_the_model_cannot_fill_in(tmp_path):
    small = tmp_path / "small.gguf"
    write_tiny_model(small, n_ctx=512)
    with running_server(small, tmp_path / "small.log", ctx=512) as url:
        result = doctor(url)
    assert result.returncode == 1
    context = check_line(result.stdout, "context")
    assert context.split()[0] == "FAIL" and "512 tokens per slot" in context and "-c 4096" in context

    no_fim = tmp_path / "no-fim.gguf"
    write_tiny_model(no_fim, n_ctx=4096, fim=False)
    with running_server(no_fim, tmp_path / "no-fim.log", ctx=4096) as url:
        result = doctor(url)
    assert result.returncode == 1
    probe = check_line(result.stdout, "FIM request")
    assert probe.split()[0] == "FAIL" and "cannot fill in the middle" in probe and "qwen2.5-coder" in probe
