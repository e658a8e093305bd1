"""How much of each prompt a real llama.cpp server evaluates again while a person types.

Starts llama.cpp's own server (the ``xllamacpp`` wheel, extra ``real``) with a tiny
model written here whose tokenizer cuts code about as coarsely as a real code model's
(``tests/real/tiny_llama.py``; about 2.7 characters a token on Python), then replays a
typing trace into the real ``fim-server`` (provider ``llamacpp``) in real time, once
per configuration, each on a fresh server (cold cache). The replay's tap records
llama.cpp's own ``timings`` per request and its ``/metrics`` totals, which count
requests cut short too. Request knobs fim-server does not have (``cache_prompt``
off, ``id_slot``, suffix-prefix-middle order, where extra context goes) are applied
by the tap to fim-server's requests on their way.

The tiny model answers ``ab`` at every position and never stops by itself, so
``maxTokens`` is 16; its times are those of a model of 32-wide layers on one thread,
far below a real model's. The token counts are what the server's cache logic does
and do not depend on the model's size.

    python bench/llama_cache.py [--trace FILE] [--keys N] [--only NAME...] [--json FILE]

``--latency`` instead measures time to ghost text with prompt evaluation that costs
time: a larger model (256 wide, 4 layers: about 1 ms a token on one thread here) and
the same typing once as it is (a short prompt) and once below 24,000 characters of
other code (``maxPrefixChars`` 24,000 and ``-b 8192``, so the server keeps all of it:
a prompt of about 8,000 tokens when the whole prefix is sent).
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass, field, replace
import json
from pathlib import Path
import sys
import tempfile
import time
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from fim_server.settings import set_items  # noqa: E402
from fim_server.tools.replay.driver import ReplayOptions, replay_trace  # noqa: E402
from fim_server.tools.replay.report import Prices, build_report  # noqa: E402
from fim_server.tools.replay.trace import Trace, load_trace  # noqa: E402
from tests.real.tiny_llama import code_vocabulary, running_server, write_tiny_model  # noqa: E402

# another file's text, as workspace context would bring it (stable across requests)
EXTRA_TEXT = "".join(f"def helper_{i}(value, *, scale={i}):\n    return value * scale + {i}\n\n" for i in range(40))


def _no_cache(path: str, body: dict) -> tuple[str, dict]:
    return path, {**body, "cache_prompt": False}


def _pin(path: str, body: dict) -> tuple[str, dict]:
    return path, {**body, "id_slot": 0}


def _raw(order: str) -> Callable[[str, dict], tuple[str, dict]]:
    """/infill -> /completion with a raw prompt in the tiny model's FIM tokens."""

    def rewrite(path: str, body: dict) -> tuple[str, dict]:
        if path != "/infill":
            return path, body
        rest = {k: v for k, v in body.items() if not k.startswith("input_")}
        extra = "".join(f"{c['filename']}\n{c['text']}\n" for c in body.get("input_extra") or [])
        pre, suf = body.get("input_prefix", ""), body.get("input_suffix", "")
        prompt = f"<SUF>{suf}<PRE>{pre}<MID>" if order == "spm" else f"<PRE>{pre}<SUF>{suf}<MID>"
        return "/completion", {**rest, "prompt": extra + prompt}

    return rewrite


def _extra(where: str) -> Callable[[str, dict], tuple[str, dict]]:
    counter = iter(range(1 << 30))

    def rewrite(path: str, body: dict) -> tuple[str, dict]:
        if path != "/infill":
            return path, body
        if where == "input_extra":
            return path, {**body, "input_extra": [{"filename": "helpers.py", "text": EXTRA_TEXT}]}
        if where == "prefix_start":
            return path, {**body, "input_prefix": "# helpers.py\n" + EXTRA_TEXT + body["input_prefix"]}
        # input_extra whose content changes at every request (an edit log with the newest edit first)
        return path, {**body, "input_extra": [{"filename": "edits.txt", "text": f"edit {next(counter)}\n"},
                                              {"filename": "helpers.py", "text": EXTRA_TEXT}]}

    return rewrite


@dataclass
class Config:
    name: str
    knob: str
    cache_reuse: int = 256
    parallel: int = 1
    batch: int = 0  # 0: the server's default (2048)
    settings: dict[str, Any] = field(default_factory=dict)
    rewrite: Callable[[str, dict], tuple[str, dict]] | None = None
    long: bool = False  # the trace below FILLER_CHARS of other code (--latency)


# the tiny model's FIM tokens are codellama's (<PRE>, <SUF>, <MID>); its file name names no
# family, so with template "auto" fim-server uses /infill, with "codellama" the raw layout
LINE_LAST = {"template": "codellama"}

CONFIGS = [
    Config("line-last", "cursor line last, raw /completion (template codellama), --cache-reuse 256", settings=LINE_LAST),
    Config("line-last-reuse0", "cursor line last, raw /completion, without --cache-reuse", cache_reuse=0, settings=LINE_LAST),
    Config("reuse0", "llama-server without --cache-reuse", cache_reuse=0),
    Config("reuse16", "--cache-reuse 16", cache_reuse=16),
    Config("reuse64", "--cache-reuse 64", cache_reuse=64),
    Config("reuse256", "--cache-reuse 256 (the baseline of the rows below)"),
    Config("no-cache-prompt", "cache_prompt: false", rewrite=_no_cache),
    Config("batch4096", "-b 4096 (the server keeps more of a long prefix)", batch=4096),
    Config("slots4", "--parallel 4, no id_slot", parallel=4),
    Config("slots4-pinned", "--parallel 4, id_slot 0", parallel=4, rewrite=_pin),
    Config("raw-psm", "prefix-suffix-middle, raw /completion", rewrite=_raw("psm")),
    Config("raw-spm", "suffix-prefix-middle, raw /completion (as --spm-infill)", rewrite=_raw("spm")),
    Config("extra-input", "2.3k chars of other-file context as input_extra (stable)", rewrite=_extra("input_extra")),
    Config("extra-prefix", "the same context at the start of input_prefix", rewrite=_extra("prefix_start")),
    Config("extra-changing", "input_extra whose first chunk changes at every request", rewrite=_extra("changing")),
]


FILLER_CHARS = 24_000
LATENCY_CONFIGS = [
    Config("short", "short prompt (the trace as it is)", batch=8192),
    Config("long", "long prompt (24,000 characters of code above)", batch=8192, long=True,
           settings={"maxPrefixChars": FILLER_CHARS}),
]


def below_filler(trace: Trace) -> Trace:
    """The trace with about FILLER_CHARS of other code above its text (moves shifted)."""
    source = ROOT / "fim_server" / "core" / "engine.py"  # any Python code of this project
    text = source.read_text(encoding="utf-8")
    filler = (text * (FILLER_CHARS // len(text) + 1))[:FILLER_CHARS]
    filler = filler[: filler.rfind("\n") + 1]
    shift = filler.count("\n")
    events = [replace(e, line=e.line + shift) if e.type == "move" else e for e in trace.events]
    return replace(trace, text=filler + trace.text, line=trace.line + shift, events=events)


def first_keys(trace: Trace, keys: int) -> Trace:
    """The trace up to its ``keys``-th keystroke."""
    if keys <= 0 or trace.keystrokes <= keys:
        return trace
    events, count = [], 0
    for event in trace.events:
        events.append(event)
        count += event.type in ("key", "backspace")
        if count >= keys:
            break
    return replace(trace, events=events)


def model_file(folder: Path, larger: bool = False) -> Path:
    texts = [json.loads(p.read_text().splitlines()[0])["text"] for p in sorted((ROOT / "bench" / "traces").glob("*.jsonl"))]
    path = folder / "tiny-code.gguf"
    size = dict(n_embd=256, n_layer=4, n_ff=1024, n_head=4) if larger else {}
    write_tiny_model(path, n_ctx=65536, pieces=code_vocabulary(texts), **size)
    return path


def run(config: Config, trace: Trace, model: Path, folder: Path) -> dict[str, Any]:
    flags = dict(ctx=8192 * config.parallel, cache_reuse=config.cache_reuse, parallel=config.parallel)
    if config.batch:
        flags["batch"] = config.batch
    if config.long:
        trace = below_filler(trace)
    with running_server(model, folder / f"{config.name}.log", **flags) as url:
        settings = {"provider": "llamacpp", "baseUrl": url, "maxTokens": 16, "timeoutMs": 30000, **config.settings}
        options = ReplayOptions(settings=settings, fake=False, tap_upstream=url, tap_rewrite=config.rewrite)
        result = asyncio.run(replay_trace(trace, options))
    row = build_report([result], Prices(), settings, {})["total"]
    engine = row["engine"] or {}
    totals = engine.get("server_totals") or {}
    requests = max(1, engine.get("requests", 0))
    return {
        "config": config.name,
        "knob": config.knob,
        "requests": engine.get("requests", 0),
        "requests_per_keystroke": row["requests_per_keystroke"],
        "evaluated": totals.get("prompt_evaluated"),
        "reused": totals.get("prompt_reused"),
        "evaluated_share": totals.get("prompt_evaluated_share"),
        "evaluated_per_request": round(totals.get("prompt_evaluated", 0) / requests),
        "prompt_eval_ms": totals.get("prompt_eval_ms"),
        "generation_ms": totals.get("generation_ms"),
        "pause_coverage": row["pause_coverage"],
        "pause_to_ghost_p50_ms": row["pause_to_ghost_ms"]["p50"],
        "pause_to_ghost_p95_ms": row["pause_to_ghost_ms"]["p95"],
        "prompt_tokens_per_request": round((totals.get("prompt_evaluated", 0) + totals.get("prompt_reused", 0)) / requests),
        "prompt_eval_ms_per_request": round((totals.get("prompt_eval_ms") or 0) / requests, 1),
        "prompt_eval_time_share": engine.get("prompt_eval_time_share"),
        "per_request": engine.get("per_request", []),
    }


def markdown(rows: list[dict[str, Any]]) -> str:
    out = ["| knob | requests | req/key | prompt tokens evaluated | reused | evaluated share | evaluated per request | prompt eval ms | generation ms | pause coverage | pause to ghost p50 ms |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        share = "-" if r["evaluated_share"] is None else f"{r['evaluated_share']:.1%}"
        cover = "-" if r["pause_coverage"] is None else f"{r['pause_coverage']:.0%}"
        out.append(f"| {r['knob']} | {r['requests']} | {r['requests_per_keystroke']:.3f} | {r['evaluated']} | {r['reused']} | {share} | "
                   f"{r['evaluated_per_request']} | {r['prompt_eval_ms']:.0f} | {r['generation_ms']:.0f} | {cover} | {r['pause_to_ghost_p50_ms']} |")
    return "\n".join(out)


def latency_markdown(rows: list[dict[str, Any]]) -> str:
    out = ["| prompt | prompt tokens per request | evaluated share | prompt eval ms per request | prompt eval share of server time "
           "| pause to ghost p50 ms | p95 ms | pause coverage |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        share = "-" if r["prompt_eval_time_share"] is None else f"{r['prompt_eval_time_share']:.0%}"
        cover = "-" if r["pause_coverage"] is None else f"{r['pause_coverage']:.0%}"
        evaluated = "-" if r["evaluated_share"] is None else f"{r['evaluated_share']:.1%}"
        out.append(f"| {r['knob']} | {r['prompt_tokens_per_request']} | {evaluated} | {r['prompt_eval_ms_per_request']} | {share} | "
                   f"{r['pause_to_ghost_p50_ms']} | {r['pause_to_ghost_p95_ms']} | {cover} |")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trace", default=str(ROOT / "bench" / "traces" / "python-textwrap.jsonl"))
    parser.add_argument("--keys", type=int, default=300, help="replay the trace up to this keystroke (0: all)")
    parser.add_argument("--only", nargs="*", help="configuration names")
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--latency", action="store_true", help="time to ghost text, short and long prompt, larger model")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a fim-server setting for every row")
    args = parser.parse_args()
    extra = set_items(args.set)
    trace = first_keys(load_trace(args.trace), args.keys)
    configs = [replace(c, settings={**c.settings, **extra}) for c in (LATENCY_CONFIGS if args.latency else CONFIGS)
               if not args.only or c.name in args.only]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model = model_file(folder, larger=args.latency)
        for config in configs:
            started = time.perf_counter()
            rows.append(run(config, trace, model, folder))
            print(f"{config.name}: {time.perf_counter() - started:.0f} s, evaluated share {rows[-1]['evaluated_share']}", file=sys.stderr)
    print(f"trace {Path(args.trace).name}, {trace.keystrokes} keystrokes, {trace.duration_ms / 1000:.0f} s of typing, real time")
    print(latency_markdown(rows) if args.latency else markdown(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
