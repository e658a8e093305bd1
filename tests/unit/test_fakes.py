"""Tests of the fakes (fakes/server.py, wire.py, replies.py through the DeepSeek\ndialect, and the command line), driven by httpx over real sockets."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from fim_server.fakes.deepseek import DEFAULT_TEXT, FakeDeepSeek, Reply, estimate_tokens

BODY = {
    "model": "deepseek-v4-flash",
    "prompt": "def add(a, b):\n    return ",
    "suffix": "\n",
    "max_tokens": 64,
    "temperature": 0,
}


@pytest.fixture
def fake() -> Iterator[FakeDeepSeek]:
    with FakeDeepSeek() as server:
        yield server


@pytest.fixture
def client(fake: FakeDeepSeek) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake.url, timeout=5) as c:
        yield c


def sse_events(lines: list[str]) -> list[str]:
    return [line[len("data: ") :] for line in lines if line.startswith("data: ")]


def test_default_non_streaming_reply(fake: FakeDeepSeek, client: httpx.Client) -> None:
    r = client.post("/completions", json=BODY, headers={"Authorization": "Bearer k"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    doc = r.json()
    assert doc["object"] == "text_completion"
    assert doc["model"] == "deepseek-v4-flash"
    assert isinstance(doc["created"], int) and doc["id"]
    assert doc["choices"] == [{"index": 0, "text": DEFAULT_TEXT, "finish_reason": "stop", "logprobs": None}]
    usage = doc["usage"]
    assert usage["prompt_tokens"] == estimate_tokens(BODY["prompt"] + BODY["suffix"])
    assert usage["completion_tokens"] == estimate_tokens(DEFAULT_TEXT)
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["prompt_cache_hit_tokens"] == 0
    assert usage["prompt_cache_miss_tokens"] == usage["prompt_tokens"]

    (req,) = fake.completion_requests()
    assert req.method == "POST" and req.path == "/completions"
    assert req.body == BODY and json.loads(req.raw_body) == BODY
    assert req.headers["authorization"] == "Bearer k" and req.bearer == "k"
    assert req.completed.wait(1) and req.outcome == "completed"
    assert not req.client_closed.is_set()


def test_keepalive_blank_lines_before_json(fake: FakeDeepSeek, client: httpx.Client) -> None:
    fake.push(Reply(text="x + y", keepalives=3, keepalive_interval=0.01, finish_reason="length"))
    r = client.post("/beta/completions", json=BODY)
    assert r.status_code == 200
    assert r.content.startswith(b"\n\n\n{")
    doc = json.loads(r.content)
    assert doc["choices"][0]["text"] == "x + y"
    assert doc["choices"][0]["finish_reason"] == "length"


def test_streaming_with_keepalive_comments_usage_and_done(fake: FakeDeepSeek, client: httpx.Client) -> None:
    fake.push(Reply(chunks=["a", "b", "c"], keepalives=2))
    body = {**BODY, "stream": True, "stream_options": {"include_usage": True}}
    with client.stream("POST", "/v1/completions", json=body) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["transfer-encoding"] == "chunked"
        raw = r.read().decode()
    assert raw.startswith(": keep-alive\n\n: keep-alive\n\ndata: ")
    assert raw.endswith("data: [DONE]\n\n")
    events = sse_events(raw.split("\n"))
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    texts = [c["choices"][0]["text"] for c in chunks[:-1]]
    assert texts == ["a", "b", "c"]
    assert [c["choices"][0]["finish_reason"] for c in chunks[:-1]] == [None, None, "stop"]
    assert all(c["object"] == "text_completion" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == estimate_tokens("abc")


def test_streaming_without_usage_and_default_split(fake: FakeDeepSeek, client: httpx.Client) -> None:
    fake.push(Reply(text="return a + b"))
    with client.stream("POST", "/completions", json={**BODY, "stream": True}) as r:
        events = sse_events(list(r.iter_lines()))
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert 1 < len(chunks) <= 3
    assert "".join(c["choices"][0]["text"] for c in chunks) == "return a + b"
    assert all(c["choices"] for c in chunks)  # no usage chunk


def test_force_stream_overrides_request(fake: FakeDeepSeek, client: httpx.Client) -> None:
    fake.push(Reply(text="s", force_stream=True), Reply(text="j", force_stream=False))
    r1 = client.post("/completions", json=BODY)
    assert r1.headers["content-type"].startswith("text/event-stream")
    r2 = client.post("/completions", json={**BODY, "stream": True})
    assert r2.json()["choices"][0]["text"] == "j"


@pytest.mark.parametrize("status", [400, 402, 422, 429, 500, 503])
def test_error_statuses(fake: FakeDeepSeek, client: httpx.Client, status: int) -> None:
    fake.push(Reply.error(status, "boom", code="c1", retry_after=2))
    r = client.post("/completions", json=BODY)
    assert r.status_code == status
    assert r.headers["retry-after"] == "2"
    err = r.json()["error"]
    assert err["message"] == "boom" and err["code"] == "c1" and err["param"] is None
    assert isinstance(err["type"], str)
    # The connection stays usable, and the default follows.
    assert client.post("/completions", json=BODY).json()["choices"][0]["text"] == DEFAULT_TEXT
    assert len({r.connection_id for r in fake.requests}) == 1


def test_error_default_body_and_shortcuts(fake: FakeDeepSeek, client: httpx.Client) -> None:
    fake.push(Reply(status=503), Reply.rate_limited(retry_after=1))
    r = client.post("/completions", json=BODY)
    assert r.status_code == 503 and "error" in r.json()
    assert "retry-after" not in r.headers
    r = client.post("/completions", json=BODY)
    assert r.status_code == 429 and r.headers["retry-after"] == "1"


def test_wrong_api_key_gets_401_without_consuming_script() -> None:
    with FakeDeepSeek([Reply(text="scripted")], api_key="secret") as fake:
        with httpx.Client(base_url=fake.url, timeout=5) as c:
            r = c.post("/completions", json=BODY, headers={"Authorization": "Bearer nope"})
            assert r.status_code == 401
            assert r.json()["error"]["type"] == "authentication_error"
            assert c.post("/completions", json=BODY).status_code == 401  # no header at all
            r = c.post("/completions", json=BODY, headers={"Authorization": "Bearer secret"})
            assert r.json()["choices"][0]["text"] == "scripted"


def test_connection_reuse(fake: FakeDeepSeek, client: httpx.Client) -> None:
    client.post("/completions", json=BODY)
    with client.stream("POST", "/completions", json={**BODY, "stream": True}) as r:
        r.read()
    client.get("/models")
    reqs = fake.requests
    assert len(reqs) == 3
    assert len({r.connection_id for r in reqs}) == 1
    assert fake.connections_opened == 1


def test_separate_clients_get_separate_connections(fake: FakeDeepSeek) -> None:
    for _ in range(2):
        with httpx.Client(base_url=fake.url) as c:
            c.post("/completions", json=BODY)
    ids = [r.connection_id for r in fake.requests]
    assert ids[0] != ids[1]
    assert fake.connections_opened == 2


def test_drop_mid_stream(fake: FakeDeepSeek, client: httpx.Client) -> None:
    fake.push(Reply(chunks=["one", "two", "three"], drop_after_chunks=1))
    received: list[str] = []
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        with client.stream("POST", "/completions", json={**BODY, "stream": True}) as r:
            for line in r.iter_lines():
                received.append(line)
    assert any('"one"' in line for line in received)
    assert not any('"two"' in line for line in received)
    (req,) = fake.requests
    assert req.outcome == "dropped"
    assert not req.completed.is_set()
    # The client recovers on a fresh connection.
    assert client.post("/completions", json=BODY).status_code == 200
    assert fake.connections_opened == 2


def test_drop_non_streaming(fake: FakeDeepSeek, client: httpx.Client) -> None:
    fake.push(Reply(text="x", drop_after_chunks=0))
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        client.post("/completions", json=BODY)


def test_hang_then_client_closes(fake: FakeDeepSeek) -> None:
    fake.push(Reply.hanging(keepalives=1))
    with httpx.Client(base_url=fake.url, timeout=httpx.Timeout(5, read=0.3)) as c:
        with pytest.raises(httpx.ReadTimeout):
            c.post("/completions", json=BODY)
    (req,) = fake.requests
    assert req.client_closed.wait(2)
    assert req.outcome == "client_closed"
    assert not req.completed.is_set()


def test_streaming_hang_closed_by_leaving_stream(fake: FakeDeepSeek, client: httpx.Client) -> None:
    fake.push(Reply(chunks=["a", "b"], hang_after_chunks=1))
    with client.stream("POST", "/completions", json={**BODY, "stream": True}) as r:
        first = next(r.iter_lines())
        assert first.startswith("data: ")
    (req,) = fake.requests
    assert req.client_closed.wait(2)


def test_delay_then_client_gives_up(fake: FakeDeepSeek) -> None:
    fake.push(Reply(text="late", delay_before_headers=30))
    start = time.monotonic()
    with httpx.Client(base_url=fake.url, timeout=httpx.Timeout(5, read=0.2)) as c:
        with pytest.raises(httpx.ReadTimeout):
            c.post("/completions", json=BODY)
    (req,) = fake.requests
    assert req.client_closed.wait(2)
    assert time.monotonic() - start < 3


def test_latency_is_applied(fake: FakeDeepSeek, client: httpx.Client) -> None:
    fake.set_default(Reply(text="slow", delay_before_headers=0.2))
    start = time.monotonic()
    assert client.post("/completions", json=BODY).json()["choices"][0]["text"] == "slow"
    assert time.monotonic() - start >= 0.19


def test_models_listing(fake: FakeDeepSeek, client: httpx.Client) -> None:
    doc = client.get("/models").json()
    assert doc["object"] == "list"
    assert {"id": "deepseek-v4-flash", "object": "model", "owned_by": "deepseek"} in doc["data"]
    fake.set_models(["m1"])
    for path in ("/beta/models", "/v1/models"):
        assert [m["id"] for m in client.get(path).json()["data"]] == ["m1"]
    assert fake.completion_requests() == []


def test_validate_models() -> None:
    with FakeDeepSeek(validate_models=True, models=["deepseek-v4-flash"]) as fake:
        with httpx.Client(base_url=fake.url) as c:
            assert c.post("/completions", json=BODY).status_code == 200
            r = c.post("/completions", json={**BODY, "model": "nope"})
            assert r.status_code == 422 and r.json()["error"]["message"] == "Model Not Exist"


def test_bad_requests(fake: FakeDeepSeek, client: httpx.Client) -> None:
    assert client.post("/completions", content=b"not json").status_code == 400
    assert client.get("/completions").status_code == 405
    assert client.post("/nowhere", json=BODY).status_code == 404


def test_script_order_then_default_and_callable(fake: FakeDeepSeek, client: httpx.Client) -> None:
    fake.push(Reply(text="first"), lambda req: Reply(text="echo:" + req.prompt[:3]))
    fake.push(Reply(text="third"))
    texts = [client.post("/completions", json=BODY).json()["choices"][0]["text"] for _ in range(5)]
    assert texts == ["first", "echo:def", "third", DEFAULT_TEXT, DEFAULT_TEXT]
    fake.set_default(lambda req: Reply(text=str(req.json["max_tokens"])))
    assert client.post("/completions", json=BODY).json()["choices"][0]["text"] == "64"
    assert fake.pending_replies == 0


def test_cache_hit_tokens(fake: FakeDeepSeek, client: httpx.Client) -> None:
    long_prefix = "x" * 1000  # 300 tokens -> 256 cached after the first request
    client.post("/completions", json={**BODY, "prompt": long_prefix + "a", "suffix": ""})
    usage = client.post("/completions", json={**BODY, "prompt": long_prefix + "b", "suffix": ""}).json()["usage"]
    assert usage["prompt_cache_hit_tokens"] == 256
    assert usage["prompt_cache_miss_tokens"] == usage["prompt_tokens"] - 256
    fake.push(Reply(usage={"prompt_tokens": 1}))
    assert client.post("/completions", json=BODY).json()["usage"] == {"prompt_tokens": 1}


def test_wait_for_requests_and_reset(fake: FakeDeepSeek, client: httpx.Client) -> None:
    assert not fake.wait_for_requests(1, timeout=0.05)
    client.get("/models")
    client.post("/completions", json=BODY)
    assert fake.wait_for_requests(2, timeout=1)
    assert fake.wait_for_requests(1, timeout=1, completions_only=True)
    assert not fake.wait_for_requests(2, timeout=0.05, completions_only=True)
    fake.push(Reply(text="never"))
    fake.reset()
    assert fake.requests == [] and fake.connections_opened == 0 and fake.pending_replies == 0


async def test_async_client_concurrent_requests(fake: FakeDeepSeek) -> None:
    fake.set_default(Reply(text="ok", delay_before_headers=0.3))
    async with httpx.AsyncClient(base_url=fake.url, timeout=5) as c:
        start = time.monotonic()
        rs = await asyncio.gather(*(c.post("/completions", json=BODY) for _ in range(4)))
        elapsed = time.monotonic() - start
    assert all(r.json()["choices"][0]["text"] == "ok" for r in rs)
    assert elapsed < 0.9  # served concurrently (sequentially: 1.2 s)
    assert len({r.connection_id for r in fake.requests}) == 4


def test_keep_alive_connection_with_raw_socket(fake: FakeDeepSeek) -> None:
    """Two pipelined requests on one raw socket, then Connection: close."""
    body = json.dumps(BODY).encode()
    req = (
        b"POST /completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    last = req.replace(b"Host: x\r\n", b"Host: x\r\nConnection: close\r\n")
    with socket.create_connection(("127.0.0.1", fake.port), timeout=5) as s:
        s.sendall(req + last)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    assert data.count(b"HTTP/1.1 200 OK") == 2
    assert data.count(DEFAULT_TEXT.encode()) == 2
    assert len({r.connection_id for r in fake.requests}) == 1


def test_stop_is_idempotent_and_frees_hanging_requests() -> None:
    fake = FakeDeepSeek([Reply.hanging()]).start()

    def stopper() -> None:
        assert fake.wait_for_requests(1, timeout=2)
        fake.stop()

    thread = threading.Thread(target=stopper)
    start = time.monotonic()
    with httpx.Client(base_url=fake.url, timeout=5) as c:
        thread.start()
        with pytest.raises(httpx.HTTPError):
            c.post("/completions", json=BODY)
    thread.join(5)
    assert time.monotonic() - start < 3
    assert fake.requests[0].outcome == "stopped"
    fake.stop()


@pytest.mark.parametrize(
    "command, path, body, text_of",
    [
        (["-m", "fim_server.fakes"], "/completions", BODY, lambda doc: doc["choices"][0]["text"]),
        (["-m", "fim_server.fakes.deepseek"], "/beta/completions", BODY, lambda doc: doc["choices"][0]["text"]),
        (
            ["-m", "fim_server.fakes", "--provider", "ollama"], "/api/generate",
            {"model": "qwen2.5-coder:1.5b-base", "prompt": "x = ", "stream": False}, lambda doc: doc["response"],
        ),
        (
            ["-m", "fim_server.fakes", "--provider", "openai"], "/v1/completions",
            {"model": "m", "prompt": "x = "}, lambda doc: doc["choices"][0]["text"],
        ),
    ],
    ids=["fakes", "fakes.deepseek", "ollama", "openai"],
)
def test_cli_serves_and_exits_on_sigterm(command, path, body, text_of) -> None:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with subprocess.Popen(
        [sys.executable, *command, "--port", "0", "--text", "hi", "--api-key", "k"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=root,
    ) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            assert line.startswith("listening http://127.0.0.1:")
            url = line.split(" ", 1)[1]
            assert httpx.post(url + path, json=body, timeout=5).status_code == 401
            r = httpx.post(url + path, json=body, headers={"Authorization": "Bearer k"}, timeout=5)
            assert text_of(r.json()) == "hi"
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=5) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
