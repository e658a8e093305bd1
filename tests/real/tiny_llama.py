"""A real llama.cpp server with a tiny model this module writes itself.

The server is llama.cpp's own HTTP server (``/health``, ``/props``, ``/infill``,
``/completion``, ``/v1/completions``, ``/metrics``), compiled into the prebuilt
``xllamacpp`` wheel (no source build); it runs in a child process started with
``python -m tests.real.tiny_llama MODEL --port N [flags]``.

The model (``write_tiny_model``) is a llama-architecture GGUF with a byte-level SPM
vocabulary (so one token is about one byte of text) and the FIM tokens ``<PRE>``,
``<SUF>``, ``<MID>``, ``<EOT>``. Every embedding is the all-ones vector and the
attention and feed-forward output weights are zero, so the residual stream stays
all-ones and only the output row of ``ANSWER_TOKEN`` is non-zero: greedy decoding
answers ``ab`` at every position whatever the prompt. ``n_embd``/``n_layer`` make it
larger (the attention and feed-forward blocks still compute on every token, so prompt
evaluation costs time in proportion) for the benchmarks in bench/llama_cache.py.
"""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Iterator

ANSWER_TOKEN = "ab"
WORDS = ["▁", ANSWER_TOKEN, "▁def", "▁return", "▁print", "add", "(", ")", ":", ",", "a", "b"]


def code_vocabulary(texts: list[str], size: int = 6000) -> list[tuple[str, float]]:
    """Pieces for an SPM vocabulary that cuts source code about as coarsely as a real
    code model's tokenizer (3 to 4 characters a token rather than one): the most
    frequent substrings of 2 to 8 characters of ``texts`` (spaces as "▁"), scored by
    frequency times length. Every substring of a kept piece is at least as frequent,
    so the tokenizer's pairwise merges can always build it."""
    from collections import Counter

    counts: Counter[str] = Counter()
    for text in texts:
        text = text.replace(" ", "▁")
        for n in range(2, 9):
            counts.update(text[i : i + n] for i in range(len(text) - n + 1))
    best = sorted(((c * len(piece), piece) for piece, c in counts.items() if c >= 3), reverse=True)[:size]
    return [(piece, float(score)) for score, piece in best]


def write_tiny_model(
    path: Path,
    *,
    n_embd: int = 32,
    n_layer: int = 1,
    n_ff: int = 64,
    n_head: int = 2,
    n_ctx: int = 32768,
    pieces: list[tuple[str, float]] = (),
    fim: bool = True,
    space_prefix: bool = False,
) -> None:
    """A llama-architecture GGUF with an SPM vocabulary that has FIM tokens; ``pieces``
    (``code_vocabulary``) adds multi-character tokens, else one token is about a byte.
    ``fim=False``: a model without FIM tokens (llama.cpp refuses ``/infill``).
    ``space_prefix``: SentencePiece's space before every text that follows a special
    token (Code Llama's vocabulary does that; off, as in most code models' BPE)."""
    import gguf
    import numpy as np

    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types_ = [2, 3, 3] + [6] * 256  # UNKNOWN, CONTROL, CONTROL, BYTE...
    fim_ids: dict[str, int] = {}
    for name in ("<PRE>", "<SUF>", "<MID>", "<EOT>"):
        fim_ids[name] = len(tokens)
        tokens.append(name if fim else name.replace("<", "<not-"))  # llama.cpp also finds FIM tokens by name
        types_.append(3)
    tokens += WORDS
    types_ += [1] * len(WORDS)
    scores = [0.0] * len(tokens)
    seen = set(tokens)
    for piece, score in pieces:
        if piece not in seen:
            seen.add(piece)
            tokens.append(piece)
            types_.append(1)
            scores.append(score)
    n_vocab = len(tokens)

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("tiny-fim")
    writer.add_context_length(n_ctx)
    writer.add_embedding_length(n_embd)
    writer.add_block_count(n_layer)
    writer.add_feed_forward_length(n_ff)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_head)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_dimension_count(n_embd // n_head)
    writer.add_file_type(0)  # all F32
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types_)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)
    writer.add_add_bos_token(False)
    writer.add_add_space_prefix(space_prefix)
    # FIM token ids under the current and the older key names
    for new, old, name in (("fim_pre", "prefix", "<PRE>"), ("fim_suf", "suffix", "<SUF>"), ("fim_mid", "middle", "<MID>")):
        if fim:
            writer.add_uint32(f"tokenizer.ggml.{new}_token_id", fim_ids[name])
            writer.add_uint32(f"tokenizer.ggml.{old}_token_id", fim_ids[name])
    writer.add_uint32("tokenizer.ggml.eot_token_id", fim_ids["<EOT>"])

    f32 = np.float32
    rng = np.random.default_rng(7)
    output = np.zeros((n_vocab, n_embd), dtype=f32)
    output[tokens.index(ANSWER_TOKEN)] = 1.0
    tensors = {
        "token_embd.weight": np.ones((n_vocab, n_embd), dtype=f32),
        "output_norm.weight": np.ones(n_embd, dtype=f32),
        "output.weight": output,
    }
    for i in range(n_layer):
        # q, k, v and the feed-forward inputs are random (real work per token); the
        # output projections are zero, so nothing reaches the residual stream
        small = lambda *shape: (rng.standard_normal(shape) * 0.02).astype(f32)  # noqa: E731
        tensors.update({
            f"blk.{i}.attn_norm.weight": np.ones(n_embd, dtype=f32),
            f"blk.{i}.attn_q.weight": small(n_embd, n_embd),
            f"blk.{i}.attn_k.weight": small(n_embd, n_embd),
            f"blk.{i}.attn_v.weight": small(n_embd, n_embd),
            f"blk.{i}.attn_output.weight": np.zeros((n_embd, n_embd), dtype=f32),
            f"blk.{i}.ffn_norm.weight": np.ones(n_embd, dtype=f32),
            f"blk.{i}.ffn_gate.weight": small(n_ff, n_embd),
            f"blk.{i}.ffn_up.weight": small(n_ff, n_embd),
            f"blk.{i}.ffn_down.weight": np.zeros((n_embd, n_ff), dtype=f32),
        })
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


def server_command(
    model: Path, port: int, *, ctx: int = 4096, cache_reuse: int = 0, parallel: int = 1, threads: int = 1, batch: int = 0
) -> list[str]:
    return [sys.executable, "-m", "tests.real.tiny_llama", str(model), "--port", str(port), "--ctx", str(ctx),
            "--cache-reuse", str(cache_reuse), "--parallel", str(parallel), "--threads", str(threads), "--batch", str(batch)]


@contextlib.contextmanager
def running_server(model: Path, log: Path, *, timeout_s: float = 60, **flags) -> Iterator[str]:
    """Start the server in a child process; yield its base URL once ``/health`` is 200."""
    import httpx

    port = free_port()
    root = Path(__file__).resolve().parents[2]
    with log.open("w") as out:
        proc = subprocess.Popen(server_command(model, port, **flags), stdout=out, stderr=subprocess.STDOUT, cwd=root)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"llama.cpp server exited ({proc.returncode}): " + log.read_text()[-2000:])
                try:
                    if httpx.get(url + "/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"llama.cpp server did not start within {timeout_s:g} s: " + log.read_text()[-2000:])
                time.sleep(0.05)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="llama.cpp's server (from the xllamacpp wheel) on 127.0.0.1")
    parser.add_argument("model")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ctx", type=int, default=4096, help="context size of each slot times --parallel")
    parser.add_argument("--cache-reuse", type=int, default=0, help="llama-server --cache-reuse N")
    parser.add_argument("--parallel", type=int, default=1, help="slots (llama-server --parallel)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=0, help="llama-server -b (0: its default, 2048)")
    args = parser.parse_args(argv)

    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.model_alias = "tiny-fim"
    params.hostnames = ["127.0.0.1"]
    params.port = args.port
    params.n_ctx = args.ctx
    params.n_parallel = args.parallel
    params.n_cache_reuse = args.cache_reuse
    if args.batch:
        params.n_batch = args.batch
    params.endpoint_metrics = True
    params.endpoint_props = True
    params.endpoint_slots = True
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server = xllamacpp.Server(params)
    print(f"listening on {server.listening_address}", flush=True)
    while not stop.wait(0.5):
        pass
    del server
    return 0


if __name__ == "__main__":
    sys.exit(main())
