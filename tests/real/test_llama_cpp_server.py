"""One provider against a REAL inference server, not our own fake: llama-cpp-python's
OpenAI-compatible server (``python -m llama_cpp.server``) loading a tiny GGUF model
that this test writes itself with the ``gguf`` package, driven through the real
``fim-server`` process (provider ``openai``, ``suffix`` sent as-is).

The model is built so that greedy decoding is known in advance: every embedding
is the all-ones vector, attention and feed-forward weights are zero (the residual
stream stays all-ones), and only the output row of the token ``ab`` is non-zero,
so the model answers ``ab`` for every position whatever the prompt. The test is
skipped when llama-cpp-python (with its ``[server]`` extra) or gguf is missing.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
gguf = pytest.importorskip("gguf")
pytest.importorskip("llama_cpp")
pytest.importorskip("llama_cpp.server.app")  # the [server] extra (fastapi, uvicorn)

import httpx  # noqa: E402
import pytest_lsp  # noqa: E402
from lsprotocol import types  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient  # noqa: E402

from tests.e2e.conftest import SERVER_ENV, inline, open_doc, start, stop  # noqa: E402

N_EMBD, N_HEAD, N_FF, N_CTX = 32, 2, 64, 2048
MAX_TOKENS = 6
ANSWER_TOKEN = "ab"


def write_tiny_model(path: Path) -> None:
    """A 1-layer llama-architecture GGUF with an SPM vocabulary that has FIM tokens."""
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types_ = [2, 3, 3] + [6] * 256  # UNKNOWN, CONTROL, CONTROL, BYTE...
    fim = {"<PRE>": None, "<SUF>": None, "<MID>": None, "<EOT>": None}
    for name in fim:
        fim[name] = len(tokens)
        tokens.append(name)
        types_.append(3)
    words = ["▁", ANSWER_TOKEN, "▁def", "▁return", "▁print", "add", "(", ")", ":", ",", "a", "b"]
    tokens += words
    types_ += [1] * len(words)
    scores = [0.0] * len(tokens)
    n_vocab = len(tokens)

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("tiny-fim")
    writer.add_context_length(N_CTX)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(1)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_dimension_count(N_EMBD // N_HEAD)
    writer.add_file_type(0)  # all F32
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types_)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)
    writer.add_add_bos_token(False)
    # FIM token ids under the current and the older key names
    for new, old, name in (("fim_pre", "prefix", "<PRE>"), ("fim_suf", "suffix", "<SUF>"), ("fim_mid", "middle", "<MID>")):
        writer.add_uint32(f"tokenizer.ggml.{new}_token_id", fim[name])
        writer.add_uint32(f"tokenizer.ggml.{old}_token_id", fim[name])
    writer.add_uint32("tokenizer.ggml.eot_token_id", fim["<EOT>"])

    f32 = np.float32
    output = np.zeros((n_vocab, N_EMBD), dtype=f32)
    output[tokens.index(ANSWER_TOKEN)] = 1.0
    tensors = {
        "token_embd.weight": np.ones((n_vocab, N_EMBD), dtype=f32),
        "output_norm.weight": np.ones(N_EMBD, dtype=f32),
        "output.weight": output,
        "blk.0.attn_norm.weight": np.ones(N_EMBD, dtype=f32),
        "blk.0.attn_q.weight": np.zeros((N_EMBD, N_EMBD), dtype=f32),
        "blk.0.attn_k.weight": np.zeros((N_EMBD, N_EMBD), dtype=f32),
        "blk.0.attn_v.weight": np.zeros((N_EMBD, N_EMBD), dtype=f32),
        "blk.0.attn_output.weight": np.zeros((N_EMBD, N_EMBD), dtype=f32),
        "blk.0.ffn_norm.weight": np.ones(N_EMBD, dtype=f32),
        "blk.0.ffn_gate.weight": np.zeros((N_FF, N_EMBD), dtype=f32),
        "blk.0.ffn_up.weight": np.zeros((N_FF, N_EMBD), dtype=f32),
        "blk.0.ffn_down.weight": np.zeros((N_EMBD, N_FF), dtype=f32),
    }
    for name, array in tensors.items():
        writer.add_tensor(name, array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    model = tmp_path_factory.mktemp("gguf") / "tiny-fim.gguf"
    write_tiny_model(model)
    port = free_port()
    log = (model.parent / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", "tiny-fim",
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(N_CTX), "--n_threads", "1"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail("llama_cpp.server exited: " + (model.parent / "server.log").read_text()[-2000:])
            try:
                if httpx.get(url + "/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("llama_cpp.server did not start within 120 s")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "fim_server"], server_env=SERVER_ENV))
async def lsp(lsp_client: LanguageClient):
    yield
    await stop(lsp_client)


def test_the_tiny_model_answers_as_designed(llama_server):
    answer = httpx.post(llama_server + "/completions", timeout=60, json={
        "model": "tiny-fim", "prompt": "def add(a, b):\n    return ", "suffix": "\n", "max_tokens": MAX_TOKENS,
        "temperature": 0})
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["text"] == ANSWER_TOKEN * MAX_TOKENS


@pytest.mark.parametrize("stream", [True, False])
async def test_fim_server_completes_against_a_real_llama_cpp_server(lsp, llama_server, stream):
    await start(lsp, None, provider="openai", baseUrl=llama_server, model="tiny-fim", maxTokens=MAX_TOKENS,
                debounceMs=0, timeoutMs=60000, stream=stream)
    uri = "file:///work/real/calc.py"
    open_doc(lsp, uri, "def add(a, b):\n    return \n\nprint(add(1, 2))\n")
    items = await inline(lsp, uri, 1, 11)
    assert [i.insert_text for i in items] == [ANSWER_TOKEN * MAX_TOKENS]
    assert [m.message for m in lsp.messages] == []
    stats = await lsp.workspace_execute_command_async(types.ExecuteCommandParams(command="fimServer.stats"))
    assert stats["provider_calls"] == 1
    if not stream:  # llama-cpp-python sends no usage chunk in streams (stream_options is ignored)
        assert stats["completion_tokens"] == MAX_TOKENS  # usage reported by the real server
        assert stats["prompt_tokens"] > 0
