"""The typing optimisations and editor feedback end to end (raw stdio client, the
real server, the fake DeepSeek), and ``fim-server replay`` itself."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

from fim_server.fakes.deepseek import FakeDeepSeek, Reply
from fim_server.tools.replay.client import StdioClient

KEY = "sk-replay-test-key"
URI = "file:///work/r.py"
ENV = {k: v for k, v in os.environ.items() if k != "DEEPSEEK_API_KEY"}


async def session(fake: FakeDeepSeek, statuses: list | None = None, **settings) -> StdioClient:
    def on_note(message: dict) -> None:
        if statuses is not None and message.get("method") == "fimServer/status":
            statuses.append(message["params"])

    client = await StdioClient.start(env=ENV, on_notification=on_note)
    await client.request(
        "initialize",
        {
            "processId": os.getpid(),
            "capabilities": {"textDocument": {"inlineCompletion": {}}},
            "initializationOptions": {"baseUrl": fake.url, "apiKey": KEY, "debounceMs": 0, **settings},
        },
    )
    client.notify("initialized", {})
    return client


def open_doc(client: StdioClient, text: str) -> None:
    client.notify("textDocument/didOpen", {"textDocument": {"uri": URI, "languageId": "python", "version": 1, "text": text}})


def type_at(client: StdioClient, version: int, line: int, col: int, text: str) -> None:
    rng = {"start": {"line": line, "character": col}, "end": {"line": line, "character": col}}
    client.notify("textDocument/didChange", {"textDocument": {"uri": URI, "version": version}, "contentChanges": [{"range": rng, "text": text}]})


def inline(client: StdioClient, line: int, col: int):
    return client.send(
        "textDocument/inlineCompletion",
        {"textDocument": {"uri": URI}, "position": {"line": line, "character": col}, "context": {"triggerKind": 2}},
    )


def texts(message: dict) -> list[str]:
    return [item["insertText"] for item in message.get("result") or []]


async def stats(client: StdioClient) -> dict:
    return await client.request("workspace/executeCommand", {"command": "fimServer.stats"})


async def test_inflight_reuse_waits_for_the_running_call_instead_of_another():
    with FakeDeepSeek([Reply(text="hello(world)", delay_before_headers=1.0)], default=Reply(text="WRONG"), api_key=KEY) as fake:
        client = await session(fake, inflightReuse=True, speculativeNext=False)
        try:
            open_doc(client, "x = \n")
            first_id, first = inline(client, 0, 4)
            assert await _until(lambda: len(fake.completion_requests()) == 1)  # the call is running
            type_at(client, 2, 0, 4, "he")
            client.cancel(first_id)  # as VS Code does
            _, second = inline(client, 0, 6)
            assert texts(await asyncio.wait_for(second, 5)) == ["llo(world)"]
            assert len(fake.completion_requests()) == 1
            counters = await stats(client)
            assert counters["inflight_reused"] == 1 and counters["provider_calls"] == 1
        finally:
            await client.close()


async def test_reuse_off_cancels_and_closes_the_connection():
    with FakeDeepSeek([Reply(text="hello(world)", delay_before_headers=1.0)], default=Reply(text="llo(there)"), api_key=KEY) as fake:
        client = await session(fake, inflightReuse=False, speculativeNext=False)
        try:
            open_doc(client, "x = \n")
            first_id, first = inline(client, 0, 4)
            assert await _until(lambda: len(fake.completion_requests()) == 1)
            type_at(client, 2, 0, 4, "he")
            client.cancel(first_id)
            _, second = inline(client, 0, 6)
            assert texts(await asyncio.wait_for(second, 5)) == ["llo(there)"]
            assert fake.completion_requests()[0].client_closed.wait(3)
            assert (await stats(client))["provider_cancelled"] == 1
        finally:
            await client.close()


async def test_speculative_request_makes_the_next_ghost_text_ready():
    def answer(req):
        # slow enough that the status (sent 30 ms after a change) shows busy, then idle
        return Reply(text="\nb = 2" if req.prompt.endswith("a = 1") else "a = 1", delay_before_headers=0.1)

    with FakeDeepSeek(default=answer, api_key=KEY) as fake:
        statuses: list = []
        client = await session(fake, statuses, speculativeNext=True)
        try:
            open_doc(client, "\n")
            _, first = inline(client, 0, 0)
            assert texts(await asyncio.wait_for(first, 5)) == ["a = 1"]
            assert await _until(lambda: len(fake.completion_requests()) == 2)
            assert fake.completion_requests()[1].prompt == "a = 1"  # asked for what follows
            await asyncio.sleep(0.2)
            type_at(client, 2, 0, 0, "a = 1")  # accept
            _, second = inline(client, 0, 5)
            assert texts(await asyncio.wait_for(second, 5)) == ["\nb = 2"]
            counters = await stats(client)
            assert counters["speculative_calls"] >= 1 and counters["cache_hits"] == 1
            assert await _until(lambda: statuses[-1:] == [{"state": "idle", "reason": ""}])
            assert {"state": "busy", "reason": ""} in statuses
        finally:
            await client.close()


async def test_status_reports_an_error_with_its_reason():
    with FakeDeepSeek(default=Reply.error(401), api_key=KEY) as fake:
        statuses: list = []
        client = await session(fake, statuses)
        try:
            open_doc(client, "x = \n")
            _, first = inline(client, 0, 4)
            await asyncio.wait_for(first, 5)
            assert await _until(lambda: any(s["state"] == "error" for s in statuses))
            error = next(s for s in statuses if s["state"] == "error")
            assert "401" in error["reason"] and KEY not in error["reason"]
        finally:
            await client.close()


async def _until(check, timeout: float = 5.0) -> bool:
    for _ in range(int(timeout / 0.02)):
        if check():
            return True
        await asyncio.sleep(0.02)
    return check()


def test_replay_command_prints_table_and_writes_json_and_html(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("import os\n\n\ndef f(a):\n    return a + 1\n\n\ndef g(b):\n    return b * 2\n")
    trace = tmp_path / "m.jsonl"
    subprocess.run([sys.executable, "-m", "fim_server", "trace", str(source), "-o", str(trace), "--keys", "30", "--seed", "1"], check=True, env=ENV)
    out = subprocess.run(
        [sys.executable, "-m", "fim_server", "replay", str(trace), "--speed", "4", "--latency-ms", "50",
         "--json", str(tmp_path / "r.json"), "--html", str(tmp_path / "r.html")],
        capture_output=True, text=True, env=ENV, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "requests per keystroke" in out.stdout and "pause coverage" in out.stdout
    assert "replay" in out.stderr and "keystrokes" in out.stderr  # the progress bar
    report = json.loads((tmp_path / "r.json").read_text())
    total = report["total"]
    assert total["keystrokes"] > 10
    assert total["provider_requests"] >= 1 and total["typing_through_hits"] >= 1
    assert "<svg" in (tmp_path / "r.html").read_text()


def test_replay_rejects_a_bad_trace(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "key", "text": "a"}\n')
    out = subprocess.run([sys.executable, "-m", "fim_server", "replay", str(bad)], capture_output=True, text=True, env=ENV, timeout=60)
    assert out.returncode == 2 and "open event" in out.stderr


def test_replay_counts_the_ghost_text_the_user_takes(tmp_path):
    # "y" typed, a pause with ghost text " = 2" (the perfect provider), Tab: 4 characters taken
    events = [
        {"type": "open", "uri": "file:///replay/g.py", "languageId": "python", "line": 1, "character": 0, "text": "x = 1\n\n", "source": "test"},
        {"type": "key", "text": "y", "delay": 100},
        {"type": "pause", "delay": 1500},
        {"type": "accept", "delay": 100},
        *({"type": "key", "text": ch, "delay": 120} for ch in " = 2"),
        {"type": "pause", "delay": 800},
    ]
    trace = tmp_path / "g.jsonl"
    trace.write_text("".join(json.dumps(e) + "\n" for e in events))
    out = subprocess.run(
        [sys.executable, "-m", "fim_server", "replay", str(trace), "--latency-ms", "50", "--quiet", "--json", str(tmp_path / "r.json")],
        capture_output=True, text=True, env=ENV, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    total = report["total"]
    assert total["accepts"] == 1 and total["ghost_chars_typed"] == 4
    assert total["ghost_chars_per_request"] == round(4 / total["provider_requests"], 2)
    assert report["languages"]["python"]["ghost_chars_typed"] == 4
    assert "ghost chars typed or accepted" in out.stdout and "coverage" in out.stdout
