"""The replay reads the fake's prompts back: the snippets' comment blocks split
from the file window, and the window's share for requests not after a cursor move."""

from __future__ import annotations

import pytest

from fim_server.providers.base import commented_blocks
from fim_server.tools.replay.prompts import after_move, in_place_shares, split_prompt

SNIPPETS = (("pkg/a.py", "def f(x):\n\n    return x\n"), ("b.py", "X = 1\n"))


@pytest.mark.parametrize("marker", ["#", "//", "--"])
@pytest.mark.parametrize("window", ["import os\n\ndef g():\n    re", "", "# Path: looks like a header but is code\n"])
def test_split_prompt_finds_the_window_after_the_snippets(marker, window):
    blocks, found = split_prompt(commented_blocks(SNIPPETS, marker) + window)
    if window.startswith("# Path:") and marker == "#":
        return  # a window that opens like a snippet header is taken for one (the figure's known limit)
    assert found == window
    assert len(blocks) == 2 and blocks[0].startswith(f"{marker} Path: pkg/a.py\n")


def test_a_prompt_without_snippets_is_all_window():
    assert split_prompt("x = 1\ny = ") == ([], "x = 1\ny = ")


def test_after_move():
    assert after_move([1.0, 2.0, 3.0, 4.0], [2.5]) == [True, False, True, False]
    assert after_move([], [1.0]) == []


def test_in_place_shares_leave_out_the_first_request_and_those_after_a_move():
    head = commented_blocks(SNIPPETS, "#")
    prompts = [head + "abc", "abcd", head + "zz"]
    shared, total = in_place_shares(prompts, [1.0, 2.0, 3.0], [2.5])
    # only the second counts: its window "abcd" repeats the first's "abc" (the snippets it lost do not count)
    assert (shared, total) == (3, 4)


def test_the_report_prints_the_in_place_and_whole_prompt_shares_beside_the_headline():
    from fim_server.tools.replay.driver import TraceResult
    from fim_server.tools.replay.report import Prices, build_report, table

    results = []
    for name, in_place in (("a", (90, 100)), ("b", (290, 300))):
        r = TraceResult(name, "src", "python")
        r.keystrokes, r.trace_duration_s = 100, 60.0
        r.server = {"provider_calls": 5, "prompt_chars": 1000, "prompt_shared_chars": 800}
        r.fake = {"window_shared_in_place": in_place[0], "window_chars_in_place": in_place[1],
                  "shared_prefix_chars": 700, "prompt_chars": 1000}
        results.append(r)
    report = build_report(results, Prices(), {}, {})
    assert report["traces"][0]["prompt_prefix_share"] == 0.8  # the headline: the server's count, unchanged
    assert report["traces"][0]["prompt_prefix_share_in_place"] == 0.9
    assert report["total"]["prompt_prefix_share_in_place"] == 0.95  # 380 of 400
    assert report["total"]["prompt_prefix_share_whole"] == 0.7
    text = table(report)
    assert "not after a cursor move" in text and "95.0%" in text and "whole prompt (snippets too)" in text
