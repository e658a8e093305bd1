"""tools/eval/holes.py: each fault injector makes the fault it names, per language."""

from __future__ import annotations

import random

import pytest

from fim_server.core.language import new_parser
from fim_server.core.postprocess.fim_tokens import LEAKED_TOKENS
from fim_server.tools.eval.holes import FAULTS, Hole, applicable, applied, expected, inject, sample

# one function per language with a block inside; the hole is "width * height" at the end
# of the statement in the inner block (indentation: 4 spaces, Go's tab, JS/TS's 2 spaces)
SOURCES = {
    "python": "def area(width, height):\n    if width > 0:\n        total = width * height\n        return total\n    return 0\n",
    "go": "func area(width, height int) int {\n\tif width > 0 {\n\t\ttotal := width * height\n\t\treturn total\n\t}\n\treturn 0\n}\n",
    "rust": "fn area(width: i32, height: i32) -> i32 {\n    if width > 0 {\n        let total = width * height;\n        return total;\n    }\n    0\n}\n",
    "javascript": "function area(width, height) {\n  if (width > 0) {\n    const total = width * height\n    return total;\n  }\n  return 0;\n}\n",
    "typescript": "function area(width: number, height: number): number {\n  if (width > 0) {\n    const total = width * height\n    return total;\n  }\n  return 0;\n}\n",
    "c": "int area(int width, int height) {\n    if (width > 0) {\n        int total = width * height;\n        return total;\n    }\n    return 0;\n}\n",
}
UNITS = {"python": "    ", "go": "\t", "rust": "    ", "javascript": "  ", "typescript": "  ", "c": "    "}
LANGUAGES = list(SOURCES)


def hole_at(language: str) -> tuple[str, Hole]:
    """The hole from ``width * height`` to the end of its line."""
    source = SOURCES[language]
    offset = source.index("width * height", source.index("total"))
    text = source[offset : source.index("\n", offset)]
    line = source[:offset].count("\n")
    column = offset - (source.rfind("\n", 0, offset) + 1)
    return source, Hole("x", "line_end", line, column, offset, text, language)


def lines_after_truth(answer: str, hole: Hole) -> list[str]:
    assert answer.startswith(hole.truth)
    return answer[len(hole.truth) :].split("\n")[1:]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_fault_applies_to_a_line_end_in_a_block(language):
    source, hole = hole_at(language)
    assert [f for f in FAULTS if applicable(f, hole, source)] == [f for f in FAULTS if f not in ("duplicate_closer", "repeat_block", "retype_above")]


@pytest.mark.parametrize("language", LANGUAGES)
def test_run_on_suffix_writes_the_following_lines_again(language):
    source, hole = hole_at(language)
    answer = inject("run_on_suffix", hole, source, random.Random(1))
    following = [line for line in source.split("\n")[hole.line + 1 :] if line.strip()][:2]
    assert lines_after_truth(answer, hole) == following


@pytest.mark.parametrize("language", LANGUAGES)
def test_past_block_leaves_the_block_and_writes_another_function(language):
    source, hole = hole_at(language)
    answer = inject("past_block", hole, source, random.Random(1))
    after = [line for line in lines_after_truth(answer, hole) if line.strip()]
    if language == "python":
        assert after[0] == "    _next_value = compute(_next_value)"  # dedented out of the if
        return
    unit = UNITS[language]
    assert after[:2] == [unit + "}", "}"]  # closes the if, then the function
    assert after[2].startswith(("func ", "fn ", "function ", "static int "))  # and begins another at column 0
    parser = new_parser(language)
    tail = "\n".join(after[2:])
    assert not parser.parse(tail.encode()).root_node.has_error  # written in the language's own syntax


def test_python_past_block_at_the_top_level_writes_another_def():
    source = "import os\nvalue = os.getcwd()\n"
    hole = Hole("x", "line_end", 1, 8, source.index("os.getcwd()"), "os.getcwd()")
    answer = inject("past_block", hole, source, random.Random(1))
    assert answer.startswith("os.getcwd()\n\n\ndef _next_helper(value):")


@pytest.mark.parametrize("language", LANGUAGES)
def test_duplicate_closer_on_the_line_and_on_the_next_line(language):
    source = SOURCES[language]
    offset = source.index("width > 0") + len("width > ")
    line = source[:offset].count("\n")
    col = offset - (source.rfind("\n", 0, offset) + 1)
    if language != "python" and language != "go" and language != "rust":
        hole = Hole("x", "mid_line", line, col, offset, "0", language)
        assert applicable("duplicate_closer", hole, source)
        assert inject("duplicate_closer", hole, source, random.Random(1)) == "0)"
    # the statement before the block's closing line: the model closes the block again
    end = source.index("return total") + len("return total")
    text = source[source.index("return total") : end] + (";" if language in ("rust", "javascript", "typescript", "c") else "")
    start = source.index("return total")
    line = source[:start].count("\n")
    hole = Hole("x", "line_end", line, start - (source.rfind("\n", 0, start) + 1), start, text, language)
    if language == "python":
        assert not applicable("duplicate_closer", hole, source)  # no closer line follows
        return
    answer = inject("duplicate_closer", hole, source, random.Random(1))
    assert lines_after_truth(answer, hole) == [UNITS[language] + "}"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_repeat_last_line_and_block(language):
    source, hole = hole_at(language)
    answer = inject("repeat_last_line", hole, source, random.Random(1))
    cursor_line = source.split("\n")[hole.line]
    assert lines_after_truth(answer, hole) == [cursor_line]
    lines = source.split("\n")
    block = "\n".join(lines[hole.line + 1 : hole.line + 3]).lstrip(" \t")
    start = source.index(block)
    multi = Hole("x", "multi_line", hole.line + 1, start - (source.rfind("\n", 0, start) + 1), start, block, language)
    assert applicable("repeat_block", multi, source)
    answer = inject("repeat_block", multi, source, random.Random(1))
    assert answer.split("\n")[-2:] == lines[hole.line + 1 : hole.line + 3]  # the two lines once more


@pytest.mark.parametrize("language", LANGUAGES)
def test_wrong_indent_writes_the_next_line_one_level_too_deep(language):
    source, hole = hole_at(language)
    answer = inject("wrong_indent", hole, source, random.Random(1))
    following = source.split("\n")[hole.line + 1]
    assert lines_after_truth(answer, hole) == [UNITS[language] + following]


@pytest.mark.parametrize("language", LANGUAGES)
def test_leaked_tokens_then_code_in_the_language(language):
    source, hole = hole_at(language)
    answer = inject("leak_tokens", hole, source, random.Random(3))
    token = next(t for t in LEAKED_TOKENS if t in answer)
    assert answer.startswith(hole.truth + token)
    junk = answer[len(hole.truth + token) :]
    assert not new_parser(language).parse(junk.encode()).root_node.has_error


@pytest.mark.parametrize("language", LANGUAGES)
def test_trailing_whitespace_only_adds_whitespace(language):
    source, hole = hole_at(language)
    for seed in range(8):
        answer = inject("trailing_whitespace", hole, source, random.Random(seed))
        assert answer != hole.truth and answer.rstrip() == hole.truth


@pytest.mark.parametrize("language", LANGUAGES)
def test_retype_above_answers_the_line_above_and_counts_as_recovered_when_dropped(language):
    source = SOURCES[language]
    lines = source.split("\n")
    text = lines[3].strip()  # "return total..." at the start of its line, after the indentation
    start = source.index(text)
    hole = Hole("x", "block_start", 3, start - (source.rfind("\n", 0, start) + 1), start, text, language)
    assert applicable("retype_above", hole, source)
    assert inject("retype_above", hole, source, random.Random(1)) == lines[2].strip()
    assert expected("retype_above", hole) == "" and expected(None, hole) == text
    assert applied(source, hole, expected("retype_above", hole)) == hole.document(source)


def test_sampling_takes_tab_indented_lines_in_go_and_skips_comments():
    source = "package p\n\n// Area is the area.\nfunc area(w, h int) int {\n\t// the product\n\ttotal := w * h\n\treturn total\n}\n"
    holes = sample("a.go", source, random.Random(1), 20, language="go")
    assert holes and all(h.language == "go" for h in holes)
    assert any(source.split("\n")[h.line].startswith("\t") for h in holes)
    assert not any("//" in source.split("\n")[h.line] for h in holes)
    assert not any(source.split("\n")[h.line].startswith("\t") for h in sample("a.py", source, random.Random(1), 20))


def test_unknown_fault_is_an_error():
    source, hole = hole_at("go")
    with pytest.raises(ValueError):
        inject("no_such_fault", hole, source, random.Random(1))


def test_past_block_closes_the_blocks_open_after_the_truth_with_the_files_indentation():
    # the truth opens a block itself; the file's " * " comment lines are no indentation unit
    source = "/**\n * Area.\n */\nfunction area(width) {\n  if (width > 0) {\n    return width;\n  }\n}\n"
    start = source.index("if (width")
    hole = Hole("x", "block_start", 4, 2, start, "if (width > 0) {", "javascript")
    answer = inject("past_block", hole, source, random.Random(1))
    assert answer.startswith("if (width > 0) {\n  }\n}\n\nfunction nextHelper(value) {")


def test_no_hole_takes_a_line_a_provider_request_would_mask():
    """A hole's ground truth is written to the eval's report and scored against the
    completion: a line holding a key or a password (masked in every request) is
    never one, nor a line of a private key block."""
    import random

    from fim_server.tools.eval.holes import sample

    source = (
        "import os\n\n\n"
        "def connect(user, host):\n"
        '    aws = "AKIAIOSFODNN7CANARY0"\n'
        '    url = "postgres://u:c4n4ryDbPassw0rd@db/app"\n'
        '    key = """-----BEGIN RSA PRIVATE KEY-----\n'
        "    canaryPRIVATEKEYBODYcanaryPRIVATEKEYBODY\n"
        '    -----END RSA PRIVATE KEY-----"""\n'
        "    total = compute_total(user, host)\n"
        "    return os.path.join(host, user, str(total))\n"
    )
    holes = []
    for seed in range(60):
        holes += sample("a.py", source, random.Random(seed), 4)
    assert holes
    for hole in holes:
        for secret in ("AKIAIOSF", "c4n4ry", "canaryPRIVATE", "BEGIN RSA", "END RSA"):
            assert secret not in hole.truth, hole
        assert hole.line not in (4, 5, 6, 7, 8)
