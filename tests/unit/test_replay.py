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


BRACE_SOURCES = {
    "go": "package p\n\n// T holds.\ntype T struct {\n\tn int // count\n}\n\nfunc (t *T) Add(v int) int {\n\t/* keep */\n\tif v > 0 {\n\t\tt.n += v\n\t}\n\treturn t.n\n}\n",
    "rust": "use std::fmt;\n\npub(crate) fn parse(s: &str) -> usize {\n    // the length\n    s.len()\n}\n\nimpl fmt::Display for T {\n    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {\n        write!(f, \"t\")\n    }\n}\n\npub const unsafe fn raw() -> u8 {\n    0\n}\n",
    "typescript": "import { x } from './x';\n\nexport interface Options {\n  limit: number;\n}\n\nexport const twice = (n: number): number => {\n  return n * 2; // doubled\n};\n\nexport abstract class Base<T> {\n  abstract run(): T;\n}\n\nexport function* ids() {\n  yield 1;\n}\n",
}


@pytest.mark.parametrize(
    "language, expected",
    [
        ("go", ["type T struct {", "func (t *T) Add(v int) int {"]),
        ("rust", ["pub(crate) fn parse(s: &str) -> usize {", "impl fmt::Display for T {", "pub const unsafe fn raw() -> u8 {"]),
        ("typescript", ["export interface Options {", "export const twice = (n: number): number => {", "export abstract class Base<T> {", "export function* ids() {"]),
    ],
)
def test_blocks_in_brace_languages_take_the_closing_line(language, expected):
    lines = BRACE_SOURCES[language].split("\n")
    found = blocks(lines, language)
    assert [lines[s] for s, _ in found] == expected
    assert all(lines[e - 1].startswith("}") for _, e in found)  # each block ends with its closer


@pytest.mark.parametrize("language, name", [("go", "t.go"), ("rust", "t.rs"), ("typescript", "t.ts")])
def test_traces_from_brace_languages_type_the_file_back_exactly(tmp_path, language, name):
    path = tmp_path / name
    path.write_text(BRACE_SOURCES[language])
    trace = generate(path, seed=3, max_keys=10_000)
    assert trace.language_id == language
    assert trace.final_text() == BRACE_SOURCES[language]
    enters = [e.text for e in trace.events if e.type == "key" and e.text.startswith("\n")]
    if language == "go":  # Enter carries the tabs Go indents with
        assert "\n\t\t" in enters and not any(" " in e for e in enters)


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


@pytest.mark.parametrize(
    "language, lines, expected",
    [
        # a signature over several lines whose ")" is at column 0
        ("typescript", ["export function f<T>(", "  a: T", "): T {", "  return a; // } not the end", "}", "", "function g() {}"], [(0, 5), (6, 7)]),
        # a label at column 0 and a raw string with lines at column 0 inside the function
        ("go", ["func f() string {", "loop:", "\tfor {", "\t\tbreak loop", "\t}", "\treturn `a", "}`", "}", "func g() bool"], [(0, 8), (8, 9)]),
        # Rust's where clause at column 0, lifetimes and a '{' character
        ("rust", ["fn f<'a, T>(x: &'a T) -> char", "where", "    T: Debug,", "{", "    '{'", "}"], [(0, 6)]),
    ],
)
def test_blocks_follow_the_brackets_not_column_zero(language, lines, expected):
    assert blocks(lines, language) == expected


def test_report_per_language_and_ghost_chars():
    results = [_result("a", ghost_chars=30), _result("b", ghost_chars=10, language="go"), _result("c", ghost_chars=0, language="go", covered=4)]
    report = build_report(results, Prices(), {}, {})
    assert report["traces"][0]["ghost_chars_per_request"] == 6.0  # 30 characters over 5 requests
    assert report["total"]["ghost_chars_typed"] == 40
    go = report["languages"]["go"]
    assert go["traces"] == ["b", "c"] and go["keystrokes"] == 200 and go["provider_requests"] == 10
    assert go["pause_coverage"] == 0.875 and go["ghost_chars_per_request"] == 1.0
    assert report["languages"]["python"]["pause_coverage"] == 0.75
    text = table(report)
    assert "ghost chars typed or accepted" in text
    assert [line.split()[0] for line in text.split("language", 1)[1].splitlines()[2:]] == ["python", "go"]
    assert "Per language" in html_page(report) and "87.5%" in html_page(report)
