"""Trace format, generator, continuation answers and report (pure parts of the replay)."""

from __future__ import annotations

import json

import pytest

from fim_server.tools.replay.answers import continuation
from fim_server.tools.replay.generate import blocks, generate
from fim_server.tools.replay.report import Prices, build_report, cdf_svg, html_page, percentile, table
from fim_server.tools.replay.driver import TraceResult, _upcoming_keys
from fim_server.tools.replay.trace import Event, TraceError, parse_trace

SOURCE = '''"""A module."""

import os


def first(a, b):
    """Add."""
    total = a + b
    return total


def second(path):
    if os.path.exists(path):
        return open(path).read()
    return ""


class Third:
    def method(self):
        return 3
'''


@pytest.fixture
def source_file(tmp_path):
    path = tmp_path / "mod.py"
    path.write_text(SOURCE)
    return path


def test_generated_trace_types_the_file_back_exactly(source_file):
    trace = generate(source_file, seed=4, max_keys=10_000)
    assert trace.final_text() == SOURCE
    assert trace.text != SOURCE and len(trace.text) < len(SOURCE)
    assert trace.keystrokes > 50


def test_generator_is_seeded(source_file):
    assert generate(source_file, seed=9).dump() == generate(source_file, seed=9).dump()
    assert generate(source_file, seed=9).dump() != generate(source_file, seed=10).dump()


def test_typing_model_bursts_and_pauses(source_file):
    trace = generate(source_file, seed=2, max_keys=10_000)
    keys = [e.delay for e in trace.events if e.type == "key"]
    pauses = [e.delay for e in trace.events if e.type == "pause"]
    assert all(60 <= d <= 250 for d in keys)
    assert pauses and all(400 <= d <= 3000 for d in pauses)


def test_dump_and_parse_round_trip(source_file):
    trace = generate(source_file, seed=3)
    again = parse_trace(trace.dump().splitlines(), "again")
    assert again.dump() == trace.dump()
    assert again.final_text() == SOURCE


@pytest.mark.parametrize(
    "lines, message",
    [
        (['{"type": "key", "text": "a"}'], "starts with an open event"),
        (["not json"], "not JSON"),
        (['{"type": "open", "uri": "file:///a", "text": ""}', '{"type": "jump"}'], "needs a type"),
        (['{"type": "open", "uri": "file:///a", "text": ""}', '{"type": "key", "text": ""}'], "non-empty text"),
        (['{"type": "open", "uri": "file:///a", "text": ""}', '{"type": "key", "text": "a", "delay": -1}'], "from 0 to"),
        # infinity (1e400), NaN and a huge pause would sleep for ever: refused
        (['{"type": "open", "uri": "file:///a", "text": ""}', '{"type": "key", "text": "a", "delay": 1e400}'], "bad:2: 'delay'"),
        (['{"type": "open", "uri": "file:///a", "text": ""}', '{"type": "pause", "delay": NaN}'], "bad:2: 'delay'"),
        (['{"type": "open", "uri": "file:///a", "text": ""}', '{"type": "pause", "delay": 600001}'], "from 0 to 600000"),
        (['{"type": "open", "uri": "file:///a", "text": ""}', '{"type": "move", "line": 1e300, "character": 0}'], "'line'"),
        ([], "empty trace"),
    ],
)
def test_bad_traces_name_the_line(lines, message):
    with pytest.raises(TraceError, match=message):
        parse_trace(lines, "bad")


def test_backspace_and_move_in_final_text():
    trace = parse_trace(
        [
            json.dumps({"type": "open", "uri": "file:///a", "text": "ab\ncd"}),
            json.dumps({"type": "move", "line": 1, "character": 2}),
            json.dumps({"type": "key", "text": "x"}),
            json.dumps({"type": "backspace", "count": 2}),
            json.dumps({"type": "move", "line": 0, "character": 0}),
            json.dumps({"type": "key", "text": "\n  "}),
        ],
        "t",
    )
    assert trace.final_text() == "\n  ab\nc"


def test_blocks_find_top_level_definitions():
    lines = SOURCE.split("\n")
    found = [lines[s] for s, _ in blocks(lines, "python")]
    assert found == ["def first(a, b):", "def second(path):", "class Third:"]
    go = ["func A() {", "\treturn", "}", "", "func B() {}"]
    assert blocks(go, "go") == [(0, 3), (4, 5)]


@pytest.mark.parametrize(
    "prompt, stop, expected",
    [
        ("def first(a, ", (), "b):"),
        ("def first(a, b):", (), '\n    """Add."""'),
        ("    total = a + b\n    return total\n", (), "\n\ndef second(path):"[2:]),
        ("def first(a, b):", ("\n",), ""),
        ("nowhere in the file", (), ""),
    ],
)
def test_continuation_is_the_true_rest(prompt, stop, expected):
    if prompt.startswith("    total"):
        prompt = SOURCE[: SOURCE.index("    return total\n") + len("    return total\n")]
        expected = "\n\ndef second(path):"
    assert continuation(SOURCE, prompt, stop) == expected


def test_accept_only_when_the_user_goes_on_to_type_it():
    events = [Event("key", text="a"), Event("pause"), Event("key", text="bc"), Event("key", text="d")]
    assert _upcoming_keys(events, 0, "abc") == 3
    assert _upcoming_keys(events, 0, "ab") is None  # not at a key boundary
    assert _upcoming_keys(events, 0, "xyz") is None
    assert _upcoming_keys([Event("backspace")], 0, "a") is None


def _result(name, **kw):
    r = TraceResult(name, "src", "python")
    r.keystrokes, r.pauses, r.covered, r.trace_duration_s = 100, 4, 3, 60.0
    r.pause_latencies_ms = [10.0, 300.0, 320.0]
    r.server = {"provider_calls": 5, "prompt_tokens": 1000, "cache_hit_tokens": 600, "cache_miss_tokens": 400,
                "completion_tokens": 50, "prompt_chars": 1000, "prompt_shared_chars": 900}
    for k, v in kw.items():
        setattr(r, k, v)
    return r


def test_report_figures_and_cost():
    report = build_report([_result("a"), _result("b")], Prices(1.0, 0.1, 2.0), {}, {})
    total = report["total"]
    assert total["keystrokes"] == 200 and total["provider_requests"] == 10
    assert total["requests_per_keystroke"] == 0.05
    assert total["pause_coverage"] == 0.75
    assert total["pause_to_ghost_ms"] == {"p50": 300.0, "p95": 320.0}
    assert total["prompt_prefix_share"] == 0.9
    # per trace: 400 miss * 1.0 + 600 hit * 0.1 + 50 out * 2.0 = 560 per million, over one minute
    assert report["traces"][0]["cost_usd"] == pytest.approx(560e-6)
    assert report["traces"][0]["cost_usd_per_hour"] == pytest.approx(round(560e-6 * 60, 4))
    text = table(report)
    assert "requests per keystroke" in text and "0.050" in text and "75.0%" in text
    page = html_page(report)
    assert "<svg" in page and "polyline" in page and "requests per keystroke" in page


def test_percentile_and_empty_plot():
    assert percentile([], 50) is None
    assert percentile([1, 2, 3, 4], 50) == 2
    assert percentile([1, 2, 3, 4], 95) == 4
    assert "<svg" in cdf_svg({"none": []})
