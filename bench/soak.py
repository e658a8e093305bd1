"""Soak: a long typing session across many documents, looking for leaks.

Replays N keystrokes (default 100,000) against the real ``fim-server`` over stdio,
with the fake DeepSeek on 127.0.0.1 (in this process, so its connection count can
be read). Keystrokes go to many documents in bursts, as a user types words: each
keystroke is a ``didChange`` plus an ``inlineCompletion`` request sent without
waiting, so most requests are superseded by the next keystroke, as in an editor;
the last request of each word is awaited. Along the way it backspaces, breaks
lines, closes and reopens documents, and now and then the provider fails
(a 503 or a dropped stream) so the failure paths run too.

Every ``--sample`` keystrokes it records the server's resident memory and the
counters of the ``fimServer.stats`` command (asyncio tasks, open file
descriptors, open HTTP connections, pending request handlers). At the end it
compares the second half of the memory samples with the first and checks that
tasks, descriptors and connections came back to their level after warm-up.

    python bench/soak.py [--keystrokes 100000] [--documents 40] [--json FILE]

Exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))
from lsp_client import StdioClient, rss_kib  # noqa: E402

from fim_server.fakes.deepseek import FakeDeepSeek, Reply  # noqa: E402

KEY = "soak-key-0123456789"
WORDS = ["value", "total", "alpha", "beta", "gamma", "result", "index", "items", "self", "return", "None", "print", "中文", "naïve", "😀"]
# limits of the checks
MEMORY_GROWTH_LIMIT = 0.05  # second half vs first half, as a fraction
MEMORY_GROWTH_FLOOR_KIB = 3 * 1024  # small absolute wobble allowed on short runs
MAX_HTTP_CONNECTIONS = 4  # the client's keep-alive pool


def document(i: int) -> str:
    body = [f"def function_{i}_{j}(alpha, beta):\n    return alpha + beta * {j}\n\n" for j in range(40)]
    return f"# document {i}\nimport os\n\n" + "".join(body)


class Doc:
    def __init__(self, uri: str, text: str) -> None:
        self.uri = uri
        self.lines = text.split("\n")
        self.version = 1


def reply_for(rng: random.Random):
    def reply(req) -> Reply:
        roll = rng.random()
        if roll < 0.002:
            return Reply.overloaded()
        if roll < 0.004:
            return Reply.dropped(after_chunks=1, text="partial_answer()")
        prompt = req.prompt if isinstance(req.prompt, str) else ""
        return Reply(text=f"completion_{len(prompt) % 113}(x)")

    return reply


async def soak(
    keystrokes: int = 100_000, documents: int = 40, sample: int = 1000, seed: int = 7, quiet: bool = False, steady: bool = False
) -> dict:
    """``steady``: every typed word is deleted again (one more keystroke), so the
    documents keep their size and any memory growth is the server's own."""
    rng = random.Random(seed)
    fake = FakeDeepSeek(api_key=KEY, default=reply_for(rng)).start()
    client = await StdioClient.start()
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    try:
        await client.request(
            "initialize",
            {
                "processId": None,
                "rootUri": None,
                "capabilities": {"textDocument": {"inlineCompletion": {}}},
                "initializationOptions": {"baseUrl": fake.url, "apiKey": KEY, "debounceMs": 2, "timeoutMs": 2000},
            },
        )
        client.notify("initialized", {})
        docs: list[Doc] = []
        for i in range(documents):
            doc = Doc(f"file:///soak/module_{i}.py", document(i))
            docs.append(doc)
            client.notify(
                "textDocument/didOpen",
                {"textDocument": {"uri": doc.uri, "languageId": "python", "version": 1, "text": "\n".join(doc.lines)}},
            )

        def change(doc: Doc, line: int, start: int, end: int, text: str) -> None:
            doc.version += 1
            client.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": doc.uri, "version": doc.version},
                    "contentChanges": [
                        {"range": {"start": {"line": line, "character": start}, "end": {"line": line, "character": end}}, "text": text}
                    ],
                },
            )

        def ask(doc: Doc, line: int, col: int):
            return asyncio.ensure_future(
                client.request(
                    "textDocument/inlineCompletion",
                    {"textDocument": {"uri": doc.uri}, "position": {"line": line, "character": col}, "context": {"triggerKind": 2}},
                )
            )

        def utf16(text: str) -> int:
            return len(text.encode("utf-16-le")) // 2

        samples: list[dict] = []
        typed = 0
        answered_with_text = 0
        started = time.perf_counter()
        next_sample = 0
        while typed < keystrokes:
            doc = rng.choice(docs)
            line = rng.randrange(len(doc.lines))
            col = len(doc.lines[line])
            futures = []
            action = rng.random()
            if action < 0.01 and typed > 0:  # close and reopen: the server forgets and relearns it
                client.notify("textDocument/didClose", {"textDocument": {"uri": doc.uri}})
                doc.version = 1
                client.notify(
                    "textDocument/didOpen",
                    {"textDocument": {"uri": doc.uri, "languageId": "python", "version": 1, "text": "\n".join(doc.lines)}},
                )
            word = rng.choice(WORDS) + rng.choice([" ", "(", ".", "", ""])
            word_start = utf16(doc.lines[line])
            for ch in word:
                change(doc, line, utf16(doc.lines[line]), utf16(doc.lines[line]), ch)
                doc.lines[line] += ch
                futures.append(ask(doc, line, utf16(doc.lines[line])))
                typed += 1
            if steady:  # select the word and delete it
                change(doc, line, word_start, utf16(doc.lines[line]), "")
                doc.lines[line] = doc.lines[line][: len(doc.lines[line]) - len(word)]
                typed += 1
            elif action > 0.9 and doc.lines[line]:  # a backspace
                n = utf16(doc.lines[line])
                last = doc.lines[line][-1]
                change(doc, line, n - utf16(last), n, "")
                doc.lines[line] = doc.lines[line][:-1]
                futures.append(ask(doc, line, utf16(doc.lines[line])))
                typed += 1
            elif action > 0.8:  # a line break: the next word starts a new line
                n = utf16(doc.lines[line])
                change(doc, line, n, n, "\n")
                doc.lines[line : line + 1] = [doc.lines[line], ""]
                typed += 1
            results = await asyncio.wait_for(asyncio.gather(*futures), 30)
            answered_with_text += sum(1 for r in results if r)
            if typed >= next_sample:
                next_sample += sample
                stats = await client.request("workspace/executeCommand", {"command": "fimServer.stats", "arguments": []})
                mem = rss_kib(client.proc.pid)
                samples.append({"keystrokes": typed, "rss_kib": mem["VmRSS"], "seconds": time.perf_counter() - started, **stats})
                if not quiet and len(samples) % 10 == 0:
                    say(f"{typed:>7} keystrokes  rss {mem['VmRSS'] / 1024:6.1f} MiB  tasks {stats['asyncio_tasks']}  fds {stats['open_fds']}  http {stats['http_connections']}")
        elapsed = time.perf_counter() - started
        await asyncio.sleep(0.5)  # let the last superseded calls finish
        final = await client.request("workspace/executeCommand", {"command": "fimServer.stats", "arguments": []})
        final_rss = rss_kib(client.proc.pid)
        # consistency: the server's copy of every document equals ours
        mismatched = 0
        for doc in docs:
            text = await client.request("workspace/executeCommand", {"command": "fimServer.documentText", "arguments": [doc.uri]})
            mismatched += text != "\n".join(doc.lines)
        fake_connections = fake.active_connections
        provider_requests = len(fake.completion_requests())
    finally:
        await client.close()
        fake.stop()

    half = len(samples) // 2
    first = [s["rss_kib"] for s in samples[:half]]
    second = [s["rss_kib"] for s in samples[half:]]
    warm = samples[min(len(samples) - 1, max(1, len(samples) // 10))]  # after warm-up: 10 % in
    report = {
        "keystrokes": typed,
        "documents": documents,
        "steady": steady,
        "seconds": round(elapsed, 1),
        "keystrokes_per_second": round(typed / elapsed),
        "provider_requests": provider_requests,
        "answers_with_text": answered_with_text,
        "rss_first_half_mean_mib": round(statistics.mean(first) / 1024, 2),
        "rss_second_half_mean_mib": round(statistics.mean(second) / 1024, 2),
        "rss_first_half_max_mib": round(max(first) / 1024, 2),
        "rss_second_half_max_mib": round(max(second) / 1024, 2),
        "rss_final_mib": round(final_rss["VmRSS"] / 1024, 2),
        "rss_peak_mib": round(final_rss["VmHWM"] / 1024, 2),
        "memory_growth": round(statistics.mean(second) / statistics.mean(first) - 1, 4),
        "tasks_after_warmup": warm["asyncio_tasks"],
        "tasks_final": final["asyncio_tasks"],
        "fds_after_warmup": warm["open_fds"],
        "fds_max": max(s["open_fds"] for s in samples),
        "fds_final": final["open_fds"],
        "http_connections_max": max(s["http_connections"] for s in samples),
        "http_connections_final": final["http_connections"],
        "fake_open_connections_final": fake_connections,
        "pending_handlers_final": final["pending_handlers"],
        "open_documents_final": final["open_documents"],
        "documents_mismatched": mismatched,
        "server_stats": {k: v for k, v in final.items() if isinstance(v, int)},
    }
    report["problems"] = check(report, documents)
    return report


def check(r: dict, documents: int) -> list[str]:
    problems = []
    growth_kib = (r["rss_second_half_mean_mib"] - r["rss_first_half_mean_mib"]) * 1024
    if r["memory_growth"] > MEMORY_GROWTH_LIMIT and growth_kib > MEMORY_GROWTH_FLOOR_KIB:
        problems.append(f"memory grew {r['memory_growth']:.1%} ({growth_kib:.0f} KiB) from the first half to the second")
    if r["tasks_final"] > r["tasks_after_warmup"] + 1:
        problems.append(f"asyncio tasks: {r['tasks_after_warmup']} after warm-up, {r['tasks_final']} at the end")
    if r["fds_final"] > r["fds_after_warmup"] + 2:
        problems.append(f"file descriptors: {r['fds_after_warmup']} after warm-up, {r['fds_final']} at the end")
    if r["http_connections_max"] > MAX_HTTP_CONNECTIONS + 4 or r["http_connections_final"] > MAX_HTTP_CONNECTIONS:
        problems.append(f"HTTP connections: up to {r['http_connections_max']}, {r['http_connections_final']} at the end")
    if r["fake_open_connections_final"] > MAX_HTTP_CONNECTIONS:
        problems.append(f"{r['fake_open_connections_final']} connections still open at the provider")
    if r["pending_handlers_final"] > 1:
        problems.append(f"{r['pending_handlers_final']} request handlers still pending")
    if r["open_documents_final"] != documents:
        problems.append(f"{r['open_documents_final']} documents open, expected {documents}")
    if r["documents_mismatched"]:
        problems.append(f"{r['documents_mismatched']} documents differ between the server and the client")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keystrokes", type=int, default=100_000)
    parser.add_argument("--documents", type=int, default=40)
    parser.add_argument("--sample", type=int, default=1000, help="keystrokes between samples")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--steady", action="store_true", help="delete every word again: documents keep their size")
    parser.add_argument("--json", help="write the report here")
    args = parser.parse_args()
    report = asyncio.run(soak(args.keystrokes, args.documents, args.sample, args.seed, steady=args.steady))
    for key, value in report.items():
        if key not in ("server_stats", "problems"):
            print(f"{key:32} {value}")
    print(f"{'server_stats':32} {json.dumps(report['server_stats'])}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2), encoding="utf-8")
    for problem in report["problems"]:
        print("FAIL:", problem)
    print("soak:", "FAIL" if report["problems"] else "ok")
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
