"""core/language: the per-language rules and the comment/string scanner."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st
import pytest

from fim_server.core import language
from fim_server.core.language import BLANK, CODE, COMMENT, LONG_STRING, STRING, TEXT


SHIPPED_RULES = ["python", "javascript", "javascriptreact", "typescript", "typescriptreact", "go", "rust", "c", "cpp", "java"]


@pytest.mark.parametrize("language_id", SHIPPED_RULES)
def test_every_shipped_language_has_rules_of_its_own(language_id):
    r = language.rules(language_id)
    assert r.line_comments and r.top_definitions
    assert r.blocks == (language.INDENT if language_id == "python" else language.BRACES)
    assert language_id in language.SHIPPED


@pytest.mark.parametrize(
    "language_id, marker",
    [("python", "#"), ("typescript", "//"), ("rust", "//"), ("go", "//"), ("c", "//"), ("java", "//"),
     ("lua", "--"), ("lisp", ";"), ("ruby", "#"), ("plaintext", None), ("", None)],
)
def test_comment_marker(language_id, marker):
    assert language.comment_marker(language_id) == marker


@pytest.mark.parametrize(
    "language_id, text, masked",
    [
        ("python", 'f("(", x)  # )', 'f(   , x)     '),
        ("python", "s = '''{\n}'''; t", "s =     \n    ; t"),
        ("javascript", "a(`{\n${b}`) // }", "a(  \n     )     "),
        ("typescript", "x /* { */ + '}'", "x         +    "),
        ("go", "s := `{\n` + \"}\"", "s :=   \n  +    "),
        ("rust", "fn f<'a>(x: &'a str) -> char { '{' } // }", "fn f<'a>(x: &'a str) -> char {     }     "),
        ("rust", 'let s = r#"a " { "#; x', "let s =            ; x"),
        ("rust", "let s = \"{\n}\";", "let s =   \n  ;"),  # a Rust string may span lines
        ("rust", "/// doc {\nfn f() {}", "         \nfn f() {}"),
        ("c", "char c = '{'; /* } */ s = \"(\";", "char c =    ;         s =    ;"),
        ("cpp", 'auto s = R"x(a )" { )x"; y', "auto s =               ; y"),
        ("java", 'String s = """\n  {\n  """;', "String s =    \n   \n     ;"),
    ],
)
def test_mask_blanks_comments_and_strings(language_id, text, masked):
    assert language.mask(text, language_id) == masked
    assert len(language.mask(text, language_id)) == len(text)


@pytest.mark.parametrize(
    "language_id, text, kind",
    [
        ("python", "x = 1  # note", COMMENT),
        ("python", 's = "abc', STRING),
        ("python", 's = """abc', LONG_STRING),
        ("python", 's = "a#b" + ', None),
        ("typescript", "const s = `a", LONG_STRING),
        ("typescript", "/* a", language.BLOCK_COMMENT),
        ("go", "s := `a", LONG_STRING),
        ("go", "r := 'a", STRING),
        ("rust", "fn f<'a>(x: &'a str", None),  # lifetimes are not quotes
        ("rust", 'let s = r##"a"# ', LONG_STRING),  # "# does not close r##"
        ("rust", "//! crate", COMMENT),
        ("c", "#include <a.h>", None),  # no # comments in C
        ("java", "int x; // y", COMMENT),
    ],
)
def test_open_at_end(language_id, text, kind):
    span = language.open_at_end(text, language_id)
    assert (span.kind if span is not None else None) == kind


def test_line_kinds():
    text = 'x = 1  # c\n# only\n\ns = """doc\n  inside\n""" + y'
    assert language.line_kinds(text, "python") == [CODE, COMMENT, BLANK, CODE, TEXT, TEXT]
    text = "int a; /* c */\n/* one */ /* two */\n/*\n * mid\n */\n  // x\n\"s\" // y"
    assert language.line_kinds(text, "c") == [CODE, COMMENT, COMMENT, COMMENT, COMMENT, COMMENT, CODE]
    # a completion that starts inside a docstring the cursor is in
    at_cursor = language.open_at_end('def f():\n    """Doc', "python")
    assert language.line_kinds(' more\n    """\n    return 1', "python", at_cursor) == [TEXT, TEXT, CODE]
    assert language.closing_line(' more\n    """\n    return 1', "python", at_cursor) == 1


def test_statement_start_reads_from_a_top_level_definition():
    doc = 'x = """\nlong text\n' + "word " * 300 + '\n"""\n\ndef f():\n    s = "a"\n' + "    y = 1\n" * 40
    start = language.statement_start(doc, "python", 200, whole_file=False)
    assert doc[start:].startswith("def f():")
    assert language.open_at_end(doc[start:], "python") is None
    assert language.statement_start(doc, "python", 200, whole_file=True) == doc.index("def f():")
    assert language.statement_start("a\nb\n", "python", 200, whole_file=True) == 0


TOKENS = ["a", " ", "\n", "\\", '"', "'", "`", '"""', "#", "//", "/*", "*/", "{", "}", "r#\"", "\"#", "x = "]


@settings(max_examples=300, deadline=None)
@given(
    text=st.lists(st.sampled_from(TOKENS), max_size=40).map("".join),
    cuts=st.lists(st.integers(min_value=0, max_value=200), min_size=1, max_size=6),
    language_id=st.sampled_from(["python", "typescript", "go", "rust", "c", "cpp"]),
)
def test_open_at_end_of_resumes_with_the_same_answers(text, cuts, language_id):
    """Typing on (longer and longer prefixes) and jumping (any prefix): the resumed
    scan answers as a fresh one."""
    for cut in sorted(cuts) + cuts:
        prefix = text[: min(cut, len(text))]
        assert language.open_at_end_of(prefix, language_id) == language.open_at_end(prefix, language_id)
