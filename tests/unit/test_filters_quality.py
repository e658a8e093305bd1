"""Tables for the quality filters (auto-closed, repeats, scope, re-typing, length,
single-line decision, syntax) and golden cases for the whole pipeline with them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from cursor import ctx_at
from fim_server.core import postprocess
from fim_server.core.postprocess import (
    auto_closed,
    min_length,
    repeated_lines,
    retype_above,
    scope_limit,
    single_line,
)
from fim_server.core.postprocess.syntax import SyntaxChecker

# -- auto_closed ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, text, replaced",
    [
        ("x)", "print(█)\n", 1),
        ("x).strip()", "print(█)\n", 1),  # closer in the middle: only a range can do this
        ("a, b])", "f([█])\n", 2),
        ('hi"', 's = "█"\n', 1),
        ('hi")', 'print("█")\n', 2),
        ("g(x))", "f(█)\n", 1),  # g's own ")" is not the auto-closed one
        ("g(x)", "f(█)\n", 0),  # does not close f: nothing replaced
        ("x", "print(█)\n", 0),
        ("x)", "print(█) + 1\n", 0),  # code after the closers: not auto-closed
        ("x]", "print(█)\n", 0),  # wrong closer
        ("\n    a\n}", "if (x) {█}\n", 1),
        ("x)", "print(█)   \n", 1),  # trailing blanks are not replaced
        ("x", "x = █\n", 0),
    ],
)
def test_auto_closed(raw, text, replaced):
    ctx = ctx_at(text)
    out = auto_closed.apply(raw, ctx)
    if replaced:
        assert isinstance(out, auto_closed.Replace)
        assert out.replace_after == replaced and out.text == raw
        assert out.ctx.line_suffix == ctx.line_suffix[replaced:]
        assert out.ctx.suffix == ctx.suffix[replaced:]
    else:
        assert out == raw


# -- repeated_lines ------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("    return total\n    return total", "    return total"),
        ("a = compute(1)\nn+=1\nn+=1", "a = compute(1)\nn+=1\nn+=1"),  # short: kept
        ("x = compute(1)\ny = compute(2)\nx = compute(1)\ny = compute(2)", "x = compute(1)\ny = compute(2)"),
        ("    pass\n    pass", "    pass\n    pass"),  # short and meant sometimes
        ("    )\n    )", "    )\n    )"),
        ("print('hello')\n\nprint('hello')", "print('hello')\n\nprint('hello')"),  # a blank line between
        ("value = first()\nvalue = first()\nvalue = first()", "value = first()"),
        ("one line", "one line"),
        ("", ""),
    ],
)
def test_repeated_lines(raw, expected):
    assert repeated_lines.apply(raw, ctx_at("█\n")) == expected


@pytest.mark.parametrize(
    "raw, text, expected",
    [
        # the first line counts with what is typed before the cursor
        ("total\n    return total", "def f():\n    return █\n", "total"),
        ("total\n    return totals", "def f():\n    return █\n", "total\n    return totals"),
    ],
)
def test_repeated_lines_see_the_whole_cursor_line(raw, text, expected):
    assert repeated_lines.apply(raw, ctx_at(text)) == expected


# -- scope_limit ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, text, expected",
    [
        # the body ends, the model writes the next function: cut
        ("\n    return x\n\ndef g():\n    pass", "def f(x):█\n", "\n    return x"),
        ("return x\n\ndef g():\n    pass", "def f(x):\n    █\n", "return x"),
        # blank lines inside a block do not end it
        ("a = 1\n\n    b = 2", "def f():\n    █\n", "a = 1\n\n    b = 2"),
        # a dedent out of the cursor's block
        ("x += 1\n    y = 2\nz = 3", "def f():\n    for i in r:\n        █\n", "x += 1"),
        # closing a call spread over lines goes back out
        ("\n    b,\n)", "x = f(\n    a,█\n", "\n    b,\n)"),
        ("b,\n)", "    x = f(\n        a,\n        █\n", "b,\n)"),
        # else of an if before the cursor continues the statement
        ("y = 1\nelse:\n    y = 2", "if x:\n    █\n", "y = 1\nelse:\n    y = 2"),
        # top level: one definition, then a second after a blank line is running on
        ("def f():\n    return 1\n\n\ndef g():\n    return 2", "█\n", "def f():\n    return 1"),
        ("import os\nimport sys", "█\n", "import os\nimport sys"),
        # blank cursor line: the completion's first line sets the block
        ("\n    x = 1\n    y = 2\nz = 3", "def f():\n█\n", "\n    x = 1\n    y = 2"),
        ("single", "x = █\n", "single"),
        # braces: the block's "}" at the cursor block's level is the completion's own
        ("\n    a();\n}", "if (x) {█\n", "\n    a();\n}"),
        ("a();\n}\nnext();", "    if (x) {\n        █\n", "a();\n}"),  # "}" closes the open "{"
    ],
)
def test_scope_limit(raw, text, expected):
    assert scope_limit.apply(raw, ctx_at(text)) == expected


# -- retype_above --------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, text, expected",
    [
        ("x = compute()", "x = compute()\n█\n", ""),
        ("    x = compute()", "def f():\n    x = compute()\n█\n", ""),
        ("compute()", "x = compute()\nx = █\n", ""),  # with the typed part, it is the line above
        ("x = compute()\nx = compute()", "x = compute()\n█\n", ""),
        ("x = compute()\ny = 2", "x = compute()\n█\n", "x = compute()\ny = 2"),
        ("y = compute()", "x = compute()\n█\n", "y = compute()"),
        ("x = compute()", "x = compute()\n\n\n█\n", ""),  # blank lines skipped
        ("x = 1", "█\n", "x = 1"),  # nothing above
    ],
)
def test_retype_above(raw, text, expected):
    assert retype_above.apply(raw, ctx_at(text)) == expected


# -- min_length ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [(",", ""), (" ; ", ""), ("x", "x"), ("1", "1"), ("()", "()"), ("):", "):"), ("\n)", ""), ("", "")],
)
def test_min_length(raw, expected):
    assert min_length.apply(raw, ctx_at("x = █\n")) == expected


@pytest.mark.parametrize(
    "raw, text, expected",
    [
        ("\n}", "func f() int {\n\treturn 1█\n", "\n}"),  # closes the open block
        ("}", "function f() {\n\treturn 1\n█\n", "}"),
        ("\n)", "call(a,\n     b█\n", "\n)"),
        ("\n}", "x = {1: 2}█\n", ""),  # nothing open: a stray closer
        ("\n]", "f(█\n", ""),  # another kind is open
        ("\n}", "}\n}\nfunc g() {\n\treturn 2█\n", "\n}"),  # the window starts inside an earlier function
        (")", "f(x█)\n", ""),  # not on a line of its own
    ],
)
def test_min_length_keeps_a_closer_the_prefix_leaves_open(raw, text, expected):
    assert min_length.apply(raw, ctx_at(text)) == expected


# -- single-line decision ------------------------------------------------------------


@pytest.mark.parametrize(
    "text, language, single",
    [
        ("x = █\n", "python", False),
        ("f(█)\n", "python", True),  # code after the cursor
        ("# a comment █\n", "python", True),
        ("x = 1  # note █\n", "python", True),
        ('s = "abc █\n', "python", True),  # inside an open string
        ('s = "a#b" + █\n', "python", False),  # the # is in a closed string
        ("// note █\n", "typescript", True),
        ("x = a # b █\n", "typescript", False),  # no # comments in TypeScript
        ("if x:█\n", "python", False),
        ("foo(█\n", "python", False),  # after an opening bracket at line end
        ('doc = """█\n', "python", False),  # a triple-quoted string may span lines
        ("-- q █\n", "sql", True),
    ],
)
def test_wants_single_line_places(text, language, single):
    assert single_line.wants_single_line(ctx_at(text, language_id=language)) is single


# -- syntax --------------------------------------------------------------------------

syntax = SyntaxChecker()
needs_grammar = pytest.mark.skipif(not syntax.supports("python"), reason="tree-sitter-python not installed")


@needs_grammar
@pytest.mark.parametrize(
    "raw, text, expected",
    [
        ("return x + 1", "def f(x):\n    █\n", "return x + 1"),
        # the last line opens something never closed: trimmed back to the last good line
        ("a = 1\n    b = (2,", "def f():\n    █\n", "a = 1"),
        ("a = 1\n    b = [", "def f():\n    █\n    return a\n", "a = 1"),
        # nothing but errors: dropped
        ("= = )", "def f():\n    █\n", ""),
        # errors already in the window do not count against the completion
        ("y = 2", "def f(:\n    █\n", "y = 2"),
        ("1", "x = █\n", "1"),
    ],
)
def test_syntax(raw, text, expected):
    assert syntax.apply(raw, ctx_at(text)) == expected


def test_syntax_skips_languages_without_grammar():
    checker = SyntaxChecker()
    assert not checker.supports("cobol")
    assert checker.apply("}}} )(", ctx_at("x = █\n", language_id="cobol")) == "}}} )("


# -- the whole pipeline with the new filters ---------------------------------------------


@needs_grammar
@pytest.mark.parametrize(
    "raw, text, shown",
    [
        ("    return total\n    return total\n", "def f():\n    total = 0\n█\n", ("    return total", 0)),
        ("x).strip()<|endoftext|>", "s = str(█)\n", ("x).strip()", 1)),
        ("\n    return x\n\n\ndef g():\n    pass\n", "def f(x):█\n", ("\n    return x", 0)),
        ("x = compute()  \n", "x = compute()\n█\n", ("", 0)),
        (",", "f(a█)\n", ("", 0)),
        ("value)\nnext_line()", "print(█)\n", ("value)", 1)),
        ("a = 1\n    b = (2,\n", "def f():\n    █\n", ("a = 1", 0)),
        ("ok  ", "# note: █\n", ("ok", 0)),
    ],
)
def test_pipeline_golden_quality(raw, text, shown):
    ctx = ctx_at(text)
    out = postprocess.clean(postprocess.before_cache(raw, ctx), ctx, syntax=syntax)
    assert (out.text, out.replace_after) == shown


def test_disabled_filters_are_skipped():
    ctx = ctx_at("x = compute()\n█\n")
    assert postprocess.clean("x = compute()", ctx).text == ""
    assert postprocess.clean("x = compute()", ctx, disabled=frozenset({"retype_above"})).text == "x = compute()"


# -- duplicate_closer ----------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, text, expected",
    [
        ("lstrip()", "s = line.█).x\n", "lstrip("),  # the document has the ")" already
        ("g(x))", "f(█).y\n", "g(x)"),
        ("g(x)", "f(█).y\n", "g(x)"),  # f's ")" is the document's
        ("x]", "a[█] + 1\n", "x"),
        ("x)", "a[█] + 1\n", "x)"),  # another closer
        ("x)\ny", "f(█).y\n", "x)\ny"),
        ("x", "f(█)\n", "x"),
    ],
)
def test_duplicate_closer(raw, text, expected):
    from fim_server.core.postprocess import duplicate_closer

    assert duplicate_closer.apply(raw, ctx_at(text)) == expected


@pytest.mark.parametrize(
    "raw, text",
    [
        ("warnings), 1", "assertEqual(len(w.█)\n"),  # its ")" closes len(, the document's closes assertEqual(
        ('x"', "f(█)\n"),  # a quote with no string open
    ],
)
def test_auto_closed_leaves_balanced_lines_alone(raw, text):
    assert auto_closed.apply(raw, ctx_at(text)) == raw


def test_syntax_baseline_reparsed_incrementally_gives_the_fresh_verdicts():
    """One checker kept across keystrokes (its baseline tree edited and reparsed)
    judges every step as a fresh checker does, also when the window moves."""
    from fim_server.core.context import build_context
    from fim_server.core.documents import split_lines

    body = "".join(f"def f{i}(a, b):\n    return a + b\n\n" for i in range(60))
    typed = "def g(x):\n    if x:\n        return [x,\n"
    answers = ["1]", "y)", " x + 1", "pass\n    else:\n        return 0", ")"]
    kept = SyntaxChecker()
    for n in range(len(typed) + 1):
        text = body[:1500] + typed[:n] + "\n" + body[1500:]
        lines = split_lines(text)
        before = (body[:1500] + typed[:n]).split("\n")
        line, col = len(before) - 1, len(before[-1])
        ctx = build_context("file:///t.py", lines, line, col, max_prefix_chars=800, max_suffix_chars=300, language_id="python")
        for answer in answers:
            assert kept.apply(answer, ctx) == SyntaxChecker().apply(answer, ctx), (n, answer)


def test_scope_limit_lets_the_closing_quotes_of_a_docstring_dedent():
    text = 'def f():\n    """Doc.\n\n        example()█\n'
    assert scope_limit.apply('\n    """', ctx_at(text)) == '\n    """'
    assert scope_limit.apply('\n    """\n    return 1', ctx_at(text)) == '\n    """\n    return 1'
    # outside a docstring the same dedent still ends the block
    assert scope_limit.apply('\n    """', ctx_at("def f():\n    if x:\n        y()█\n")) == ""


def _in_comment_or_string_reference(line_prefix: str, language_id: str) -> bool:
    """The plain character-by-character scan the fast one must agree with."""
    marker = single_line.comment_marker(language_id) or ("#" if not language_id else None)
    quote = ""
    i = 0
    while i < len(line_prefix):
        if quote:
            if line_prefix[i] == "\\":
                i += 1
            elif line_prefix.startswith(quote, i):
                i += len(quote) - 1
                quote = ""
        elif line_prefix.startswith(('"""', "'''"), i):
            quote = line_prefix[i : i + 3]
            i += 2
        elif line_prefix[i] in "\"'`":
            quote = line_prefix[i]
        elif marker and line_prefix.startswith(marker, i):
            return True
        i += 1
    return bool(quote) and len(quote) == 1


@settings(max_examples=500, deadline=None)
@given(
    text=st.lists(st.sampled_from(["a", " ", "\\", '"', "'", "`", '"""', "'''", "#", "//", "-", ";", "x = "]), max_size=24).map("".join),
    language=st.sampled_from(["python", "typescript", "sql", "lisp", "", "plaintext"]),
)
def test_in_comment_or_string_agrees_with_a_plain_scan(text, language):
    assert single_line.in_comment_or_string(text, language) == _in_comment_or_string_reference(text, language)
