"""A recording pass-through between fim-server and a real provider (``replay --real``).

fim-server's ``baseUrl`` points here; each request goes on unchanged to the real
server and its answer comes back unchanged, piece by piece, as it arrives. When
fim-server closes a connection early (a superseded request), the tap closes its own
request upstream too, so the server stops as it would without the tap.

Per request the tap keeps what the server itself said it did: llama.cpp's
``timings`` (``prompt_n`` tokens evaluated, ``cache_n`` taken from the KV cache,
``prompt_ms``, ``predicted_ms``), the last one seen in the answer or stream (a
stream cut early has one only when its chunks carry them, ``timings_per_token``).
``metrics()`` reads the server's ``/metrics`` totals, which also count the prompts
of requests cut before their end.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import json
import threading
import time
from typing import Any, Callable

import httpx

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "accept-encoding", "content-encoding"}
KEEP_BYTES = 1 << 20  # of each answer, to find its timings


@dataclass
class Exchange:
    index: int
    sent_ms: float  # since the tap started
    path: str
    status: int = 0
    outcome: str = "open"  # answered | cut (fim-server left first) | failed
    elapsed_ms: float = 0.0
    prompt_n: int | None = None  # llama.cpp timings: prompt tokens evaluated
    cache_n: int | None = None  # prompt tokens reused from the KV cache
    prompt_ms: float | None = None
    predicted_n: int | None = None
    predicted_ms: float | None = None
    body: dict[str, Any] | None = field(default=None, repr=False)  # the request, when kept


def timings_of(raw: bytes) -> dict[str, Any] | None:
    """The last ``timings`` object in a JSON answer or an SSE stream."""
    found = None
    text = raw.decode("utf-8", "replace")
    chunks = [line[5:].strip() for line in text.splitlines() if line.startswith("data:")] or [text]
    for chunk in chunks:
        try:
            data = json.loads(chunk)
        except ValueError:
            continue
        if isinstance(data, dict) and isinstance(data.get("timings"), dict):
            found = data["timings"]
    return found


Rewrite = Callable[[str, dict], "tuple[str, dict]"]  # (path, JSON body) -> (path, JSON body)


class Tap:
    """``rewrite`` (benchmarks only) changes each JSON request on its way: a request
    knob fim-server does not have (bench/llama_cache.py)."""

    def __init__(self, upstream: str, keep_bodies: bool = False, rewrite: Rewrite | None = None) -> None:
        self.upstream = upstream.rstrip("/")
        self.keep_bodies = keep_bodies
        self.rewrite = rewrite
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        self._started = time.perf_counter()
        self._client = httpx.Client(timeout=httpx.Timeout(120.0, connect=10.0))
        tap = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # one request per connection; the answer ends when it closes

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                tap._forward(self, "GET")

            def do_POST(self) -> None:
                tap._forward(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="replay-tap", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "Tap":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()

    def _forward(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("content-length") or 0)
        body = handler.rfile.read(length) if length else b""
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP_HEADERS}
        with self._lock:
            exchange = Exchange(len(self.exchanges), (time.perf_counter() - self._started) * 1000, handler.path)
            self.exchanges.append(exchange)
        path = handler.path
        if (self.keep_bodies or self.rewrite) and body:
            try:
                data = json.loads(body)
            except ValueError:
                data = None
            if isinstance(data, dict) and self.rewrite is not None:
                path, data = self.rewrite(path, data)
                body = json.dumps(data).encode()
                exchange.path = path
            exchange.body = data if self.keep_bodies else None
        started = time.perf_counter()
        kept = bytearray()
        try:
            with self._client.stream(method, self.upstream + path, content=body, headers=headers) as answer:
                exchange.status = answer.status_code
                handler.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower() not in HOP_HEADERS:
                        handler.send_header(key, value)
                handler.end_headers()
                exchange.outcome = "answered"
                for piece in answer.iter_raw():
                    if len(kept) < KEEP_BYTES:
                        kept += piece
                    try:
                        handler.wfile.write(piece)
                        handler.wfile.flush()
                    except OSError:  # fim-server closed its connection: close ours
                        exchange.outcome = "cut"
                        break
        except httpx.HTTPError as exc:
            exchange.outcome = "failed"
            if not exchange.status:
                try:
                    handler.send_error(502, f"replay tap: {type(exc).__name__}")
                except OSError:
                    pass
        exchange.elapsed_ms = (time.perf_counter() - started) * 1000
        timings = timings_of(bytes(kept))
        if timings:
            exchange.prompt_n = _int(timings.get("prompt_n"))
            exchange.cache_n = _int(timings.get("cache_n"))
            exchange.prompt_ms = _float(timings.get("prompt_ms"))
            exchange.predicted_n = _int(timings.get("predicted_n"))
            exchange.predicted_ms = _float(timings.get("predicted_ms"))

    def records(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{k: v for k, v in asdict(e).items() if k != "body"} for e in self.exchanges]

    def metrics(self) -> dict[str, float]:
        """The server's Prometheus counters (llama.cpp with --metrics), {} when it has none."""
        try:
            answer = self._client.get(self.upstream + "/metrics", timeout=5)
        except httpx.HTTPError:
            return {}
        if answer.status_code != 200:
            return {}
        return parse_metrics(answer.text)


def parse_metrics(text: str) -> dict[str, float]:
    values: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        try:
            values[name.split(":", 1)[-1].split("{", 1)[0]] = float(value)
        except ValueError:
            continue
    return values


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def summarize(records: list[dict[str, Any]], before: dict[str, float], after: dict[str, float]) -> dict[str, Any]:
    """Totals over the requests (from their timings) and, when the server has
    ``/metrics``, over everything it did meanwhile (cut requests included)."""
    timed = [r for r in records if r.get("prompt_n") is not None]
    evaluated = sum(r["prompt_n"] for r in timed)
    reused = sum(r.get("cache_n") or 0 for r in timed)
    prompt_ms = sum(r.get("prompt_ms") or 0.0 for r in timed)
    predicted_ms = sum(r.get("predicted_ms") or 0.0 for r in timed)
    outcomes: dict[str, int] = {}
    for r in records:
        outcomes[r["outcome"]] = outcomes.get(r["outcome"], 0) + 1
    summary: dict[str, Any] = {
        "requests": len(records),
        "outcomes": outcomes,
        "with_timings": len(timed),
        "prompt_evaluated": evaluated,
        "prompt_reused": reused,
        "prompt_evaluated_share": round(evaluated / (evaluated + reused), 4) if evaluated + reused else None,
        "prompt_eval_ms": round(prompt_ms, 1),
        "generation_ms": round(predicted_ms, 1),
        "prompt_eval_time_share": round(prompt_ms / (prompt_ms + predicted_ms), 4) if prompt_ms + predicted_ms else None,
        "per_request": records,
    }
    if before and after:
        delta = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
        all_evaluated = delta.get("prompt_tokens_total", 0.0)
        all_reused = delta.get("prompt_tokens_cached_total", 0.0)
        summary["server_totals"] = {
            "prompt_evaluated": int(all_evaluated),
            "prompt_reused": int(all_reused),
            "prompt_evaluated_share": round(all_evaluated / (all_evaluated + all_reused), 4) if all_evaluated + all_reused else None,
            "prompt_eval_ms": round(delta.get("prompt_seconds_total", 0.0) * 1000, 1),
            "generation_ms": round(delta.get("tokens_predicted_seconds_total", 0.0) * 1000, 1),
            "generated_tokens": int(delta.get("tokens_predicted_total", 0.0)),
        }
    return summary


def combine(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """One summary over several traces' summaries (their requests one after another)."""
    summaries = [s for s in summaries if s]
    if not summaries:
        return {}
    records = [r for s in summaries for r in s.get("per_request", [])]
    total = summarize(records, {}, {})
    totals = [s["server_totals"] for s in summaries if "server_totals" in s]
    if totals:
        merged = {k: sum(t.get(k) or 0 for t in totals) for k in ("prompt_evaluated", "prompt_reused", "prompt_eval_ms", "generation_ms", "generated_tokens")}
        both = merged["prompt_evaluated"] + merged["prompt_reused"]
        merged["prompt_evaluated_share"] = round(merged["prompt_evaluated"] / both, 4) if both else None
        total["server_totals"] = merged
    return total


def request_lines(summary: dict[str, Any]) -> list[str]:
    """One line per request: when, outcome, tokens evaluated and reused, prompt and generation ms."""
    out = [f"{'#':>4} {'sent s':>8} {'outcome':<9} {'evaluated':>9} {'reused':>7} {'prompt ms':>9} {'gen ms':>8} {'total ms':>8}"]
    for r in summary.get("per_request", []):
        cells = [_cell(r.get(k), fmt) for k, fmt in (("prompt_n", "{}"), ("cache_n", "{}"), ("prompt_ms", "{:.1f}"), ("predicted_ms", "{:.1f}"))]
        out.append(f"{r['index']:>4} {r['sent_ms'] / 1000:>8.2f} {r['outcome']:<9} {cells[0]:>9} {cells[1]:>7} {cells[2]:>9} {cells[3]:>8} {r['elapsed_ms']:>8.1f}")
    return out


def _cell(value: Any, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)
