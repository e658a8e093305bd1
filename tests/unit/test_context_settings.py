"""Every setting that shapes the cursor context takes effect in all three paths that
build one: the language server, ``fim-server complete`` and ``fim-server eval``.

Each path is run for real up to the provider, and the test looks at the prompt,
suffix and workspace snippets the provider received. The document: numbered
comment lines around one code line, so the first line of a prompt window can be
read off its text; the other open file (the server's other document, ``--open``
for the command line) shares words with the code line.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
import re

import pytest
from lsprotocol import types

from fim_server import cli
from fim_server.core.engine import CompletionEngine
from fim_server.fakes.deepseek import FakeDeepSeek, Reply
from fim_server.lsp import server as lsp_server
from fim_server.providers.base import Completion, Usage
from fim_server.settings import parse_settings
from fim_server.core.workspace import Workspace
from fim_server.tools.eval.run import evaluate

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


class Recorder:
    """A provider that records what it was asked."""

    name = "recorder"

    def __init__(self) -> None:
        self.requests: list = []

    async def complete(self, request, timeout_s: float, progress=None) -> Completion:
        self.requests.append(request)
        return Completion("compute(first, second)", "stop", Usage())


def via_server(tmp_path: Path, raw: dict, helper: bool = False) -> tuple[str, str, list[str]]:
    recorder = Recorder()
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
    recorder = Recorder()
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
