"""Every provider end to end: the real server process over stdio against a fake
that speaks that provider's wire format, checking the answer the editor gets and
what the fake received."""

from __future__ import annotations

import asyncio
import sys

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from fim_server.fakes.codestral import FakeCodestral
from fim_server.fakes.replies import Reply
from fim_server.fakes.llamacpp import FakeLlamaCpp
from fim_server.fakes.ollama import FakeOllama
from fim_server.fakes.openai import SUFFIX_ERROR, FakeOpenAI

from .conftest import SERVER_ENV, inline, open_doc, start, stop

KEY_VARS = ("DEEPSEEK_API_KEY", "OPENAI_API_KEY", "MISTRAL_API_KEY", "OLLAMA_API_KEY", "LLAMA_API_KEY")
CLEAN_ENV = {k: v for k, v in SERVER_ENV.items() if k not in KEY_VARS}
MISTRAL_KEY = "mistral-e2e-KEY-FROM-ENV-777"
URI = "file:///work/proj/calc.py"
TEXT = "def add(a, b):\n    return \n\nprint(add(1, 2))\n"


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "fim_server"], server_env=CLEAN_ENV))
async def lsp(lsp_client: LanguageClient):
    yield
    await stop(lsp_client)


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "fim_server"], server_env={**CLEAN_ENV, "MISTRAL_API_KEY": MISTRAL_KEY}
    )
)
async def lsp_mistral_env(lsp_client: LanguageClient):
    yield
    await stop(lsp_client)


def texts(items) -> list[str]:
    return [i.insert_text for i in items]


def messages(client, kind=types.MessageType.Error) -> list[str]:
    return [m.message for m in client.messages if m.type == kind]


async def go(client, fake, provider: str, **settings) -> list[str]:
    await start(client, None, provider=provider, baseUrl=fake.base_url, debounceMs=0, **settings)
    open_doc(client, URI, TEXT)
    return texts(await inline(client, URI, 1, 11))


# -- OpenAI-compatible ------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
async def test_openai_with_suffix_support(lsp, stream):
    with FakeOpenAI([Reply(text="a + b")], accepts_suffix=True) as fake:
        assert await go(lsp, fake, "openai", model="Qwen/Qwen2.5-Coder-7B", stream=stream) == ["a + b"]
        [req] = fake.completion_requests()
        assert req.json["prompt"] == "def add(a, b):\n    return "
        assert req.json["suffix"] == "\n\nprint(add(1, 2))\n"
        assert req.json["model"] == "Qwen/Qwen2.5-Coder-7B"
        assert req.json["stream"] is stream
        assert "authorization" not in req.headers  # no OPENAI_API_KEY, none sent


async def test_openai_suffix_rejected_falls_back_to_the_template_once_and_remembers(lsp):
    with FakeOpenAI(default=Reply(text="a + b<|endoftext|>junk")) as fake:  # vLLM-like: 400 on suffix
        assert await go(lsp, fake, "openai", model="Qwen/Qwen2.5-Coder-7B", apiKey="vllm-token") == ["a + b"]
        first, second = fake.completion_requests()
        assert first.reply.status == 400 and SUFFIX_ERROR in str(first.reply.error_body) and "suffix" in first.json
        assert "suffix" not in second.json
        assert second.json["prompt"] == (
            "<|fim_prefix|>def add(a, b):\n    return <|fim_suffix|>\n\nprint(add(1, 2))\n<|fim_middle|>"
        )
        assert {"<|endoftext|>", "<|file_sep|>"} <= set(second.json["stop"])
        assert second.bearer == "vllm-token"
        # the next keystroke goes straight to the raw prompt: no second 400
        open_doc(lsp, "file:///work/proj/other.py", "x = \n")
        await inline(lsp, "file:///work/proj/other.py", 0, 4)
        third = fake.completion_requests()[2]
        assert "suffix" not in third.json and third.json["prompt"].startswith("<|fim_prefix|>x = ")
        assert len(fake.completion_requests()) == 3
        assert messages(lsp) == []


async def test_openai_explicit_template_overrides_the_model_name(lsp):
    with FakeOpenAI(default=Reply(text="a + b")) as fake:
        assert await go(lsp, fake, "openai", model="my-finetune", template="codellama") == ["a + b"]
        raw = fake.completion_requests()[-1]
        assert raw.json["prompt"] == "<PRE> def add(a, b):\n    return  <SUF>\n\nprint(add(1, 2))\n <MID>"
        assert "<EOT>" in raw.json["stop"]


async def test_openai_suffix_rejected_and_no_template_known_says_what_to_set(lsp):
    with FakeOpenAI() as fake:
        assert await go(lsp, fake, "openai", model="my-finetune") == []
        [error] = messages(lsp)
        assert "suffix" in error and "fimServer.template" in error and "qwen" in error
        assert len(fake.completion_requests()) == 1


async def test_openai_unknown_model(lsp):
    with FakeOpenAI(accepts_suffix=True, validate_models=True) as fake:
        assert await go(lsp, fake, "openai", model="nope") == []
        [error] = messages(lsp)
        assert "'nope'" in error and "fimServer.model" in error


# -- Ollama -------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
async def test_ollama_generate_with_suffix_ndjson(lsp, stream):
    with FakeOllama([Reply(text="a + b", chunks=["a", " +", " b"])]) as fake:
        assert await go(lsp, fake, "ollama", stream=stream, maxTokens=64) == ["a + b"]
        [req] = fake.completion_requests()
        assert req.path == "/api/generate"
        assert req.json["model"] == "qwen2.5-coder:1.5b-base"  # the provider's default model
        assert req.json["prompt"] == "def add(a, b):\n    return "
        assert req.json["suffix"] == "\n\nprint(add(1, 2))\n"
        assert req.json["options"]["num_predict"] == 64
        assert req.json["keep_alive"] and req.json["stream"] is stream
        assert "raw" not in req.json


async def test_ollama_never_sends_an_empty_suffix(lsp):
    with FakeOllama([Reply(text="1")]) as fake:
        await start(lsp, None, provider="ollama", baseUrl=fake.base_url, debounceMs=0)
        open_doc(lsp, URI, "x = ")
        assert texts(await inline(lsp, URI, 0, 4)) == ["1"]
        assert fake.completion_requests()[0].json["suffix"] == " "


async def test_ollama_model_without_insert_names_models_that_have_it(lsp):
    with FakeOllama() as fake:
        assert await go(lsp, fake, "ollama", model="llama3.1:8b") == []
        [error] = messages(lsp)
        assert "llama3.1:8b" in error and "does not support insert" in error and "qwen2.5-coder" in error
        await inline(lsp, URI, 1, 11)
        assert len(fake.completion_requests()) == 1  # fatal: no more calls until the settings change


async def test_ollama_explicit_template_sends_a_raw_prompt(lsp):
    with FakeOllama(default=Reply(text="a + b")) as fake:
        assert await go(lsp, fake, "ollama", model="llama3.1:8b", template="starcoder") == ["a + b"]
        req = fake.completion_requests()[0]
        assert req.json["raw"] is True and "suffix" not in req.json
        # the cursor line last, after the middle marker: Ollama's cache keeps the rest while typing on the line
        assert req.json["prompt"] == "<fim_prefix>def add(a, b):\n<fim_suffix>\n\nprint(add(1, 2))\n<fim_middle>    return "
        assert "<|endoftext|>" in req.json["options"]["stop"]


async def test_ollama_model_not_pulled(lsp):
    with FakeOllama() as fake:
        assert await go(lsp, fake, "ollama", model="qwen2.5-coder:32b") == []
        [error] = messages(lsp)
        assert "ollama pull qwen2.5-coder:32b" in error


# -- llama.cpp ------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
async def test_llamacpp_infill(lsp, stream):
    # a model file whose name says no family: llama.cpp's own /infill lays the prompt out
    with FakeLlamaCpp([Reply(text="a + b")], model_path="/models/my-model.gguf") as fake:
        assert await go(lsp, fake, "llamacpp", stream=stream, maxTokens=48, timeoutMs=2000) == ["a + b"]
        [req] = fake.completion_requests()
        assert req.path == "/infill"
        assert req.json["input_prefix"] == "def add(a, b):\n    return "
        assert req.json["input_suffix"] == "\n\nprint(add(1, 2))\n"
        assert req.json["input_extra"] == []
        assert req.json["n_predict"] == 48
        assert 0 < req.json["t_max_predict_ms"] <= 2000
        assert req.json["cache_prompt"] is True and req.json["stream"] is stream
        assert [r.path for r in fake.requests][0] == "/health"


@pytest.mark.parametrize("stream", [True, False])
async def test_llamacpp_raw_prompt_with_the_cursor_line_last(lsp, stream):
    # qwen2.5-coder, whose FIM tokens the server's /tokenize confirms: /completion with
    # the lines above, the suffix, then the cursor line's start after <|fim_middle|>
    with FakeLlamaCpp([Reply(text="a + b")]) as fake:
        assert await go(lsp, fake, "llamacpp", stream=stream, maxTokens=48, timeoutMs=2000) == ["a + b"]
        [req] = fake.completion_requests()
        assert req.path == "/completion"
        assert req.json["prompt"] == ("<|fim_prefix|>def add(a, b):\n<|fim_suffix|>\n\nprint(add(1, 2))\n"
                                      "<|fim_middle|>    return ")
        assert req.json["n_predict"] == 48 and req.json["cache_prompt"] is True and req.json["stream"] is stream
        assert "<|file_sep|>" in req.json["stop"]


async def test_llamacpp_waits_for_health_while_loading(lsp):
    with FakeLlamaCpp(default=Reply(text="a + b"), loading=True) as fake:
        assert await go(lsp, fake, "llamacpp") == []
        assert fake.completion_requests() == []  # /health said 503: no /infill sent
        assert messages(lsp) == []  # loading is not an error to shout about
        fake.loading = False
        for _ in range(30):  # the backoff after a 503 is short (Retry-After 1 s)
            await asyncio.sleep(0.25)
            open_doc(lsp, f"file:///work/proj/f{_}.py", "x = ")
            got = texts(await inline(lsp, f"file:///work/proj/f{_}.py", 0, 4))
            if got:
                break
        assert got == ["a + b"]
        assert len(fake.completion_requests()) == 1


async def test_llamacpp_model_without_infill(lsp):
    with FakeLlamaCpp(supports_infill=False) as fake:
        assert await go(lsp, fake, "llamacpp") == []
        [error] = messages(lsp)
        assert "fill in the middle" in error and "qwen2.5-coder" in error


# -- Codestral --------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
async def test_codestral_chat_shaped_answers_and_mistral_api_key_only_for_mistral(lsp_mistral_env, stream):
    with FakeCodestral([Reply(text="a + b")], api_key=MISTRAL_KEY) as fake:
        # MISTRAL_API_KEY is set, but the fake is not Mistral's host: the variable is not sent there
        assert await go(lsp_mistral_env, fake, "codestral", stream=stream) == []
        assert fake.completion_requests() == []
        [error] = messages(lsp_mistral_env)
        assert "MISTRAL_API_KEY is sent only to api.mistral.ai" in error and "fimServer.apiKey" in error
        # a key given in the settings goes where the settings point
        lsp_mistral_env.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"fimServer": {
            "provider": "codestral", "baseUrl": fake.base_url, "apiKey": MISTRAL_KEY, "stream": stream, "debounceMs": 0}}))
        await asyncio.sleep(0.2)
        lsp_mistral_env.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=TEXT)]))
        assert texts(await inline(lsp_mistral_env, URI, 1, 11)) == ["a + b"]
        [req] = fake.completion_requests()
        assert req.path == "/v1/fim/completions"
        assert req.bearer == MISTRAL_KEY
        assert req.json["model"] == "codestral-latest"
        assert (req.json["prompt"], req.json["suffix"]) == ("def add(a, b):\n    return ", "\n\nprint(add(1, 2))\n")


async def test_codestral_without_key_names_mistral_api_key(lsp):
    with FakeCodestral() as fake:
        assert await go(lsp, fake, "codestral") == []
        [error] = messages(lsp)
        assert "MISTRAL_API_KEY" in error
        assert fake.completion_requests() == []


async def test_codestral_bad_key_and_invalid_model(lsp):
    with FakeCodestral(api_key="right", validate_models=True) as fake:
        assert await go(lsp, fake, "codestral", apiKey="wrong") == []
        assert "MISTRAL_API_KEY" in messages(lsp)[0] and "401" in messages(lsp)[0]
        lsp.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"fimServer": {
            "provider": "codestral", "baseUrl": fake.base_url, "apiKey": "right", "model": "codestral-nope", "debounceMs": 0}}))
        await asyncio.sleep(0.2)
        assert texts(await inline(lsp, URI, 1, 11)) == []
        assert "codestral-nope" in messages(lsp)[-1] and "fimServer.model" in messages(lsp)[-1]


# -- stream habits: keep-alives, drops ---------------------------------------------


async def test_sse_keepalive_comments_are_skipped_codestral(lsp):
    with FakeCodestral([Reply(text="a + b", keepalives=3, chunk_delay=0.01)], api_key="k") as fake:
        assert await go(lsp, fake, "codestral", apiKey="k") == ["a + b"]


async def test_ollama_stream_dropped_mid_answer_gives_nothing_and_one_warning(lsp):
    with FakeOllama([Reply(text="a + b", drop_after_chunks=1)], default=Reply(text="a + b")) as fake:
        assert await go(lsp, fake, "ollama") == []
        warnings = messages(lsp, types.MessageType.Warning)
        assert len(warnings) == 1 and "Ollama" in warnings[0]
        assert fake.completion_requests()[0].outcome == "dropped"
