"""Offsets in a document come from running sums kept across edits; they must always
equal the plain sum of the line lengths before the position."""

from __future__ import annotations

import random

import pytest

from fim_server.core.documents import Document


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cached_offsets_match_the_plain_sum_after_random_edits(seed):
    rng = random.Random(seed)
    doc = Document("file:///a", "ab\ncd\r\nef\n" * 40)
    for _ in range(1500):
        n = len(doc.lines)
        line = rng.randrange(n)
        col = rng.randrange(len(doc.lines[line].rstrip("\r\n")) + 1)
        op = rng.random()
        if op < 0.5:
            doc.apply_change(rng.choice(["x", "\n", "yy\n z", "\r", "\r\n"]), (line, col), (line, col), "utf-32")
        elif op < 0.85:
            end = min(n - 1, line + rng.randrange(3))
            doc.apply_change("", (line, col), (end, 0) if end > line else (line, col), "utf-32")
        else:
            doc.apply_change("q\nw" * rng.randrange(3))
        for _ in range(2):
            at = rng.randrange(len(doc.lines))
            assert doc.offset_of(at, 2) == sum(map(len, doc.lines[:at])) + 2


def test_offset_past_the_end_clamps():
    doc = Document("file:///a", "ab\ncd")
    assert doc.offset_of(99, 0) == 5
