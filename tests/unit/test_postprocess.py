"""The answer filters: the pipeline's order, a golden table per filter
(tests/unit/data/filters/<filter>.toml, each filter run alone through the pipeline
function it belongs to), the single-line decision, the syntax checker, and the
whole pipeline on golden cases."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from cursor import ctx_at
from fim_server.core import language, postprocess
from fim_server.core.postprocess import auto_closed, fim_tokens, line_endings, single_line
from fim_server.core.postprocess.syntax import SyntaxChecker

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

syntax = SyntaxChecker()
needs_grammar = pytest.mark.skipif(not syntax.supports("python"), reason="tree-sitter-python not installed")


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



# -- a golden table per filter ---------------------------------------------------------------

TABLES = Path(__file__).parent / "data" / "filters"
FILTERS = [name for name, _ in postprocess.BEFORE_CACHE + postprocess.AFTER_CACHE]


def table(name: str) -> list[dict]:
    with open(TABLES / f"{name}.toml", "rb") as file:
        return tomllib.load(file)["case"]


def run_filter(name: str, case: dict, *, enabled: bool = True) -> tuple[str, int]:
    """``name`` alone (every other filter disabled, ``name`` too unless ``enabled``)
    through the pipeline function it belongs to: (shown text, code points replaced)."""
    ctx = ctx_at(case["code"], language_id=case.get("language", "python"))
    if case.get("notebook"):
        ctx = in_marked_cell(case["code"], ctx)
    disabled = frozenset(n for n in FILTERS if n != name or not enabled)
    if name in dict(postprocess.BEFORE_CACHE):
        return postprocess.before_cache(case["output"], ctx, disabled), 0
    cleaned = postprocess.clean(case["output"], ctx, disabled=disabled, syntax=syntax)
    return cleaned.text, cleaned.replace_after


def in_marked_cell(code: str, ctx):
    """``ctx`` as the cursor's cell of a notebook read as one file: the cell runs from
    the line after the ``# %%`` above the cursor to the blank line before the next."""
    text = code.replace("█", "")
    start = text.rfind("# %%\n", 0, ctx.offset) + len("# %%\n")
    end = text.find("\n\n# %%", ctx.offset)
    return ctx.in_cell("file:///nb.ipynb", start, len(text) if end < 0 else end + 1)


def golden_cases():
    for name in FILTERS:
        for number, case in enumerate(table(name), 1):
            marks = [needs_grammar] if name == postprocess.SYNTAX else []
            yield pytest.param(name, case, id=f"{name}-{number}", marks=marks)


def test_every_filter_has_a_table_and_every_table_a_filter():
    assert sorted(path.stem for path in TABLES.glob("*.toml")) == sorted(FILTERS)
    for name in FILTERS:
        cases = table(name)
        assert cases, name
        for case in cases:
            assert set(case) <= {"note", "code", "output", "expected", "replaced", "language", "notebook"}, case
        # each table shows the filter at work, not only answers it leaves alone
        assert any((c["expected"], c.get("replaced", 0)) != (c["output"], 0) for c in cases), name


@pytest.mark.parametrize("name, case", list(golden_cases()))
def test_filter_golden(name, case):
    assert run_filter(name, case) == (case["expected"], case.get("replaced", 0)), case.get("note", "")


def test_auto_closed_narrows_the_context_for_the_later_filters():
    ctx = ctx_at('print("█")\n')
    out = auto_closed.apply('hi")', ctx)
    assert isinstance(out, auto_closed.Replace) and out.replace_after == 2
    assert out.ctx.line_suffix == ctx.line_suffix[2:] and out.ctx.suffix == ctx.suffix[2:]


def test_disabled_filters_are_skipped():
    ctx = ctx_at("x = compute()\n█\n")
    assert postprocess.clean("x = compute()", ctx).text == ""
    assert postprocess.clean("x = compute()", ctx, disabled=frozenset({"retype_above"})).text == "x = compute()"


# -- the single-line decision -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text, wanted",
    [("f(█)", True), ("█x", True), ("x = █", False), ("x = █  \n", False), ("x█\r\n", False), ("█", False)],
)
def test_wants_single_line(text, wanted):
    assert single_line.wants_single_line(ctx_at(text)) is wanted


@pytest.mark.parametrize(
    "text, language, single, comment",
    [
        ("x = █\n", "python", False, False),
        ("f(█)\n", "python", True, False),  # code after the cursor
        # at a comment's end the request may go on to new lines; the filter keeps one
        # line only when the completion continues the comment's own line
        ("# a comment █\n", "python", False, True),
        ("x = 1  # note █\n", "python", False, True),
        ('s = "abc █\n', "python", True, False),  # inside an open string
        ('s = "a#b" + █\n', "python", False, False),  # the # is in a closed string
        ("// note █\n", "typescript", False, True),
        ("/// doc █\n", "rust", False, True),
        ("//! crate doc █\n", "rust", False, True),
        ("x = a # b █\n", "typescript", False, False),  # no # comments in TypeScript
        ("s = `a █\n", "typescript", False, False),  # a template literal may span lines
        ("s := `a █\n", "go", False, False),  # a Go raw string too
        ('s := "a █\n', "go", True, False),
        ("let s = r#\"a █\n", "rust", False, False),  # a Rust raw string too
        ("fn f<'a>(x: &'a str) { █\n", "rust", False, False),  # lifetimes are not quotes
        ("let c = '█\n", "java", True, False),
        ("/* a block █\n", "c", False, False),  # a block comment may span lines
        ("if x:█\n", "python", False, False),
        ("foo(█\n", "python", False, False),  # after an opening bracket at line end
        ('doc = """█\n', "python", False, False),  # a triple-quoted string may span lines
        ("-- q █\n", "sql", False, True),
    ],
)
def test_wants_single_line_places(text, language, single, comment):
    ctx = ctx_at(text, language_id=language)
    assert single_line.wants_single_line(ctx) is single
    assert single_line.in_line_comment(ctx) is comment


def _in_comment_or_string_reference(line_prefix: str, language_id: str) -> bool:
    """The plain character-by-character scan the fast one must agree with (the
    language's line and block comments, one-line quotes and strings that may span lines)."""
    r = language.rules(language_id)
    blocks = dict(r.block_comments)
    longs = {o: (c, e) for o, c, e in r.long_strings}
    starts = sorted(set(r.line_comments) | set(blocks) | set(longs) | set(r.quotes), key=len, reverse=True)
    state: tuple[str, str, bool] | None = None
    i = 0
    while i < len(line_prefix):
        if state:
            if state[2] and line_prefix[i] == "\\":
                i += 2
            elif line_prefix.startswith(state[1], i):
                i += len(state[1])
                state = None
            else:
                i += 1
            continue
        token = next((t for t in starts if line_prefix.startswith(t, i)), None)
        if token is None:
            i += 1
            continue
        if token in r.line_comments:
            return True
        state = ("block", blocks[token], False) if token in blocks else ("long", *longs[token]) if token in longs else ("string", token, True)
        i += len(token)
    return state is not None and state[0] == "string"


@settings(max_examples=500, deadline=None)
@given(
    text=st.lists(st.sampled_from(["a", " ", "\\", '"', "'", "`", '"""', "'''", "#", "//", "/*", "*/", "-", ";", "x = "]), max_size=24).map("".join),
    language=st.sampled_from(["python", "typescript", "go", "c", "java", "sql", "lisp", "", "plaintext"]),
)
def test_in_comment_or_string_agrees_with_a_plain_scan(text, language):
    assert single_line.in_comment_or_string(text, language) == _in_comment_or_string_reference(text, language)


# -- syntax ------------------------------------------------------------------------------------


def test_syntax_skips_languages_without_grammar():
    checker = SyntaxChecker()
    assert not checker.supports("cobol")
    assert checker.apply("}}} )(", ctx_at("x = █\n", language_id="cobol")) == "}}} )("


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


# -- the syntax check's window in brace languages ---------------------------------------------


def _syntax(doc: str, language: str, answer: str) -> str:
    return SyntaxChecker().apply(answer, ctx_at(doc, language_id=language))


def test_syntax_window_in_a_long_go_function_judges_the_completion():
    """More than 1,200 characters of the function after the cursor: the window ends
    inside it, and each text is judged with the closers it lacks there."""
    doc = "package a\n\nfunc f(x int) int {\n\tx++\n\t█\n" + "\tx += 1\n" * 200 + "\treturn x\n}\n"
    assert _syntax(doc, "go", "x *= 2") == "x *= 2"
    assert _syntax(doc, "go", "if x > 2 {") == "if x > 2 {"  # its body comes next
    assert _syntax(doc, "go", "x *= 2\n\tx = )(") == "x *= 2"
    assert _syntax(doc, "go", "x = )(") == ""


def test_syntax_window_in_a_long_rust_function_judges_the_completion():
    doc = "fn f(mut x: i32) -> i32 {\n    █\n" + "    x += 1;\n" * 150 + "    x\n}\n"
    assert _syntax(doc, "rust", "let y: &'static str = \"}\";") == "let y: &'static str = \"}\";"
    assert _syntax(doc, "rust", "x *= 2;\n    let = ;") == "x *= 2;"


def test_syntax_window_does_not_start_in_a_c_block_comment():
    """Lines at column 0 inside a block comment are not where the window may start:
    the start of the function is."""
    doc = (
        "int f(int x) {\n" + "    x += 1;\n" * 30 + "/*\nNote the order\nof the calls.\n*/\n"
        + "    x += 1;\n" * 90 + "    █\n    return x;\n}\n"
    )
    assert _syntax(doc, "c", "x *= 2;") == "x *= 2;"
    assert _syntax(doc, "c", "x *= 2;\n    x = )(;") == "x *= 2;"


def test_syntax_window_does_not_start_in_a_typescript_template():
    doc = (
        "export function f(x: number): number {\n" + "  x += 1;\n" * 30
        + "  const t = `\nline one\nline two\n`;\n" + "  x += 1;\n" * 110 + "  █\n  return x;\n}\n"
    )
    assert _syntax(doc, "typescript", "x *= 2;") == "x *= 2;"
    assert _syntax(doc, "typescript", "x *= 2;\n  const = ;") == "x *= 2;"


def test_syntax_window_that_ends_in_a_raw_string_gives_no_verdict():
    """The window's end falls inside a raw string the suffix opens (the code around
    parses, strings read through): the completion that closes the string the cursor
    is in passes, nothing after the cut can be judged."""
    doc = (
        'compile_error! {\n    "x█\n}\n\nconst PROBE: &str = r#"\n'
        + "    #![feature(a)]\n    use std::any::Any;\n" * 40 + '"#;\n'
    )
    assert _syntax(doc, "rust", ' is not supported"') == ' is not supported"'
