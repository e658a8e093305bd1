"""Play traces into the real server over stdio, as an editor does.

Per keystroke: ``didChange`` (one incremental change at the cursor), then
``textDocument/inlineCompletion`` (triggerKind Automatic); a request still open
when the next one is sent gets ``$/cancelRequest`` (VS Code cancels the token of
the superseded request). Accept inserts the ghost text as one change; dismiss
hides it. The provider is the one in the settings, or the fake DeepSeek started
here with a configurable latency and answer source.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

from fim_server.core.documents import UTF16, Document, codepoints_to_units, line_content
from fim_server.core.text import common_prefix_len
from fim_server.providers.catalog import KEY_VARIABLES
from fim_server.tools.replay.answers import ContinuationAnswers, FixedAnswers
from fim_server.tools.replay.client import StdioClient, rss_kib
from fim_server.tools.replay.prompts import in_place_shares
from fim_server.tools.replay.trace import Trace, advance, back

PAUSE_MS = 500
FAKE_KEY = "sk-replay-fake-key"
CANCELLED = -32800


@dataclass
class ReplayOptions:
    settings: dict[str, Any] = field(default_factory=dict)  # fimServer settings (wire names)
    fake: bool = True  # start the fake DeepSeek; False: the provider in the settings
    latency_ms: float = 300.0
    answers: str = "continuation"  # or "fixed:TEXT"
    chunk_delay_ms: float = 10.0
    speed: float = 1.0  # >1 plays faster than recorded
    keystrokes: int = 0  # >0: repeat the trace until this many keystrokes
    memory_every: int = 1000
    server_args: tuple[str, ...] = ()
    # --real: the provider's URL; the requests pass through a recording tap (tap.py)
    tap_upstream: str | None = None
    keep_bodies: bool = False  # keep each request body the tap saw (bench/llama_cache.py)
    tap_rewrite: Any = None  # tap.Rewrite: a request knob fim-server lacks (bench/llama_cache.py)
    workspace: str | None = None  # a folder the server indexes (repository context), as an editor's workspace folder


def _folder(workspace: str | None) -> dict[str, Any]:
    if not workspace:
        return {}
    uri = Path(workspace).resolve().as_uri()
    return {"rootUri": uri, "workspaceFolders": [{"uri": uri, "name": Path(workspace).name}]}


async def _indexed(client, timeout_s: float = 300.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stats = await client.request("workspace/executeCommand", {"command": "fimServer.stats"})
        if stats.get("repo_walked"):
            return
        await asyncio.sleep(0.2)


@dataclass
class TraceResult:
    name: str
    source: str
    language: str
    keystrokes: int = 0
    accepts: int = 0
    accepts_refused: int = 0  # Tab pressed but the ghost text was not what follows (or none)
    dismisses: int = 0
    inline_requests: int = 0
    editor_cancels: int = 0
    answered_cancelled: int = 0
    pauses: int = 0  # pauses of >= 500 ms at the place being typed (not ended by a cursor move)
    pauses_before_move: int = 0
    covered: int = 0
    pause_latencies_ms: list[float] = field(default_factory=list)
    duration_s: float = 0.0
    trace_duration_s: float = 0.0
    server: dict[str, Any] = field(default_factory=dict)
    fake: dict[str, Any] = field(default_factory=dict)
    memory_kib: list[tuple[int, int]] = field(default_factory=list)
    status_notifications: int = 0
    ghost_chars: int = 0  # characters typed while the ghost text showed them, or accepted with Tab
    uncovered: list[dict[str, Any]] = field(default_factory=list)  # where pauses ended without ghost text
    engine: dict[str, Any] = field(default_factory=dict)  # what the real server said it did (tap.summarize)
    bodies: list[Any] = field(default_factory=list)  # the request bodies, with keep_bodies
    moves: list[float] = field(default_factory=list)  # time.monotonic() of each cursor move (a jump)
    received: list[float] = field(default_factory=list)  # time.monotonic() the fake got each body, with keep_bodies


class _Session:
    """One server, one document, the editor's view of the ghost text."""

    def __init__(self, client: StdioClient, trace: Trace, speed: float) -> None:
        self.client = client
        self.trace = trace
        self.speed = speed
        self.version = 1
        self.doc = Document(trace.uri, trace.text)
        self.line, self.col = trace.line, trace.character
        self.latest: int | None = None
        self.latest_future: asyncio.Future | None = None
        self.latest_sent = 0.0
        self.shown: tuple[str, float] | None = None  # ghost text and when it appeared
        self.result: TraceResult | None = None

    def open(self) -> None:
        self.client.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": self.trace.uri, "languageId": self.trace.language_id, "version": 1, "text": self.trace.text}},
        )

    def position(self, line: int, col: int) -> dict[str, int]:
        return {"line": line, "character": codepoints_to_units(line_content(self.doc.lines[line]), col, UTF16)}

    def change(self, start: tuple[int, int], end: tuple[int, int], text: str) -> None:
        self.version += 1
        self.client.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": self.trace.uri, "version": self.version},
                "contentChanges": [{"range": {"start": self.position(*start), "end": self.position(*end)}, "text": text}],
            },
        )
        self.doc.apply_change(text, start, end, "utf-32")

    def insert(self, text: str) -> None:
        self.change((self.line, self.col), (self.line, self.col), text)
        self.line, self.col = advance(self.line, self.col, text)

    def delete_back(self, count: int) -> None:
        start = back(self.doc.lines, self.line, self.col, count)
        end = (self.line, self.col)
        if start != end:
            self.change(start, end, "")
        self.line, self.col = start

    def move(self, line: int, col: int) -> None:
        line = max(0, min(line, len(self.doc.lines) - 1))
        self.line, self.col = line, max(0, min(col, len(line_content(self.doc.lines[line]))))

    def request(self) -> None:
        """inlineCompletion at the cursor; the previous open request is cancelled."""
        assert self.result is not None
        if self.latest_future is not None and not self.latest_future.done():
            self.client.cancel(self.latest)  # type: ignore[arg-type]
            self.result.editor_cancels += 1
        self.shown = None
        msg_id, future = self.client.send(
            "textDocument/inlineCompletion",
            {
                "textDocument": {"uri": self.trace.uri},
                "position": self.position(self.line, self.col),
                "context": {"triggerKind": 2},
            },
        )
        self.result.inline_requests += 1
        self.latest, self.latest_future, self.latest_sent = msg_id, future, time.perf_counter()
        future.add_done_callback(lambda f, msg_id=msg_id: self._answered(msg_id, f))

    def _answered(self, msg_id: int, future: asyncio.Future) -> None:
        if future.cancelled() or future.exception() is not None:
            return
        message = future.result()
        if "error" in message:
            if message["error"].get("code") == CANCELLED and self.result is not None:
                self.result.answered_cancelled += 1
            return
        if msg_id != self.latest:
            return
        items = message.get("result") or []
        if isinstance(items, dict):
            items = items.get("items") or []
        if items and items[0].get("insertText"):
            text = items[0]["insertText"]
            self.shown = (text if isinstance(text, str) else text.get("value", ""), time.perf_counter())


def _upcoming_keys(events, index: int, text: str) -> int | None:
    """How many key events from ``index`` type exactly ``text`` (None: they do not)."""
    typed = ""
    n = index
    while len(typed) < len(text) and n < len(events):
        event = events[n]
        if event.type == "key":
            typed += event.text
        elif event.type != "pause":
            return None
        n += 1
    return n - index if typed == text else None


async def replay_trace(
    trace: Trace,
    options: ReplayOptions,
    progress: Callable[[str, int], None] | None = None,
) -> TraceResult:
    progress = progress or (lambda name, keys: None)
    result = TraceResult(trace.name, trace.source, trace.language_id)
    fake = None
    settings = dict(options.settings)
    env = dict(os.environ)
    if options.fake:
        from fim_server.fakes.deepseek import FakeDeepSeek

        latency = options.latency_ms / 1000
        if options.answers.startswith("fixed:"):
            source: Any = FixedAnswers(options.answers[len("fixed:") :], latency)
        else:
            source = ContinuationAnswers(trace.final_text(), latency, chunk_delay_s=options.chunk_delay_ms / 1000)
        fake = FakeDeepSeek(default=source, api_key=FAKE_KEY).start()
        settings.update(baseUrl=fake.url, apiKey=FAKE_KEY)
        for name in KEY_VARIABLES:  # no real key in a process that talks to the fake
            env.pop(name, None)
    tap = None
    if options.tap_upstream:
        from fim_server.tools.replay.tap import Tap

        tap = Tap(options.tap_upstream, keep_bodies=options.keep_bodies, rewrite=options.tap_rewrite).start()
        settings["baseUrl"] = tap.url
        metrics_before = tap.metrics()

    def on_notification(message: dict) -> None:
        if message.get("method") == "fimServer/status":
            result.status_notifications += 1

    client = await StdioClient.start(options.server_args, env=env, on_notification=on_notification)
    session = _Session(client, trace, options.speed)
    session.result = result
    try:
        await client.request(
            "initialize",
            {
                "processId": os.getpid(),
                "capabilities": {
                    "general": {"positionEncodings": ["utf-16"]},
                    "textDocument": {"inlineCompletion": {}, "synchronization": {}},
                    "workspace": {},
                },
                "initializationOptions": settings,
                **_folder(options.workspace),
            },
            timeout=120,  # ten servers starting side by side on a busy machine take a while; the clock starts after
        )
        client.notify("initialized", {})
        if options.workspace:  # the index built before typing starts, as in an editor open a while
            await _indexed(client)
        session.open()
        started = time.perf_counter()
        clock = started
        trace_ms = 0.0
        since_action_ms = 0.0
        last_action = started
        target = max(1, options.keystrokes)
        memory_every = max(1, options.memory_every)
        rounds = 0
        while result.keystrokes < target:
            if rounds:  # play it again: reopen the document as it was
                client.notify("textDocument/didClose", {"textDocument": {"uri": trace.uri}})
                session.doc = Document(trace.uri, trace.text)
                session.line, session.col = trace.line, trace.character
                session.version = 1
                session.open()
            rounds += 1
            events = trace.events
            i = 0
            while i < len(events):
                event = events[i]
                i += 1
                clock += event.delay / 1000 / options.speed
                trace_ms += event.delay
                since_action_ms += event.delay
                wait = clock - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
                if event.type == "pause":
                    continue
                now = time.perf_counter()
                if since_action_ms >= PAUSE_MS and event.type == "move":
                    # a pause that ends by moving away (the function is finished, or the
                    # document just opened): no ghost text is waited for here
                    result.pauses_before_move += 1
                elif since_action_ms >= PAUSE_MS and result.inline_requests:
                    result.pauses += 1
                    if session.shown is not None and session.latest_sent >= last_action - 1e-9:
                        result.covered += 1
                        result.pause_latencies_ms.append((session.shown[1] - last_action) * 1000 * options.speed)
                    elif len(result.uncovered) < 200:
                        text = line_content(session.doc.lines[session.line])
                        result.uncovered.append(
                            {"event": i, "line": session.line, "before": text[: session.col][-60:], "after": text[session.col :][:30],
                             "answered": bool(session.latest_future and session.latest_future.done())}
                        )
                since_action_ms = 0.0
                if event.type == "dismiss":
                    result.dismisses += 1
                    session.shown = None
                    last_action = now
                    continue
                if event.type == "key":
                    if session.shown is not None and session.shown[0].startswith(event.text):
                        result.ghost_chars += len(event.text)  # the user typed what the ghost text showed
                    session.insert(event.text)
                    result.keystrokes += 1
                elif event.type == "backspace":
                    session.delete_back(event.count)
                    result.keystrokes += 1
                elif event.type == "move":
                    session.move(event.line, event.character)
                    result.moves.append(time.monotonic())
                elif event.type == "accept":
                    shown = session.shown[0] if session.shown else ""
                    skip = _upcoming_keys(events, i, shown) if shown else None
                    if skip is None:
                        result.accepts_refused += 1
                        last_action = now
                        continue
                    session.insert(shown)
                    result.accepts += 1
                    result.ghost_chars += len(shown)
                    i += skip  # the user does not type what was accepted
                last_action = now
                session.request()
                if result.keystrokes % memory_every == 0 and event.type in ("key", "backspace"):
                    result.memory_kib.append((result.keystrokes, rss_kib(client.proc.pid).get("VmRSS", 0)))
                progress(trace.name, result.keystrokes)
                if result.keystrokes >= target and options.keystrokes:
                    break
        await asyncio.sleep(0.5)  # let the last answers arrive
        result.duration_s = time.perf_counter() - started
        result.trace_duration_s = trace_ms / 1000
        result.server = await client.request("workspace/executeCommand", {"command": "fimServer.stats"}) or {}
        memory = rss_kib(client.proc.pid)
        result.server["rss_kib"] = memory.get("VmRSS", 0)
        result.server["peak_rss_kib"] = memory.get("VmHWM", 0)
    finally:
        await client.close()
        if fake is not None:
            fake.stop()
        if tap is not None:
            metrics_after = tap.metrics()
            tap.stop()
    if tap is not None:
        from fim_server.tools.replay.tap import summarize

        result.engine = summarize(tap.records(), metrics_before, metrics_after)
        result.bodies = [e.body for e in tap.exchanges] if options.keep_bodies else []
    if fake is not None:
        requests = fake.completion_requests()
        outcomes: dict[str, int] = {}
        for req in requests:
            outcomes[req.outcome or "open"] = outcomes.get(req.outcome or "open", 0) + 1
        prompts = [req.prompt for req in requests if isinstance(req.prompt, str)]
        in_place, in_place_chars = in_place_shares(
            prompts, [req.received_at for req in requests if isinstance(req.prompt, str)], result.moves)
        if options.keep_bodies:  # bench/prompt_breaks.py: where each prompt stops repeating the last
            result.bodies = [req.json for req in requests]
            result.received = [req.received_at for req in requests]
        result.fake = {
            "completion_requests": len(requests),
            "outcomes": outcomes,
            "connections_opened": fake.connections_opened,
            "prompt_chars": sum(map(len, prompts)),
            "shared_prefix_chars": sum(common_prefix_len(a, b) for a, b in zip(prompts, prompts[1:])),
            "prompt_shares": [round(common_prefix_len(a, b) / len(b), 4) if b else 1.0 for a, b in zip(prompts, prompts[1:])],
            "window_shared_in_place": in_place,  # not after a cursor move (prompts.py)
            "window_chars_in_place": in_place_chars,
        }
    return result


class Progress:
    """One line on stderr: keystrokes replayed out of the total."""

    def __init__(self, total: int, stream=None) -> None:
        self.total = max(1, total)
        self.done: dict[str, int] = {}
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._last_tenth = -1

    def __call__(self, name: str, keys: int) -> None:
        self.done[name] = keys
        count = sum(self.done.values())
        share = min(1.0, count / self.total)
        if self.tty:
            bar = "#" * int(share * 30)
            self.stream.write(f"\rreplay [{bar:<30}] {share:4.0%} {count}/{self.total} keystrokes")
            self.stream.flush()
        elif int(share * 10) != self._last_tenth:
            self._last_tenth = int(share * 10)
            self.stream.write(f"replay {share:4.0%} {count}/{self.total} keystrokes\n")
            self.stream.flush()

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


async def replay_all(traces: list[Trace], options: ReplayOptions, show_progress: bool = True) -> list[TraceResult]:
    """Replay the traces side by side (one server and one fake each)."""
    per_trace = options.keystrokes or 0
    total = sum(per_trace or t.keystrokes for t in traces)
    bar = Progress(total) if show_progress else None
    try:
        if options.tap_upstream:  # one real server: one trace at a time, so its figures are the trace's own
            return [await replay_trace(t, options, bar) for t in traces]
        return list(await asyncio.gather(*(replay_trace(t, options, bar) for t in traces)))
    finally:
        if bar is not None:
            bar.finish()
