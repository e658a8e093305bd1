"""Helpers of the typing optimisations (pure)."""

from __future__ import annotations

import pytest

from fim_server.core.context import build_context
from fim_server.core.documents import split_lines
from fim_server.core.calls import advanced, extension
from fim_server.core.text import common_prefix_len


def ctx_at(text: str, line: int, col: int, budget: int = 8000):
    return build_context("file:///t.py", split_lines(text), line, col, max_prefix_chars=budget, max_suffix_chars=2000)


def test_advanced_equals_the_context_after_typing():
    text = "def f(a):\n    \nz = 1\n"
    before = ctx_at(text, 1, 4)
    typed = "return a"
    after = ctx_at("def f(a):\n    return a\nz = 1\n", 1, 12)
    assert advanced(before, typed) == after
    multi = advanced(before, "x = a\n    return x")
    assert multi == ctx_at("def f(a):\n    x = a\n    return x\nz = 1\n", 2, 12)


@pytest.mark.parametrize(
    "old_text, old_pos, new_text, new_pos, expected",
    [
        ("x = \n", (0, 4), "x = ab\n", (0, 6), "ab"),
        ("x = \n", (0, 4), "x = \n", (0, 4), ""),
        ("x = \n", (0, 4), "y = ab\n", (0, 6), None),  # the text before changed
        ("x = \nq\n", (0, 4), "x = ab\nr\n", (0, 6), None),  # the text after changed
        ("x = ab\n", (0, 6), "x = a\n", (0, 5), None),  # backspace
    ],
)
def test_extension(old_text, old_pos, new_text, new_pos, expected):
    assert extension(ctx_at(old_text, *old_pos), ctx_at(new_text, *new_pos)) == expected


@pytest.mark.parametrize("a, b, n", [("", "", 0), ("abc", "abd", 2), ("abc", "abc", 3), ("ab", "abc", 2), ("x" * 9000 + "a", "x" * 9000 + "b", 9000)])
def test_common_prefix_len(a, b, n):
    assert common_prefix_len(a, b) == n
