"""The command line: headless ``complete``, ``--tcp`` and ``--help``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fim_server.fakes.deepseek import FakeDeepSeek, Reply

API_KEY = "sk-cli-RECOGNISABLE-KEY-7777"
ENV = {k: v for k, v in os.environ.items() if k != "DEEPSEEK_API_KEY"}


def run(*args: str, env: dict | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fim_server", *args],
        capture_output=True,
        text=True,
        env=env or ENV,
        timeout=timeout,
    )


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "example.py"
    path.write_text("def add(a, b):\n    return \n\nprint('中文', add(1, 2))\n", encoding="utf-8")
    return path


def test_complete_prints_the_completion_and_sends_prompt_and_suffix(source):
    with FakeDeepSeek([Reply(text="a + b")], api_key=API_KEY) as fake:
        result = run("complete", f"{source}:2:12", "--set", f"baseUrl={fake.url}", "--set", f"apiKey={API_KEY}", env=ENV)
        assert result.returncode == 0, result.stderr
        assert result.stdout == "a + b\n"
        (req,) = fake.completion_requests()
        assert req.body["prompt"] == "def add(a, b):\n    return "
        assert req.body["suffix"] == "\n\nprint('中文', add(1, 2))\n"


def test_complete_column_counts_characters_in_cjk_lines(source):
    with FakeDeepSeek([Reply(text=", X")], api_key=API_KEY) as fake:
        # line 4, column 11 is right after the two CJK characters and the quote
        result = run("complete", f"{source}:4:11", "--set", f"baseUrl={fake.url}", "--set", f"apiKey={API_KEY}")
        assert result.returncode == 0, result.stderr
        assert fake.completion_requests()[0].body["prompt"].endswith("print('中文'")


def test_complete_settings_file_and_json_output(source, tmp_path):
    with FakeDeepSeek([Reply(text="a + b")], api_key=API_KEY) as fake:
        settings = tmp_path / "settings.json"
        settings.write_text(json.dumps({"fimServer": {"baseUrl": fake.url, "apiKey": API_KEY, "model": "deepseek-v4-pro"}}))
        result = run("complete", f"{source}:2", "--settings", str(settings), "--json")
        assert result.returncode == 0, result.stderr
        out = json.loads(result.stdout)
        assert out["completion"] == "a + b"
        assert out["usage"]["prompt_tokens"] > 0
        assert fake.completion_requests()[0].body["model"] == "deepseek-v4-pro"


def test_complete_without_key_prints_one_clear_line(source):
    result = run("complete", f"{source}:2:12")
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "DEEPSEEK_API_KEY" in lines[0]
    # the fix in the command line's words (an editor's setting name means nothing here)
    assert "--set apiKey=" in lines[0] and "fimServer.apiKey" not in lines[0]
    assert "Traceback" not in result.stderr


def test_complete_provider_error_prints_one_line_without_the_key(source):
    with FakeDeepSeek([Reply.error(401, f"Authentication Fails, Your api key: {API_KEY} is invalid")]) as fake:
        result = run("complete", f"{source}:2:12", "--set", f"baseUrl={fake.url}", "--set", f"apiKey={API_KEY}", env=ENV)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "401" in lines[0]
    assert API_KEY not in result.stderr + result.stdout


@pytest.mark.parametrize("key", [API_KEY, "Zq8canaryPLAINsecret4417"])
def test_complete_error_echoing_the_key_never_prints_it(source, key):
    # issue 13: a 500 whose body echoes the key was printed as it came
    with FakeDeepSeek([Reply.error(500, f"internal error for invalid token {key} (request 17)")]) as fake:
        # the key in the environment only (an error text may echo any key the process knows)
        result = run("complete", f"{source}:2:12", "--set", f"baseUrl={fake.url}", "--set", "apiKey=sk-cli-another-key-0002",
                     env={**ENV, "DEEPSEEK_API_KEY": key})
        json_result = run("complete", f"{source}:2:12", "--json", "--set", f"baseUrl={fake.url}", "--set", f"apiKey={key}")
    assert result.returncode == 1 and "500" in result.stderr
    for out in (result, json_result):
        assert key not in out.stderr + out.stdout and key[:8] not in out.stderr + out.stdout


@pytest.mark.parametrize("kind", ["fifo", "zero", "folder"])
def test_complete_on_something_that_is_not_a_file_exits_2_at_once(tmp_path, kind):
    # issue 13: a FIFO hung for ever, /dev/zero read until memory ran out
    if kind == "fifo":
        path = tmp_path / "pipe.py"
        os.mkfifo(path)
    else:
        path = Path("/dev/zero") if kind == "zero" else tmp_path
    started = time.monotonic()
    result = run("complete", f"{path}:1:1", timeout=20)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: cannot read") and "Traceback" not in result.stderr
    assert time.monotonic() - started < 15


@pytest.mark.parametrize("command", ["settings", "replay", "trace"])
def test_other_file_arguments_refuse_fifos_and_devices_at_once(tmp_path, source, command):
    # the same class as issue 13's `complete` on a FIFO: a settings file, a trace to
    # replay and a file to make a trace of are read only when they are regular files
    fifo = tmp_path / "input.json"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        args = {
            "settings": ["complete", f"{source}:2:12", "--settings", str(path)],
            "replay": ["replay", str(path), "--quiet"],
            "trace": ["trace", str(path)],
        }[command]
        started = time.monotonic()
        result = run(*args, timeout=20)
        assert result.returncode == 2, result.stderr
        assert "cannot read" in result.stderr and "Traceback" not in result.stderr
        assert time.monotonic() - started < 15


def test_complete_on_a_link_to_an_env_file_is_refused(tmp_path):
    (tmp_path / ".env").write_text("x = 'CANARYLINKED'\n")
    (tmp_path / "innocent.py").symlink_to(tmp_path / ".env")
    with FakeDeepSeek([Reply(text="1")], api_key=API_KEY) as fake:
        result = run("complete", f"{tmp_path / 'innocent.py'}:1:1", "--set", f"baseUrl={fake.url}", "--set", f"apiKey={API_KEY}")
        assert fake.completion_requests() == []
    assert result.returncode == 1 and "never sent" in result.stderr


@pytest.mark.parametrize("spec", ["{src}:99:1", "{src}:2:80", "{src}:zero", "/no/such/file.py:1:1"])
def test_complete_bad_position_is_a_usage_error(source, spec):
    result = run("complete", spec.format(src=source))
    assert result.returncode == 2
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr


def test_complete_demo_needs_no_key(source):
    result = run("complete", f"{source}:2:12", "--demo")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "a + b\n"


def test_bad_setting_warns_and_uses_default(source):
    with FakeDeepSeek([Reply(text="ok")], api_key=API_KEY) as fake:
        result = run("complete", f"{source}:2:12", "--set", f"baseUrl={fake.url}", "--set", "maxTokens=huge", "--set", f"apiKey={API_KEY}", env=ENV)
        assert result.returncode == 0
        assert "fimServer.maxTokens" in result.stderr
        assert fake.completion_requests()[0].body["max_tokens"] == 256


def test_help_lists_the_commands():
    result = run("--help")
    assert result.returncode == 0
    assert "complete" in result.stdout and "--tcp" in result.stdout and "--log-file" in result.stdout


@pytest.mark.parametrize("demo", [False, True])
def test_server_on_a_null_or_file_stdin_ends_instead_of_hanging(tmp_path, demo):
    """stdin that the event loop cannot watch (/dev/null, a file) is read on a thread:
    the server answers what the file holds and ends at its end (it used to print a
    traceback from the loop and wait for ever)."""
    extra = ["--demo"] if demo else []
    with open(os.devnull, "rb") as null:
        result = subprocess.run([sys.executable, "-m", "fim_server", *extra], stdin=null,
                                capture_output=True, env=ENV, timeout=30)
    assert result.returncode == 0 and b"Traceback" not in result.stderr
    body = b'{"jsonrpc":"2.0","id":1,"method":"shutdown"}'
    requests = tmp_path / "requests.lsp"
    requests.write_bytes(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    with open(requests, "rb") as stdin:
        result = subprocess.run([sys.executable, "-m", "fim_server", *extra], stdin=stdin,
                                capture_output=True, env=ENV, timeout=30)
    assert result.returncode == 0 and b"Traceback" not in result.stderr
    assert b'"id": 1' in result.stdout and b'"result": null' in result.stdout
