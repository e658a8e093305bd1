"""``fim-server doctor`` as a user runs it, against the fakes: a working setup
exits 0 and says so; a bad key, an unreachable server, an unknown model, a
missing key, bad settings and a loading llama.cpp each exit 1 naming the fix."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

from fim_server.fakes.codestral import FakeCodestral
from fim_server.fakes.replies import Reply
from fim_server.fakes.deepseek import FakeDeepSeek
from fim_server.fakes.llamacpp import FakeLlamaCpp
from fim_server.fakes.ollama import FakeOllama
from fim_server.fakes.openai import FakeOpenAI

KEY_VARS = ("DEEPSEEK_API_KEY", "OPENAI_API_KEY", "MISTRAL_API_KEY", "OLLAMA_API_KEY", "LLAMA_API_KEY")
ENV = {k: v for k, v in os.environ.items() if k not in KEY_VARS}
SECRET = "sk-doctor-SECRET-KEY-5150"


def doctor(*sets: str, env: dict | None = None, settings_file=None) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "fim_server", "doctor", "--timeout", "5"]
    if settings_file:
        args += ["--settings", str(settings_file)]
    for item in sets:
        args += ["--set", item]
    return subprocess.run(args, capture_output=True, text=True, env=env or ENV, timeout=60)


def line(out: str, name: str) -> str:
    [found] = [l for l in out.splitlines() if l.strip().split(" ", 1)[-1].strip().startswith(name + ":")]
    return found


def test_working_deepseek_setup_from_a_settings_file(tmp_path):
    with FakeDeepSeek(api_key=SECRET, default=Reply(text="a + b")) as fake:
        path = tmp_path / "settings.json"
        path.write_text(json.dumps({"fimServer": {"baseUrl": fake.url + "/beta", "model": "deepseek-v4-flash",
                                                  "apiKey": SECRET}}))
        result = doctor(settings_file=path)
        assert result.returncode == 0, result.stdout
        out = result.stdout
        assert "ok" in line(out, "settings") and "ok" in line(out, "API key") and "fimServer.apiKey" in out
        assert SECRET not in out + result.stderr and "sk-…5150" in out
        assert "deepseek-v4-flash is available" in line(out, "model")
        fim = line(out, "FIM request")
        assert "ok" in fim and "'a + b'" in fim and " ms" in fim and "tokens: prompt" in fim
        assert [r.path for r in fake.requests] == ["/models", "/beta/completions"]  # models at the API root


def test_working_ollama_setup_needs_no_key():
    with FakeOllama(default=Reply(text="a + b")) as fake:
        result = doctor("provider=ollama", f"baseUrl={fake.base_url}")
        assert result.returncode == 0, result.stdout
        assert "All checks passed" in result.stdout
        assert [r.path for r in fake.requests] == ["/api/tags", "/api/generate"]


def test_working_vllm_setup_reports_the_template_fallback():
    with FakeOpenAI(default=Reply(text="a + b")) as fake:
        result = doctor("provider=openai", f"baseUrl={fake.base_url}")
        assert result.returncode == 0, result.stdout
        assert "qwen template" in line(result.stdout, "FIM request")


def test_bad_key():
    with FakeCodestral(api_key="the-right-key") as fake:
        result = doctor("provider=codestral", f"baseUrl={fake.base_url}", f"apiKey={SECRET}")
        assert result.returncode == 1
        assert "FAIL" in line(result.stdout, "API key accepted") and "MISTRAL_API_KEY" in result.stdout
        assert "skip" in line(result.stdout, "FIM request")
        assert SECRET not in result.stdout
        assert fake.completion_requests() == []


def test_missing_key_names_the_variable():
    result = doctor("provider=codestral", "baseUrl=http://127.0.0.1:9/v1")
    assert result.returncode == 1
    assert "FAIL" in line(result.stdout, "API key") and "MISTRAL_API_KEY" in line(result.stdout, "API key")


def test_environment_key_is_not_sent_to_another_host():
    # DEEPSEEK_API_KEY is DeepSeek's: a DeepSeek-compatible server elsewhere gets apiKey or nothing
    with FakeDeepSeek(default=Reply(text="a + b")) as fake:
        result = doctor(f"baseUrl={fake.url}/beta", env={**ENV, "DEEPSEEK_API_KEY": SECRET})
    assert result.returncode == 1
    key = line(result.stdout, "API key")
    assert "FAIL" in key and "DEEPSEEK_API_KEY is set but is sent only to api.deepseek.com" in key
    assert "fimServer.apiKey" in key and SECRET not in result.stdout + result.stderr
    assert fake.requests == []


def test_unreachable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused
        result = doctor("provider=llamacpp", f"baseUrl=http://127.0.0.1:{port}")
    assert result.returncode == 1
    assert "FAIL" in line(result.stdout, "reachable") and f"127.0.0.1:{port}" in line(result.stdout, "reachable")
    assert "skip" in line(result.stdout, "FIM request")


def test_unknown_model_lists_what_the_server_has():
    with FakeOpenAI(accepts_suffix=True, validate_models=True) as fake:
        result = doctor("provider=openai", f"baseUrl={fake.base_url}", "model=qwen-typo")
        assert result.returncode == 1
        model = line(result.stdout, "model")
        assert "FAIL" in model and "'qwen-typo'" in model and "Qwen/Qwen2.5-Coder-1.5B" in model
        assert "FAIL" in line(result.stdout, "FIM request")


def test_bad_setting_fails_the_settings_check():
    with FakeOllama() as fake:
        result = doctor("provider=ollama", f"baseUrl={fake.base_url}", "temperature=hot")
        assert result.returncode == 1
        assert "FAIL" in line(result.stdout, "settings") and "temperature" in line(result.stdout, "settings")


def test_llamacpp_still_loading():
    with FakeLlamaCpp(loading=True) as fake:
        result = doctor("provider=llamacpp", f"baseUrl={fake.base_url}")
        assert result.returncode == 1
        assert "loading" in line(result.stdout, "reachable")
        fake.loading = False
        result = doctor("provider=llamacpp", f"baseUrl={fake.base_url}")
        assert result.returncode == 0, result.stdout


def test_an_error_echoing_the_key_is_masked():
    # issue 13: doctor printed an upstream's error text with the key in it
    key = "Zq8canaryDOCTORsecret4417"
    with FakeDeepSeek(api_key=key, default=Reply.error(500, f"upstream failed for token {key} and sk-canary-other-0001")) as fake:
        result = doctor(f"baseUrl={fake.url}/beta", f"apiKey={key}")
    assert result.returncode == 1 and "500" in line(result.stdout, "FIM request")
    assert key not in result.stdout + result.stderr and "sk-canary-other" not in result.stdout + result.stderr


def test_timeout_bounds_each_whole_check():
    # issue 13: --timeout 2 ran 26 s against an upstream that drips keep-alives
    import time

    with FakeDeepSeek(api_key=SECRET, default=Reply(text="a + b", keepalives=60, keepalive_interval=0.5)) as fake:
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "fim_server", "doctor", "--timeout", "2", "--set", f"baseUrl={fake.url}/beta", "--set", f"apiKey={SECRET}"],
            capture_output=True, text=True, env=ENV, timeout=60,
        )
        elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert "FAIL" in line(result.stdout, "FIM request") and "within 2 s" in line(result.stdout, "FIM request")
    assert elapsed < 12, elapsed


def test_timeout_must_be_a_sane_number():
    for bad in ("inf", "nan", "0", "-1"):
        result = subprocess.run([sys.executable, "-m", "fim_server", "doctor", "--timeout", bad],
                                capture_output=True, text=True, env=ENV, timeout=30)
        assert result.returncode == 2 and "--timeout" in result.stderr


def test_json_report_with_settings_read_from_stdin_never_holds_the_key():
    """What the Neovim plugin's :checkhealth runs: the settings (key included) on
    stdin, not in a file or the command line; the report as JSON."""
    with FakeDeepSeek(api_key=SECRET, default=Reply(text="a + b")) as fake:
        done = subprocess.run(
            [sys.executable, "-m", "fim_server", "doctor", "--json", "--timeout", "5", "--settings", "-"],
            input=json.dumps({"baseUrl": fake.url, "apiKey": SECRET}), capture_output=True, text=True, env=ENV, timeout=60,
        )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["provider"], report["model"], report["baseUrl"], report["ok"]) == ("deepseek", "deepseek-v4-flash", fake.url, True)
    assert report["keyEnv"] == "DEEPSEEK_API_KEY"
    assert {c["name"]: c["status"] for c in report["checks"]}["model"] == "ok"
    assert SECRET not in done.stdout + done.stderr and SECRET[-4:] not in done.stdout


def test_json_report_says_what_failed():
    done = subprocess.run(
        [sys.executable, "-m", "fim_server", "doctor", "--json", "--timeout", "5", "--settings", "-"],
        input="{}", capture_output=True, text=True, env=ENV, timeout=60,
    )
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["ok"] is False
    assert {c["name"]: c["status"] for c in report["checks"]}["API key"] == "FAIL"


def test_doctor_says_where_each_setting_came_from_and_warns_about_a_folder(tmp_path):
    """Issue 18: the client may say where it got each setting (``$sources``); a
    folder that picks the provider's address is a warning, --set wins over the file."""
    with FakeDeepSeek(api_key=SECRET, default=Reply(text="a + b")) as fake:
        path = tmp_path / "settings.json"
        path.write_text(json.dumps({"fimServer": {
            "baseUrl": fake.url + "/beta", "model": "deepseek-v4-flash",
            "$sources": {"baseUrl": "folder /work/cloned (.vscode/settings.json)", "model": "user settings"}}}))
        result = doctor(f"apiKey={SECRET}", settings_file=path)
        assert result.returncode == 0, result.stdout
        sources = line(result.stdout, "setting sources")
        assert sources.split()[0] == "warn"
        assert "baseUrl from folder /work/cloned (.vscode/settings.json)" in sources
        assert "model from user settings" in sources and "apiKey from --set" in sources
        assert "set by a project folder: baseUrl" in sources
        assert SECRET not in result.stdout + result.stderr
        plain = doctor(f"apiKey={SECRET}", f"baseUrl={fake.url}/beta")
        sources = line(plain.stdout, "setting sources")
        assert sources.split()[0] == "ok" and "baseUrl from --set" in sources and "folder" not in sources
