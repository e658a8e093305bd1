"""The prefix and suffix windows around the cursor (core/context.py), and every setting
that shapes the cursor context taking effect in all three paths that build one: the
language server, ``fim-server complete`` and ``fim-server eval``."""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
from pathlib import Path

import pytest
from hypothesis import given, strategies as st
from lsprotocol import types

from cursor import CURSOR, Recorder, ctx_at, locate
from fim_server.core.context import ANCHOR_LINES, build_context, prefix_start_line
from fim_server import cli
from fim_server.core.engine import CompletionEngine
from fim_server.fakes.deepseek import FakeDeepSeek, Reply
from fim_server.lsp import server as lsp_server
from fim_server.settings import parse_settings
from fim_server.core.workspace import Workspace
from fim_server.tools.eval.run import evaluate

# 100 numbered lines of 11 code points each: "L000 xxxxx\n" ...
NUMBERED = "".join(f"L{i:03d} xxxxx\n" for i in range(100))


def numbered_with_cursor(line: int, col: int) -> str:
    start = line * 11
    return NUMBERED[: start + col] + CURSOR + NUMBERED[start + col :]


@pytest.mark.parametrize(
    "text",
    [
        "def f(█):\n    pass\n",
        "█",
        "abc█",
        "█abc",
        "x = '中文█😀'\n",
        "x = '中█文'\n",
        "s = '😀█𝄞'\r\ny = 1\r\n",
        "a\r\nb\r\n█\r\nc",
        "a\rb█\rc",
        "line one\nline two █ tail\nline three\n",
        "\n\n█\n\n",
    ],
)
def test_prefix_and_suffix_split_exactly_at_the_cursor(text):
    ctx = ctx_at(text)
    at = text.index(CURSOR)
    assert ctx.prefix == text[:at]
    assert ctx.suffix == text[at + 1 :]
    assert ctx.offset == at


@pytest.mark.parametrize(
    "text, line, column, line_prefix, line_suffix",
    [
        ("def f(█):\n    pass\n", 0, 6, "def f(", "):"),
        ("a\nb = 中文█😀 c\r\nd", 1, 6, "b = 中文", "😀 c"),
        ("a\r\nb█\r\n", 1, 1, "b", ""),
        ("a\r\nb\r\n█", 2, 0, "", ""),
        ("x\ry█z\r", 1, 1, "y", "z"),
        ("█", 0, 0, "", ""),
    ],
)
def test_cursor_line_parts(text, line, column, line_prefix, line_suffix):
    ctx = ctx_at(text)
    assert (ctx.line, ctx.column) == (line, column)
    assert ctx.line_prefix == line_prefix
    assert ctx.line_suffix == line_suffix


@pytest.mark.parametrize(
    "text, newline",
    [
        ("a█\nb\n", "\n"),
        ("a\r\nb█\r\n", "\r\n"),
        ("a\r\nb█", "\r\n"),  # last line without terminator: the line before decides
        ("a\rb█\r", "\r"),
        ("a\rb█", "\r"),
        ("a█", "\n"),  # no terminator at all
        ("█", "\n"),
        ("a\r\nb█\nc", "\n"),  # the cursor line's own terminator wins
    ],
)
def test_newline_detection(text, newline):
    assert ctx_at(text).newline == newline


@pytest.mark.parametrize(
    "text, word",
    [
        ("foo.bar█", "bar"),
        ("x = 中文█", "中文"),
        ("x = █", ""),
        ("x = foo_1█ + 2", "foo_1"),
        ("a+b█c", "b"),
        ("print(█", ""),
        ("  self.é█", "é"),
    ],
)
def test_word_before(text, word):
    assert ctx_at(text).word_before == word


# -- budgets ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, col, budget, anchor, start",
    [
        (10, 4, 30, 1, 8),  # 4 + 11 + 11 = 26 fits, one more line would not
        (10, 4, 26, 1, 8),  # exactly at the budget still fits
        (10, 4, 25, 1, 9),
        (10, 4, 4, 1, 10),  # only the cursor line
        (10, 4, 0, 1, 10),
        (3, 0, 1000, 1, 0),
        (3, 0, 1000, 32, 0),  # the window reaches the top: no rounding
        (40, 4, 100, 32, 32),  # 32 is a multiple of the anchor
        (70, 0, 440, 32, 32),  # 40 lines fit (back to 30), rounded up to 32
        (70, 0, 440, 10, 30),
        (32, 0, 220, 32, 12),  # 20 lines fit: the step shrinks to 4
        (99, 0, 11 * 70, 32, 32),  # 70 lines fit: step 16
        (99, 0, 11 * 40, 32, 64),  # 40 lines fit: step 8
        (40, 0, 10_000, 32, 0),
    ],
)
def test_prefix_start_line(line, col, budget, anchor, start):
    lines = NUMBERED.splitlines(keepends=True)
    assert prefix_start_line(lines, line, col, budget, anchor) == start


@pytest.mark.parametrize(
    "text, budget, prefix",
    [
        ("ab\ncd█", 5, "ab\ncd"),
        ("ab\ncd█", 4, "cd"),  # never "b\ncd": the cut is at a line start
        ("ab\ncd█", 1, "d"),  # the cursor line alone is over the budget: cut at the budget
        ("ab\ncd█", 0, ""),
        ("short\n" + "x" * 30 + "█" + "y" * 30 + "\nend", 10, "x" * 10),
        ("😀中文😀中文😀█", 3, "中文😀"),  # code points, not UTF-16 units
    ],
)
def test_prefix_budget(text, budget, prefix):
    ctx = ctx_at(text, max_prefix_chars=budget)
    assert ctx.prefix == prefix
    assert len(ctx.prefix) <= budget


def test_prefix_budget_cuts_at_a_line_start_in_a_long_file():
    ctx = ctx_at(numbered_with_cursor(40, 4), max_prefix_chars=100)
    # 4 + 8 * 11 = 92 fits, a ninth line would not; line 32 is an anchor line
    assert ctx.prefix == NUMBERED[32 * 11 : 40 * 11] + "L040"
    assert ctx.prefix.startswith("L032 ")


@pytest.mark.parametrize(
    "text, budget, suffix",
    [
        ("█ab\ncd\nef\n", 6, "ab\ncd\n"),
        ("█ab\ncd\nef\n", 5, "ab\n"),  # never "ab\ncd": the cut is at a line end
        ("█ab\ncd\nef\n", 2, "ab"),  # the rest of the cursor line alone is over: cut at the budget
        ("█ab\ncd\nef\n", 0, ""),
        ("█ab\r\ncd\r\n", 8, "ab\r\ncd\r\n"),
        ("█ab\r\ncd\r\n", 7, "ab\r\n"),
        ("x" * 30 + "█" + "y" * 30 + "\nend", 10, "y" * 10),
        ("█😀中文\n", 2, "😀中"),
    ],
)
def test_suffix_budget(text, budget, suffix):
    ctx = ctx_at(text, max_suffix_chars=budget)
    assert ctx.suffix == suffix
    assert len(ctx.suffix) <= budget


def test_suffix_budget_in_a_long_file():
    ctx = ctx_at(numbered_with_cursor(40, 4), max_suffix_chars=30)
    assert ctx.suffix == " xxxxx\nL041 xxxxx\nL042 xxxxx\n"


# -- the anchor ------------------------------------------------------------------------


def test_prefix_window_start_moves_only_every_anchor_lines():
    """Typing down a long file: the window's first line stays put for ANCHOR_LINES
    lines at a time, so consecutive prompts share a long common beginning."""
    lines = [f"line {i:04d} = value({i})".ljust(29) + "\n" for i in range(500)]  # 30 code points each
    budget = 6000  # 200 lines
    starts = []
    prompts = []
    for line in range(300, 400):
        col = len(lines[line]) - 1  # end of the line just typed
        ctx = build_context("u", lines, line, col, max_prefix_chars=budget, max_suffix_chars=100)
        first = int(ctx.prefix[5:9])
        assert ctx.prefix.startswith(lines[first])  # starts at a line boundary
        assert first % ANCHOR_LINES == 0
        assert len(ctx.prefix) <= budget
        # 199 whole lines fit beside the cursor line; rounding gives up fewer than ANCHOR_LINES
        assert line - first >= 199 - (ANCHOR_LINES - 1)
        starts.append(first)
        prompts.append(ctx.prefix)
    assert len(set(starts)) <= math.ceil(100 / ANCHOR_LINES) + 1
    shared = [len(os.path.commonprefix([a, b])) / len(a) for a, b in zip(prompts, prompts[1:])]
    # Most consecutive prompts share all of the earlier one (but the line being typed).
    assert sum(s > 0.95 for s in shared) >= len(shared) - math.ceil(100 / ANCHOR_LINES)


@pytest.mark.parametrize("line_length", [11, 30, 101, 400])
@pytest.mark.parametrize("budget", [220, 1000, 8000])
def test_anchoring_never_gives_up_much_of_the_budget(line_length, budget):
    """Long lines: the rounding keeps at least three quarters of the lines that fit."""
    lines = [f"{i:04d}".ljust(line_length - 1, "x") + "\n" for i in range(300)]
    fit = budget // line_length  # whole lines that fit above a cursor at column 0
    for line in range(fit + 1, 300, 7):
        start = prefix_start_line(lines, line, 0, budget)
        assert line - start <= fit
        assert line - start >= fit * 3 // 4
        if fit > 0:
            assert line - start >= 1  # the line above the cursor is always there when it fits


def test_line_above_the_cursor_is_in_the_prefix_when_the_budget_allows():
    ctx = ctx_at(numbered_with_cursor(ANCHOR_LINES, 0), max_prefix_chars=220)  # budget fits 20 lines
    assert ctx.prefix.endswith(f"L{ANCHOR_LINES - 1:03d} xxxxx\n")


@pytest.mark.parametrize("text", ["a\nb█", "x = 1\n中文\n😀█ tail\n", "█"])
def test_offset_can_be_given(text):
    lines, line, col = locate(text)
    ctx = build_context("u", lines, line, col, max_prefix_chars=100, max_suffix_chars=100, offset=1234)
    assert ctx.offset == 1234
    assert ctx_at(text).offset == text.index(CURSOR)


@given(
    lengths=st.lists(st.integers(0, 120), min_size=1, max_size=80),
    data=st.data(),
)
def test_prefix_start_by_the_documents_line_starts_equals_the_walk(lengths, data):
    """The bisection over a document's running line starts (after edits, so some of
    them are stale) picks the same first line as walking the lines."""
    from fim_server.core.documents import Document

    doc = Document("file:///t.py", "".join("x" * n + "\n" for n in lengths))
    edit_line = data.draw(st.integers(0, len(doc.lines) - 1))
    doc.offset_of(len(doc.lines) - 1, 0)  # all sums computed, then an edit makes later ones stale
    doc.apply_change("yy\nzzz", (edit_line, 0), (edit_line, 0), "utf-32")
    line = data.draw(st.integers(0, len(doc.lines) - 1))
    col = data.draw(st.integers(0, len(doc.lines[line].rstrip("\n"))))
    budget = data.draw(st.integers(0, 3000))
    anchor = data.draw(st.sampled_from([1, 4, 32]))
    walked = prefix_start_line(doc.lines, line, col, budget, anchor)
    assert prefix_start_line(doc.lines, line, col, budget, anchor, doc.line_starts(line)) == walked


@pytest.mark.parametrize("line, start, end, text", [(1, 4, 6, "path.join"), (0, 0, 0, "import "), (2, 8, 12, "")])
def test_a_selected_item_gives_the_context_of_the_text_with_it_inserted(line, start, end, text):
    """The completion-menu item applied to the cursor's line (``context_of_lines``,
    shared with the notebooks): the same context, offset and column as a document
    that already holds the item, the cursor after it."""
    from fim_server.core.context import Selected, cursor_context
    from fim_server.core.documents import Document
    from fim_server.settings import Settings

    lines = ["os = 1\n", "os.pa(x)\n", "    x = abcdefgh\n", "y = 2\n"]
    inserted = list(lines)
    inserted[line] = lines[line][:start] + text + lines[line][end:]
    settings = Settings()
    got = cursor_context(Document("file:///t.py", "".join(lines), language_id="python"), line, end, settings,
                         Selected(start, end, text))
    want = cursor_context(Document("file:///t.py", "".join(inserted), language_id="python"), line, start + len(text),
                          settings)
    assert got == want
    assert got.line_prefix == inserted[line][: start + len(text)]


# -- every context setting in the server, `complete` and `eval` --------------------------------
# Every setting that shapes the cursor context takes effect in all three paths that
# build one: the language server, ``fim-server complete`` and ``fim-server eval``.
#
# Each path is run for real up to the provider, and the test looks at the prompt,
# suffix and workspace snippets the provider received. The document: numbered
# comment lines around one code line, so the first line of a prompt window can be
# read off its text; the other open file (the server's other document, ``--open``
# for the command line) shares words with the code line.

CODE_LINE = 150
LINES_AFTER = 50
CURSOR_COL = 8  # after "value = "
KEY = "sk-context-test-key"


def _comment(i: int) -> str:
    return f"# line {i:03d} ---\n"


LINE_CHARS = len(_comment(0))
SOURCE = "".join(_comment(i) for i in range(CODE_LINE)) + "value = compute(first, second)\n" + "".join(
    _comment(CODE_LINE + 1 + i) for i in range(LINES_AFTER)
)


HELPER = "def compute(first, second):\n    return first * second + first\n"


def _helper(tmp_path: Path) -> Path:
    path = tmp_path / "helpers.py"
    path.write_text(HELPER, encoding="utf-8")
    return path


def first_line(prompt: str) -> int:
    assert prompt.startswith("# line "), prompt[:40]
    return int(prompt[7:10])


def _recorder() -> Recorder:
    return Recorder("compute(first, second)")


def via_server(tmp_path: Path, raw: dict, helper: bool = False) -> tuple[str, str, list[str]]:
    recorder = _recorder()
    server = lsp_server.create_server(
        lambda settings, notify: CompletionEngine(settings, notify=notify, provider_factory=lambda s, c: recorder)
    )
    uri = (tmp_path / "example.py").as_uri()
    server.open_document(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id="python", version=1, text=SOURCE))
    )
    if helper:
        item = types.TextDocumentItem(uri=_helper(tmp_path).as_uri(), language_id="python", version=1, text=HELPER)
        server.open_document(types.DidOpenTextDocumentParams(item))
    server.configuration.push({"fimServer": {**raw, "apiKey": KEY}})
    server.apply_settings()
    params = types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri),
        position=types.Position(CODE_LINE, CURSOR_COL),
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
    )

    async def go():
        try:
            return await lsp_server.inline_completion(server, params)
        finally:
            await server.engine.aclose()

    asyncio.run(go())
    (request,) = recorder.requests
    return request.prompt, request.suffix, [path for path, _ in request.extra]


def via_complete(tmp_path: Path, raw: dict, helper: bool = False) -> tuple[str, str, list[str]]:
    path = tmp_path / "example.py"
    path.write_text(SOURCE, encoding="utf-8")
    with FakeDeepSeek([Reply(text="compute(first, second)")], api_key=KEY) as fake:
        sets = [f"{name}={json.dumps(value)}" for name, value in {**raw, "baseUrl": fake.url, "apiKey": KEY}.items()]
        argv = ["complete", f"{path}:{CODE_LINE + 1}:{CURSOR_COL + 1}"]
        if helper:
            argv += ["--open", str(_helper(tmp_path))]
        for item in sets:
            argv += ["--set", item]
        cli.main(argv)  # its answer is cleaned away (it repeats the line): only the request counts here
        (request,) = fake.completion_requests()
        prompt = request.body["prompt"]
        # DeepSeek has no field for other files: they come first, as commented blocks
        paths = re.findall(r"^# Path: (.*)$", prompt, re.MULTILINE)
        if paths:
            prompt = prompt[prompt.index("# line "):]
        return prompt, request.body["suffix"], paths


def via_eval(tmp_path: Path, raw: dict, helper: bool = False) -> tuple[str, str, list[str]]:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "example.py").write_text(SOURCE, encoding="utf-8")
    settings, problems = parse_settings({**raw, "apiKey": KEY})
    assert problems == []
    recorder = _recorder()
    workspace = Workspace()
    if helper:
        workspace.open(_helper(tmp_path).as_uri(), HELPER, None, "python")
    rows = asyncio.run(
        evaluate(
            repo, settings, samples=1, seed=3, kinds=("line_end",), provider_factory=lambda s, c: recorder, workspace=workspace
        )
    )
    assert len(rows) == 1 and rows[0].line == CODE_LINE + 1
    (request,) = recorder.requests
    return request.prompt, request.suffix, [path for path, _ in request.extra]


PATHS = {"server": via_server, "complete": via_complete, "eval": via_eval}


@pytest.mark.parametrize("path", PATHS)
def test_the_defaults_take_the_whole_small_file(tmp_path, path):
    prompt, suffix, _ = PATHS[path](tmp_path, {})
    assert first_line(prompt) == 0
    assert suffix.count("\n") == LINES_AFTER + 1


@pytest.mark.parametrize("path", PATHS)
def test_max_prefix_chars(tmp_path, path):
    prompt, _, _ = PATHS[path](tmp_path, {"maxPrefixChars": 700})
    assert len(prompt) <= 700
    assert first_line(prompt) > 0


@pytest.mark.parametrize("path", PATHS)
def test_max_suffix_chars(tmp_path, path):
    _, suffix, _ = PATHS[path](tmp_path, {"maxSuffixChars": 4 * LINE_CHARS})
    assert 0 < len(suffix) <= 4 * LINE_CHARS
    assert suffix.count("\n") <= 4


@pytest.mark.parametrize("path", PATHS)
def test_prompt_anchor_lines(tmp_path, path):
    # 1050 characters hold about 74 lines before the cursor: the window could start
    # at line 75 to 77. The default (32, halved to 16 for so short a window) moves
    # it to 80; 6 moves it to 78; 1 leaves it where the budget ends.
    budget = 1050
    prompt, _, _ = PATHS[path](tmp_path, {"maxPrefixChars": budget, "promptAnchorLines": 1})
    assert len(prompt) + LINE_CHARS > budget  # not one more line would fit: no rounding
    tight = first_line(prompt)
    (tmp_path / "six").mkdir()
    prompt, _, _ = PATHS[path](tmp_path / "six", {"maxPrefixChars": budget, "promptAnchorLines": 6})
    assert first_line(prompt) % 6 == 0 and first_line(prompt) != tight and first_line(prompt) % 16 != 0


@pytest.mark.parametrize("path", PATHS)
def test_workspace_context(tmp_path, path):
    *_, snippets = PATHS[path](tmp_path, {}, helper=True)
    assert [p.rsplit("/", 1)[-1] for p in snippets] == ["helpers.py"]
    (tmp_path / "off").mkdir()
    *_, snippets = PATHS[path](tmp_path / "off", {"workspaceContext": False}, helper=True)
    assert snippets == []


@pytest.mark.parametrize("path", PATHS)
def test_context_budget_chars(tmp_path, path):
    # the snippet costs its text, its path and a header line: 60 characters are too few
    *_, snippets = PATHS[path](tmp_path, {"contextBudgetChars": 60}, helper=True)
    assert snippets == []
    (tmp_path / "more").mkdir()
    *_, snippets = PATHS[path](tmp_path / "more", {"contextBudgetChars": 400}, helper=True)
    assert len(snippets) == 1


@pytest.mark.parametrize("path", PATHS)
def test_exclude_globs_keep_an_open_file_out(tmp_path, path):
    *_, snippets = PATHS[path](tmp_path, {"excludeGlobs": ["helpers.*"]}, helper=True)
    assert snippets == []
