"""The replay's recording tap: its parsers and totals as tables, and the pass-through
over real HTTP on 127.0.0.1 in front of the fake llama.cpp (answers unchanged, a
stream cut by the client closes the request upstream too)."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from fim_server.fakes.replies import Reply
from fim_server.fakes.llamacpp import FakeLlamaCpp
from fim_server.tools.replay.tap import Tap, combine, parse_metrics, request_lines, summarize, timings_of

T1 = {"prompt_n": 5, "cache_n": 95, "prompt_ms": 10.0, "predicted_n": 3, "predicted_ms": 30.0}
T2 = {"prompt_n": 2, "cache_n": 99, "prompt_ms": 4.0, "predicted_n": 4, "predicted_ms": 36.0}


@pytest.mark.parametrize(
    "raw, expected",
    [
        (json.dumps({"content": "x", "timings": T1}), T1),
        # a stream: the last chunk that carries timings wins
        ("data: " + json.dumps({"content": "a", "timings": T1}) + "\n\ndata: " + json.dumps({"content": "b", "timings": T2})
         + "\n\ndata: " + json.dumps({"content": "", "stop": True}) + "\n\n", T2),
        ("data: {not json\n\n", None),
        (json.dumps({"choices": [{"text": "x"}]}), None),
        ("", None),
    ],
)
def test_timings_of_answers_and_streams(raw, expected):
    assert timings_of(raw.encode()) == expected


def test_parse_metrics_reads_llama_cpp_counters():
    text = ("# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed.\n"
            "# TYPE llamacpp:prompt_tokens_total counter\nllamacpp:prompt_tokens_total 33\n"
            "llamacpp:prompt_tokens_cached_total 31\nllamacpp:prompt_seconds_total 0.25\n"
            'other{label="x"} 7\nbroken line\n')
    assert parse_metrics(text) == {"prompt_tokens_total": 33.0, "prompt_tokens_cached_total": 31.0,
                                   "prompt_seconds_total": 0.25, "other": 7.0}


def _record(index, outcome="answered", timings=None):
    timings = timings or {}
    return {"index": index, "sent_ms": 1000.0 * index, "path": "/infill", "status": 200, "outcome": outcome,
            "elapsed_ms": 50.0, "prompt_n": timings.get("prompt_n"), "cache_n": timings.get("cache_n"),
            "prompt_ms": timings.get("prompt_ms"), "predicted_n": timings.get("predicted_n"),
            "predicted_ms": timings.get("predicted_ms")}


def test_summarize_totals_the_requests_and_the_server_counters():
    records = [_record(0, timings=T1), _record(1, "cut", T2), _record(2, "cut")]
    before = {"prompt_tokens_total": 100.0, "prompt_tokens_cached_total": 0.0, "prompt_seconds_total": 1.0,
              "tokens_predicted_seconds_total": 2.0, "tokens_predicted_total": 10.0}
    after = {"prompt_tokens_total": 120.0, "prompt_tokens_cached_total": 300.0, "prompt_seconds_total": 1.5,
             "tokens_predicted_seconds_total": 2.25, "tokens_predicted_total": 17.0}
    s = summarize(records, before, after)
    assert (s["requests"], s["outcomes"], s["with_timings"]) == (3, {"answered": 1, "cut": 2}, 2)
    assert (s["prompt_evaluated"], s["prompt_reused"], s["prompt_evaluated_share"]) == (7, 194, round(7 / 201, 4))
    assert (s["prompt_eval_ms"], s["generation_ms"], s["prompt_eval_time_share"]) == (14.0, 66.0, 0.175)
    assert s["server_totals"] == {"prompt_evaluated": 20, "prompt_reused": 300, "prompt_evaluated_share": 0.0625,
                                  "prompt_eval_ms": 500.0, "generation_ms": 250.0, "generated_tokens": 7}
    assert "server_totals" not in summarize(records, {}, {})
    assert summarize([], {}, {})["prompt_evaluated_share"] is None


def test_combine_and_request_lines():
    a = summarize([_record(0, timings=T1)], {"prompt_tokens_total": 0.0}, {"prompt_tokens_total": 5.0, "prompt_tokens_cached_total": 95.0})
    b = summarize([_record(0, "cut")], {"prompt_tokens_total": 5.0}, {"prompt_tokens_total": 15.0, "prompt_tokens_cached_total": 95.0})
    total = combine([a, b, {}])
    assert total["requests"] == 2 and total["prompt_evaluated"] == 5
    assert total["server_totals"]["prompt_evaluated"] == 15 and total["server_totals"]["prompt_reused"] == 190
    assert combine([]) == {}
    lines = request_lines(a)
    assert len(lines) == 2 and lines[1].split()[:5] == ["0", "0.00", "answered", "5", "95"]
    assert request_lines(b)[1].split()[3:7] == ["-", "-", "-", "-"]


def test_the_tap_passes_answers_through_and_records_them():
    replies = [Reply(text="x = 1"), Reply(text="y = 2")]
    with FakeLlamaCpp(replies) as fake:
        tap = Tap(fake.url, keep_bodies=True).start()
        try:
            direct_health = httpx.get(fake.url + "/health").json()
            assert httpx.get(tap.url + "/health").json() == direct_health
            answer = httpx.post(tap.url + "/infill", json={"input_prefix": "a", "input_suffix": "b", "stream": False})
            assert answer.status_code == 200 and answer.json()["content"] == "x = 1"
            with httpx.stream("POST", tap.url + "/infill", json={"input_prefix": "a", "input_suffix": "b", "stream": True}) as r:
                pieces = [line for line in r.iter_lines() if line.startswith("data:")]
            assert "".join(json.loads(p[5:])["content"] for p in pieces) == "y = 2"
        finally:
            tap.stop()
        assert [req.body.get("input_prefix") for req in fake.completion_requests()] == ["a", "a"]
    records = tap.records()
    assert [(r["path"], r["status"], r["outcome"]) for r in records] == [("/health", 200, "answered"), ("/infill", 200, "answered"),
                                                                         ("/infill", 200, "answered")]
    assert records[1]["prompt_n"] is not None  # the fake's answer carries timings.prompt_n
    assert tap.exchanges[2].body == {"input_prefix": "a", "input_suffix": "b", "stream": True}
    assert "body" not in records[2]


def test_a_stream_the_client_leaves_is_closed_upstream():
    with FakeLlamaCpp([Reply(text="abcdefghij" * 50, chunks=["ab"] * 250, chunk_delay=0.02)]) as fake:
        tap = Tap(fake.url).start()
        try:
            with httpx.stream("POST", tap.url + "/infill", json={"input_prefix": "a", "stream": True}) as r:
                for _ in r.iter_lines():
                    break
            deadline = time.monotonic() + 5
            while tap.records()[0]["outcome"] == "answered" and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            tap.stop()
        assert tap.records()[0]["outcome"] == "cut"
        assert tap.records()[0]["elapsed_ms"] < 4000  # not the whole 5 s stream
        deadline = time.monotonic() + 5
        while fake.completion_requests()[0].outcome in (None, "") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert fake.completion_requests()[0].outcome == "client_closed"


def test_rewrite_changes_the_request_on_its_way():
    with FakeLlamaCpp([Reply(text="z")]) as fake:
        tap = Tap(fake.url, rewrite=lambda path, body: (path, {**body, "cache_prompt": False})).start()
        try:
            httpx.post(tap.url + "/infill", json={"input_prefix": "a", "cache_prompt": True, "stream": False})
        finally:
            tap.stop()
        assert fake.completion_requests()[0].body["cache_prompt"] is False


def test_the_key_goes_upstream_and_nowhere_else():
    canary = "sk-canary-TAP-0f9e8d7c6b5a"
    with FakeLlamaCpp([Reply(text="ok")]) as fake:
        tap = Tap(fake.url, keep_bodies=True).start()
        try:
            answer = httpx.post(tap.url + "/infill", headers={"Authorization": f"Bearer {canary}"},
                                json={"input_prefix": "a", "stream": False})
        finally:
            tap.stop()
        assert answer.status_code == 200
        assert fake.completion_requests()[0].headers.get("authorization") == f"Bearer {canary}"
    summary = summarize(tap.records(), {}, {})
    assert canary not in json.dumps(summary) and canary not in "\n".join(request_lines(summary))
