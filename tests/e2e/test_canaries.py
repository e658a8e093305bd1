"""A fresh attack with canaries on every path out of the process (issue 13).

A canary key (with a quote in it, as a paste picks one up) is configured; an
upstream echoes it in its error texts; a canary secret file (``.env``), a link
with an innocent name to it, a ``dotenv`` document and an ordinary file holding
secret-looking lines are open. Then everything that leaves the process is read:
the provider requests (bodies; the key may only be in the ``Authorization``
header), the ``--log-file`` with ``-v``, window messages and log messages,
``fimServer/status``, ``fimServer.stats``, and the command line's stdout, stderr
and report files. No canary may be anywhere.
"""

from __future__ import annotations

import json
from pathlib import Path
import subprocess
import sys
import time

from fim_server.fakes.deepseek import FakeDeepSeek, Reply

from .rawlsp import ROOT, RawServer, server_env

KEY = "sk-canary-KEY'with\"quotes-4242"
PLAIN_KEY = "Zq8canaryPLAINsecret4417"  # no known shape: only known, never guessed
ENV_SECRET = "CANARY_ENV_SECRET_VALUE_9931"
LINE_SECRETS = ("AKIAIOSFODNN7CANARY0", "sk-canary-inline-openai-0042", "canaryPRIVATEKEYBODY", "c4n4ryDbPassw0rd")
ORDINARY = (
    "import os\n"
    'AWS_KEY = "AKIAIOSFODNN7CANARY0"\n'
    'client = OpenAI(api_key="sk-canary-inline-openai-0042")\n'
    'DSN = "postgres://app:c4n4ryDbPassw0rd@db/app"\n'
    'KEY = """-----BEGIN RSA PRIVATE KEY-----\ncanaryPRIVATEKEYBODY\n-----END RSA PRIVATE KEY-----"""\n'
    "def main():\n    return \n"
)


def everything_but_auth(fake) -> str:
    out = []
    for request in fake.requests:
        out.append(request.path + request.query)
        out.append(request.body_text if hasattr(request, "body_text") else json.dumps(request.body))
        out += [f"{k}: {v}" for k, v in request.headers.items() if k.lower() != "authorization"]
    return "\n".join(out)


def assert_clean(text: str, where: str, *, secrets=(KEY, PLAIN_KEY, ENV_SECRET, *LINE_SECRETS)) -> None:
    for secret in secrets:
        for piece in {secret, secret[:10], secret[-10:], json.dumps(secret)[1:-1]}:
            assert piece not in text, f"{piece!r} reached {where}"


def test_canaries_never_leave_through_any_path(tmp_path: Path):
    project = tmp_path / "project"
    project.mkdir()
    (project / ".env").write_text(f"API_TOKEN={ENV_SECRET}\nx = 1\n")
    (project / "innocent.py").symlink_to(project / ".env")
    (project / "app.py").write_text(ORDINARY)
    log_file = tmp_path / "server.log"
    echo = f"upstream failure for {KEY} and {PLAIN_KEY} " + "x" * 150 + PLAIN_KEY
    with FakeDeepSeek(default=Reply(text="ok()")) as fake:
        server = RawServer("-v", "--log-file", str(log_file), env=server_env(OPENAI_API_KEY=PLAIN_KEY))
        try:
            server.initialize({"baseUrl": fake.url, "apiKey": KEY, "debounceMs": 0, "speculativeNext": True})
            for path in ("innocent.py", ".env"):
                server.open((project / path).as_uri(), (project / path).read_text())
            server.open("untitled:Untitled-1", f"TOKEN={ENV_SECRET}\n", language="dotenv")
            app = (project / "app.py").as_uri()
            server.open(app, ORDINARY)
            assert server.inline((project / "innocent.py").as_uri(), 1, 5) == []
            assert server.inline("untitled:Untitled-1", 0, 3) == []
            assert server.inline(app, 8, 11) == ["ok()"]
            fake.set_default(Reply.error(500, echo))
            server.change(app, 2, (8, 0), (8, 11), "    total = ")
            assert server.inline(app, 8, 12) == []
            time.sleep(2.5)  # past the back-off after the 500
            fake.set_default(Reply.error(401, echo))
            server.change(app, 3, (8, 0), (8, 12), "    count = ")
            assert server.inline(app, 8, 12) == []
            stats = json.dumps(server.stats())
        finally:
            assert server.close() == 0
        sent = everything_but_auth(fake)
        assert fake.completion_requests(), "the ordinary file was completed"
        assert all(r.headers.get("authorization") == f"Bearer {KEY}" for r in fake.completion_requests())
    assert_clean(sent, "a provider request")
    assert "def main():" in sent  # the ordinary code itself was sent
    shown = server.all_output()
    assert_clean(shown, "window messages, log messages, fimServer/status or stderr")
    assert any(n.get("method") == "fimServer/status" for n in server.notifications)
    assert "500" in shown and "401" in shown  # the failures were told, without the key
    assert_clean(stats, "fimServer.stats")
    assert_clean(log_file.read_text(), "the -v log file")


def run_cli(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = server_env(**(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "fim_server", *args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)


def test_canaries_never_leave_through_the_command_line(tmp_path: Path):
    project = tmp_path / "project"
    (project / "pkg").mkdir(parents=True)
    (project / ".env").write_text(f"TOKEN = '{ENV_SECRET}'\nother = 1\n" * 4)
    (project / "pkg" / "settings.py").symlink_to(project / ".env")
    (project / "pkg" / "app.py").write_text(ORDINARY * 3)
    echo = f"bad token {KEY} / {PLAIN_KEY}"
    with FakeDeepSeek(default=Reply.error(500, echo)) as fake:
        base = ["--set", f"baseUrl={fake.url}", "--set", f"apiKey={KEY}"]
        outputs = [
            run_cli("complete", f"{project / 'pkg' / 'app.py'}:9:12", *base, "-v", env_extra={"OPENAI_API_KEY": PLAIN_KEY}),
            run_cli("complete", f"{project / 'pkg' / 'settings.py'}:1:3", *base),
            run_cli("doctor", "--timeout", "5", *base, env_extra={"OPENAI_API_KEY": PLAIN_KEY}),
        ]
        sent = everything_but_auth(fake)
    assert outputs[0].returncode == 1 and "500" in outputs[0].stderr
    assert outputs[1].returncode == 1 and "never sent" in outputs[1].stderr
    out_dir = tmp_path / "eval"
    outputs.append(run_cli("eval", str(project), "--fake", "--samples", "20", "--no-progress", "--out", str(out_dir),
                           env_extra={"DEEPSEEK_API_KEY": PLAIN_KEY}))
    assert outputs[-1].returncode == 0, outputs[-1].stderr
    trace = tmp_path / "t.jsonl"
    trace.write_text("\n".join(json.dumps(e) for e in [
        {"type": "open", "uri": (project / "pkg" / "app.py").as_uri(), "languageId": "python", "text": ORDINARY, "line": 8, "character": 11},
        *({"type": "key", "text": c, "delay": 30} for c in "x + 1"),
    ]) + "\n")
    outputs.append(run_cli("replay", str(trace), "--latency-ms", "5", "--quiet", "--json", str(tmp_path / "r.json"),
                           "--html", str(tmp_path / "r.html"), "--set", f"apiKey={KEY}", env_extra={"DEEPSEEK_API_KEY": PLAIN_KEY}))
    assert outputs[-1].returncode == 0, outputs[-1].stderr
    reports = "".join(p.read_text() for p in [*out_dir.iterdir(), tmp_path / "r.json", tmp_path / "r.html"])
    for result in outputs:
        assert_clean(result.stdout + result.stderr, f"the output of {' '.join(result.args[3:5])}")
    assert_clean(sent, "a provider request from the command line")
    assert_clean(reports, "the eval and replay report files")


TRACED = (
    "import os\n\n\n"
    "def connect():\n"
    '    client = OpenAI(api_key="sk-canary-inline-openai-0042")\n'
    '    aws = "AKIAIOSFODNN7CANARY0"\n'
    '    dsn = "postgres://app:c4n4ryDbPassw0rd@db/app"\n'
    f'    plain = "{PLAIN_KEY}"\n'
    "    return client, aws, dsn, plain\n\n\n"
    "def key():\n"
    '    return """-----BEGIN RSA PRIVATE KEY-----\ncanaryPRIVATEKEYBODY\n-----END RSA PRIVATE KEY-----"""\n'
)


def test_canaries_never_reach_a_trace(tmp_path: Path):
    """``fim-server trace`` writes a file's text, typed one key at a time: its secret
    lines and the environment's keys are masked before the keys are made (masking
    the output alone would miss a key typed character by character), in the file
    (-o) as on stdout; a secret file (or a link to one) is not traced at all."""
    from fim_server.tools.replay.trace import parse_trace

    project = tmp_path / "project"
    project.mkdir()
    (project / "app.py").write_text(TRACED)
    (project / ".env").write_text(f"def f():\n    return '{ENV_SECRET}'\n")
    (project / "innocent.py").symlink_to(project / ".env")
    env = {"DEEPSEEK_API_KEY": PLAIN_KEY}
    to_file = run_cli("trace", str(project / "app.py"), "-o", str(tmp_path / "t.jsonl"), "--keys", "100000", env_extra=env)
    assert to_file.returncode == 0, to_file.stderr
    to_stdout = run_cli("trace", str(project / "app.py"), "--keys", "100000", env_extra=env)
    assert to_stdout.returncode == 0, to_stdout.stderr
    for where, text in (("the trace file", (tmp_path / "t.jsonl").read_text()), ("the trace on stdout", to_stdout.stdout)):
        typed = parse_trace(text.splitlines(), "t").final_text()
        assert "def connect():" in typed and "def key():" in typed and "***" in typed  # typed, masked
        assert_clean(text + typed, where)
    for secret_file in (".env", "innocent.py"):
        out = tmp_path / f"{secret_file}.jsonl"
        refused = run_cli("trace", str(project / secret_file), "-o", str(out), env_extra=env)
        assert refused.returncode == 2 and "not tracing" in refused.stderr and not out.exists()
        assert_clean(refused.stdout + refused.stderr, "the refusal")
