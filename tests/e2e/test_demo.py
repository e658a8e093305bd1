"""``fim-server --demo``: LSP on stdio with answers from the built-in fake, no key,
no network; whatever provider the editor's settings name is never asked."""

from __future__ import annotations

from pathlib import Path

from fim_server.fakes.deepseek import FakeDeepSeek, Reply

from .rawlsp import RawServer, server_env

CANARY_KEY = "sk-demo-CANARY-never-sent-4242"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "add.py"


def test_demo_server_answers_on_stdio_without_a_key():
    text = EXAMPLE.read_text(encoding="utf-8")
    line = next(i for i, t in enumerate(text.splitlines()) if t.strip() == "return")
    with RawServer("--demo", env=server_env()) as server:
        server.initialize({})
        server.open("file:///demo/add.py", text)
        items = server.inline("file:///demo/add.py", line, len(text.splitlines()[line]))
        assert items == ["a + b"]  # the line ends with "return "
        assert "demo mode" in server.all_output()  # on stderr: the editor's server log
        assert not server.messages()  # no "no API key" error


def test_demo_ignores_the_provider_and_key_the_editor_sends():
    with FakeDeepSeek([Reply(text="from the real provider")]) as real:
        with RawServer("--demo", env=server_env(DEEPSEEK_API_KEY=CANARY_KEY)) as server:
            server.initialize({"baseUrl": real.url, "apiKey": CANARY_KEY, "provider": "deepseek"})
            server.open("file:///demo/x.py", "x = \n")
            assert server.inline("file:///demo/x.py", 0, 4) == ["fim_server_demo()"]
            server.notify("workspace/didChangeConfiguration", {"settings": {"fimServer": {"baseUrl": real.url}}})
            assert server.inline("file:///demo/x.py", 0, 4) == ["fim_server_demo()"]
            assert CANARY_KEY not in server.all_output()
        assert real.completion_requests() == []
