"""The answer filters, one table per module, and the whole pipeline on golden cases."""

from __future__ import annotations

import pytest

from cursor import ctx_at
from fim_server.core import postprocess
from fim_server.core.postprocess import auto_closed, blank, fim_tokens, line_endings, single_line, suffix_overlap, trailing_whitespace


def test_pipeline_order():
    assert postprocess.BEFORE_CACHE == (("fim_tokens", fim_tokens.apply),)
    names = [name for name, _ in postprocess.AFTER_CACHE]
    # line endings last: every other filter works on "\n"
    assert postprocess.AFTER_CACHE[-1] == ("line_endings", line_endings.apply)
    # single-line decided on the line as shown; then auto-closed, so the later filters
    # see the line without the replaced closers
    assert postprocess.AFTER_CACHE[0] == ("single_line", single_line.apply)
    assert postprocess.AFTER_CACHE[1] == ("auto_closed", auto_closed.apply)
    assert names.index("single_line") < names.index("suffix_overlap") < names.index("scope_limit")
    assert names.index("trailing_whitespace") < names.index("min_length") < names.index("syntax")


# -- fim_tokens ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("x + 1<|endoftext|>garbage", "x + 1"),
        ("<｜fim▁end｜>rest", ""),
        ("a<｜end▁of▁sentence｜>", "a"),
        ("a<|fim_middle|>b<|endoftext|>c", "a"),
        ("foo<fim_suffix>bar", "foo"),
        ("<|file_sep|>path.py\ncode", ""),
        ("done<|im_end|>", "done"),
        ("a <EOT>", "a "),
        ("line\n<|fim_prefix|>", "line\n"),
        ("plain text", "plain text"),
        ("a<|fim", "a<|fim"),  # a partial marker is text
        ("x < y and y > z", "x < y and y > z"),
        ("", ""),
    ],
)
def test_fim_tokens(raw, expected):
    assert fim_tokens.apply(raw, ctx_at("x = █\n")) == expected


# -- single_line ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, text, expected",
    [
        ("x\nprint(2)", "print(█)\n", "x"),
        ("a\r\nb", "f(█)\n", "a"),
        ("a\rb", "f(█)\n", "a"),
        ("\nfoo", "f(█)\n", ""),
        ("a\nb", "x = █\n", "a\nb"),  # end of line: several lines allowed
        ("a\nb", "x = █   \n", "a\nb"),  # only whitespace after the cursor
        ("a\nb", "x = █\t\r\ny", "a\nb"),
        ("a\nb", "█", "a\nb"),
        ("abc", "f(█)\n", "abc"),
    ],
)
def test_single_line(raw, text, expected):
    assert single_line.apply(raw, ctx_at(text)) == expected


@pytest.mark.parametrize(
    "text, wanted",
    [("f(█)", True), ("█x", True), ("x = █", False), ("x = █  \n", False), ("x█\r\n", False), ("█", False)],
)
def test_wants_single_line(text, wanted):
    assert single_line.wants_single_line(ctx_at(text)) is wanted


# -- suffix_overlap ------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, text, expected",
    [
        # whole trailing lines that repeat the next lines of the document
        ("    return 1\nprint(x)", "def f():\n█\nprint(x)\n", "    return 1"),
        ("a = 1\nb = 2\nc = 3", "█\nb = 2\nc = 3\n", "a = 1"),
        ("a = 1\nb = 2\n  c = 3  ", "█\nb = 2\nc = 3\n", "a = 1"),  # compared without surrounding whitespace
        ("x\ny", "█\n\n  y\n", "x"),  # blank document lines are skipped
        ("return x\n}", "function f() {\n  █\n}\n", "return x"),
        ("a\nb", "█\nc\n", "a\nb"),  # no overlap
        ("a\nc", "█\nb\nc\n", "a\nc"),  # only the lines right after the cursor count
        ("a\nb", "█", "a\nb"),  # nothing follows
        ("b", "█\nb\n", "b"),  # a single line is never dropped whole
        # the last line ends with the rest of the cursor line
        ("x)", "print(█)\n", "x"),
        ('"hi")', 'print(█")\n', '"hi'),
        ('foo")', 'print("█")\n', "foo"),
        ("x)  ", "print(█)\n", "x"),
        ("a,\n    b)", "f(█)\n", "a,\n    b"),
        ("x\n)", "f(█)\n", "x\n"),  # a last line that is only the rest
        (")", "print(█)\n", ")"),  # nothing would be left: kept
        ("bar", "print(█)\n", "bar"),
        ("", "print(█)\n", ""),
        pytest.param("bar()", "foo(█)\n", "bar()", id="balanced-call-before-close-paren"),
        pytest.param(
            "if (x) {\n    y();\n  }", "function a() {\n  █\n}\n", "if (x) {\n    y();\n  }",
            id="closing-brace-of-new-block",
        ),
        ("if (x) {\n    y();\n}", "function a() {\n  █\n}\n", "if (x) {\n    y();"),  # same indentation: the document's brace
    ],
)
def test_suffix_overlap(raw, text, expected):
    assert suffix_overlap.apply(raw, ctx_at(text)) == expected


def test_suffix_overlap_ignores_a_final_newline():
    out = suffix_overlap.apply("a = 1\nb = 2\n", ctx_at("█\nb = 2\nc = 3\n"))
    assert out.rstrip("\n") == "a = 1"


# -- trailing_whitespace ---------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, text, expected",
    [
        ("foo  ", "x = █\n", "foo"),
        ("foo  \nbar\t\n\n", "x = █\n", "foo\nbar"),
        ("a\r\nb  \r\n", "x = █\n", "a\nb"),
        ("\n    return x  ", "def f():█\n", "\n    return x"),  # leading newline and indent stay
        ("foo ", "x = █+ 1\n", "foo "),  # mid-line the space before the code stays
        ("a  \nb ", "f(█)\n", "a\nb "),
        ("  ", "x = █\n", ""),
        ("  x", "x =█\n", "  x"),
    ],
)
def test_trailing_whitespace(raw, text, expected):
    assert trailing_whitespace.apply(raw, ctx_at(text)) == expected


# -- blank -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [("", ""), ("   ", ""), ("\n\t\r\n", ""), ("x", "x"), (" x ", " x "), ("\n  x", "\n  x"), ("\u3000", "")],
)
def test_blank(raw, expected):
    assert blank.apply(raw, ctx_at("x = █\n")) == expected


# -- line_endings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, text, expected",
    [
        ("a\nb", "x = █\n", "a\nb"),
        ("a\nb", "x = █\r\ny", "a\r\nb"),
        ("a\r\nb", "x = █\r\ny", "a\r\nb"),  # not doubled
        ("a\r\nb", "x = █\n", "a\nb"),
        ("a\rb", "x█\n", "a\nb"),
        ("a\nb\r\nc\rd", "x█\ry", "a\rb\rc\rd"),
        ("a\r\nb", "x█", "a\nb"),  # a one-line document writes \n
        ("a\nb", "p\r\nx█", "a\r\nb"),  # last line without terminator: the line before decides
        ("ab", "x = █\r\n", "ab"),
    ],
)
def test_line_endings(raw, text, expected):
    assert line_endings.apply(raw, ctx_at(text)) == expected


# -- the whole pipeline: raw model output -> shown text -------------------------------------


@pytest.mark.parametrize(
    "raw, text, shown",
    [
        ("    return a + b\n", "def add(a, b):\n█\n", "    return a + b"),
        ("x)<|endoftext|>def other():", "print(█)\n", ("x)", 1)),  # replaces the auto-closed ")"
        ("foo  \n  bar  \n\n", "x = █\r\n", "foo\r\n  bar"),
        ("   \n", "x = █\n", ""),
        ("<|fim_middle|>", "x = █\n", ""),
        ("<｜fim▁hole｜>x = 1", "x = █\n", ""),
        ("name = value\nprint(name)", "█\nprint(name)\n", "name = value"),
        ("1 + 2\nmore()", "x = █ # note\n", "1 + 2"),
        ('"hi")\n', "print(█)\n", ('"hi")', 1)),
        ("hello 中文 😀\nnext", 's = "█"\n', "hello 中文 😀"),
        ("x\r\ny  ", "f = █\n", "x\ny"),
        ("a\nc\n", "a = █\rb\r", "a\rc"),
        ("a\nb\n", "a = █\rb\r", "a"),  # the repeated next line goes, trailing newline or not
        ("\n    return 1\n", "def f():█\n    pass\n", "\n    return 1"),
        ("\n", "f(█)\n", ""),
        ("if x:\n    pass\n<|endoftext|>", "█\n", "if x:\n    pass"),
        ("    y = 2\n    z = 3", "def f():\n    x = 1\n█\n    z = 3\n", "    y = 2"),
        pytest.param(
            "    y = 2\n    z = 3\n", "def f():\n    x = 1\n█\n    z = 3\n", "    y = 2",
            id="repeated-next-line-ending-in-newline",
        ),
    ],
)
def test_pipeline_golden(raw, text, shown):
    ctx = ctx_at(text)
    text, replace_after = shown if isinstance(shown, tuple) else (shown, 0)
    assert postprocess.clean(postprocess.before_cache(raw, ctx), ctx) == postprocess.Cleaned(text, replace_after)
