"""Server overhead per inline completion and memory over a long typing session.

Runs the real ``fim-server`` over stdio against the fake DeepSeek (a separate
process on 127.0.0.1, answering at once) with a 5,000-line document, and prints:

* round trip per inline completion that calls the provider, and the server's own
  part of it (round trip minus the provider call the server timed), p50 / p99;
* round trip per typing-through answer (no provider call), p50 / p99;
* resident memory after 1,000, 5,000 and 10,000 keystrokes, and the peak.

    python bench/bench_server.py [--requests N] [--keystrokes N] [--lines N] [--json FILE]

``--lines 500`` and ``--lines 50000`` compare a small and a large document (the
cursor is in the middle): a keystroke must not cost more in the large one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lsp_client import StdioClient, rss_kib  # noqa: E402

URI = "file:///bench/big.py"
SUGGESTION = "completion_of_a_reasonable_length(argument_one, argument_two)"


def big_document(lines: int = 5000) -> str:
    out = []
    i = 0
    while len(out) < lines:
        out += [
            f"def function_{i}(alpha, beta, gamma=None):",
            f'    """Compute the value number {i} from alpha and beta."""',
            "    total = alpha + beta",
            "    if gamma is not None:",
            f"        total *= gamma + {i}",
            "    return total",
            "",
        ]
        i += 1
    return "\n".join(out[:lines]) + "\n"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def start_fake() -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "fim_server.fakes", "--port", "0", "--text", SUGGESTION, "--api-key", "bench-key"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    return proc, line.split()[-1]


class Session:
    def __init__(self, client: StdioClient, line: int = 2500) -> None:
        self.client = client
        self.version = 1
        self.line = line
        self.col = 0

    def type(self, text: str) -> None:
        self.version += 1
        self.client.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": URI, "version": self.version},
                "contentChanges": [
                    {
                        "range": {
                            "start": {"line": self.line, "character": self.col},
                            "end": {"line": self.line, "character": self.col},
                        },
                        "text": text,
                    }
                ],
            },
        )
        if text == "\n":
            self.line += 1
            self.col = 0
        else:
            self.col += len(text)

    async def inline(self) -> tuple[float, list]:
        started = time.perf_counter()
        result = await self.client.request(
            "textDocument/inlineCompletion",
            {
                "textDocument": {"uri": URI},
                "position": {"line": self.line, "character": self.col},
                "context": {"triggerKind": 2},
            },
        )
        return time.perf_counter() - started, result or []


async def run(requests: int, keystrokes: int, lines: int = 5000) -> dict:
    fake, url = start_fake()
    client = await StdioClient.start(env=dict(os.environ))
    try:
        await client.request(
            "initialize",
            {
                "processId": os.getpid(),
                "capabilities": {"textDocument": {"inlineCompletion": {}}},
                "initializationOptions": {"baseUrl": url, "apiKey": "bench-key", "debounceMs": 0, "speculativeNext": False,
                                          "inflightReuse": False},
            },
        )
        client.notify("initialized", {})
        client.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": URI, "languageId": "python", "version": 1, "text": big_document(lines)}},
        )
        # the blank line between two functions nearest the middle: typing there (at the
        # top level) keeps the code around valid, so the syntax check lets the
        # suggestions through and typing into them is answered from memory
        session = Session(client, (lines // 2) // 7 * 7 + 6)
        session.type("\n")

        # warm-up: imports, connection, caches
        for _ in range(50):
            session.type("q")
            await session.inline()
        await client.request("workspace/executeCommand", {"command": "fimServer.providerTimes"})

        # 1. provider calls: each keystroke ("q") moves the cursor, so every request is new
        round_trips = []
        for _ in range(requests):
            session.type("q")
            elapsed, items = await session.inline()
            assert items and items[0]["insertText"] == SUGGESTION, items
            round_trips.append(elapsed)
        provider = await client.request("workspace/executeCommand", {"command": "fimServer.providerTimes"})
        assert len(provider) == requests, (len(provider), requests)
        own = [rt - p for rt, p in zip(round_trips, provider)]

        # 2. typing through the shown suggestion: answered from memory
        before = await client.request("workspace/executeCommand", {"command": "fimServer.stats"})
        typing = []
        for n in range(requests):
            if n % (len(SUGGESTION) - 1) == 0:
                session.type("\n")
                await session.inline()  # shows SUGGESTION (a provider call)
            session.type(SUGGESTION[n % (len(SUGGESTION) - 1)])
            elapsed, items = await session.inline()
            assert items and items[0]["insertText"] == SUGGESTION[n % (len(SUGGESTION) - 1) + 1 :], items
            typing.append(elapsed)
        after = await client.request("workspace/executeCommand", {"command": "fimServer.stats"})
        through = after.get("typing_through", 0) - before.get("typing_through", 0)
        assert through == len(typing), f"{through} of {len(typing)} answers came from typing-through"

        # 3. memory over a long session: keystrokes with a completion request each
        memory = {"start": rss_kib(client.proc.pid)["VmRSS"]}
        text = "value = compute(alpha, beta) + other_function(gamma)\n"
        marks = {1000, keystrokes // 2, keystrokes}
        for k in range(1, keystrokes + 1):
            session.type(text[k % len(text)])
            await session.inline()
            if k in marks:
                memory[str(k)] = rss_kib(client.proc.pid)["VmRSS"]
        memory["peak"] = rss_kib(client.proc.pid)["VmHWM"]
        stats = await client.request("workspace/executeCommand", {"command": "fimServer.stats"})
    finally:
        await client.close()
        fake.terminate()
        fake.wait(10)

    ms = lambda v: round(v * 1000, 3)  # noqa: E731
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "document_lines": lines,
        "provider_call": {
            "requests": requests,
            "round_trip_ms": {"p50": ms(percentile(round_trips, 50)), "p99": ms(percentile(round_trips, 99))},
            "server_own_ms": {"p50": ms(percentile(own, 50)), "p99": ms(percentile(own, 99))},
            "provider_ms": {"p50": ms(statistics.median(provider))},
        },
        "typing_through": {
            "requests": len(typing),
            "round_trip_ms": {"p50": ms(percentile(typing, 50)), "p99": ms(percentile(typing, 99))},
        },
        "memory_kib": memory,
        "keystrokes": keystrokes,
        "server_stats": {k: stats.get(k, 0) for k in ("provider_calls", "typing_through", "cache_hits", "pending_handlers", "open_documents")},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--keystrokes", type=int, default=10_000)
    parser.add_argument("--lines", type=int, default=5000, help="lines in the document (default 5000)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()
    result = asyncio.run(run(args.requests, args.keystrokes, args.lines))
    pc, tt, mem = result["provider_call"], result["typing_through"], result["memory_kib"]
    print(f"fim-server benchmark ({result['machine']}), {result['document_lines']:,}-line document, instant fake DeepSeek")
    print(f"inline completion with provider call ({pc['requests']} requests):")
    print(f"  round trip over stdio   p50 {pc['round_trip_ms']['p50']:.2f} ms   p99 {pc['round_trip_ms']['p99']:.2f} ms")
    print(f"  server's own time       p50 {pc['server_own_ms']['p50']:.2f} ms   p99 {pc['server_own_ms']['p99']:.2f} ms"
          f"   (provider call itself p50 {pc['provider_ms']['p50']:.2f} ms)")
    print(f"typing-through answer ({tt['requests']} requests):")
    print(f"  round trip over stdio   p50 {tt['round_trip_ms']['p50']:.2f} ms   p99 {tt['round_trip_ms']['p99']:.2f} ms")
    marks = ", ".join(f"{k}: {v / 1024:.1f} MiB" for k, v in mem.items() if k not in ("start", "peak"))
    print(f"memory over {result['keystrokes']} keystrokes: start {mem['start'] / 1024:.1f} MiB, {marks}, peak {mem['peak'] / 1024:.1f} MiB")
    print(f"server counters: {result['server_stats']}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
