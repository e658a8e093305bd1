"""`fim-server eval REPO`: hole punching over a small repository with the oracle fake."""

from __future__ import annotations

import json
import os
from pathlib import Path
import subprocess
import sys

import pytest

ROOT = Path(__file__).resolve().parents[2]

MODULE = '''"""A small module to punch holes in."""

import os


def total(values):
    result = 0
    for value in values:
        if value > 0:
            result += value
        else:
            result -= value
    return result


class Counter:
    def __init__(self, start=0):
        self.count = start
        self.history = []

    def step(self, amount=1):
        self.history.append(self.count)
        self.count += amount
        return self.count

    def reset(self):
        self.history.clear()
        self.count = 0


def describe(counter):
    parts = [str(counter.count), os.sep.join(["a", "b"])]
    return ", ".join(parts)
'''


def eval_cli(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DEEPSEEK_API_KEY"}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "fim_server", "eval", *args], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "counting.py").write_text(MODULE)
    (tmp_path / "pkg" / "more.py").write_text(MODULE.replace("Counter", "Tally").replace("total", "overall"))
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "skip.py").write_text("x = 1\n")
    return tmp_path


def test_oracle_without_faults_is_exact_and_reports_are_written(repo, tmp_path):
    out = tmp_path / "report"
    proc = eval_cli(str(repo), "--fake", "--fault-rate", "0", "--samples", "16", "--seed", "3", "--json", "--no-progress", "--out", str(out), "--price", "0.27,0.07,1.1")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)["summary"]
    assert summary["all"]["n"] == 16
    assert summary["all"]["exact_match"] == 1.0
    assert summary["all"]["edit_similarity"] == 1.0
    assert summary["all"]["parseable"] == 1.0
    assert summary["all"]["prompt_tokens"] > 0 and summary["all"]["cost_usd"] > 0
    assert set(summary["by_kind"]) == {"line_end", "mid_line", "block_start", "multi_line"}
    data = json.loads((out / "eval.json").read_text())
    assert all(not row["path"].startswith("node_modules") for row in data["rows"])
    assert "| **all** | 16 | 100.0% |" in (out / "report.md").read_text()
    assert "![latency.svg](latency.svg)" in (out / "report.md").read_text()
    html = (out / "report.html").read_text()
    assert html.count("<svg") == 3 and "<table" in html
    assert (out / "exact_by_kind.svg").read_text().startswith("<svg")


def test_faults_are_repaired_mostly_and_sampling_is_seeded(repo, tmp_path):
    runs = []
    for name in ("a", "b"):
        proc = eval_cli(str(repo), "--fake", "--fault-rate", "1", "--samples", "20", "--seed", "5", "--no-progress", "--out", str(tmp_path / name))
        assert proc.returncode == 0, proc.stderr
        runs.append(json.loads((tmp_path / name / "eval.json").read_text())["rows"])
    assert [(r["path"], r["line"], r["truth"]) for r in runs[0]] == [(r["path"], r["line"], r["truth"]) for r in runs[1]]
    rows = runs[0]
    assert sum(r["fault"] is not None for r in rows) >= 15  # every hole with an applicable fault got one
    assert sum(r["exact"] for r in rows) >= 16
    # the terminal table has a row per kind and a total
    assert "all " in proc.stdout and "exact" in proc.stdout


def test_progress_bar_on_stderr(repo):
    proc = eval_cli(str(repo), "--fake", "--samples", "4", "--seed", "1")
    assert proc.returncode == 0
    assert "[" in proc.stderr and "4/4" in proc.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["/nonexistent/dir", "--fake"], "is not a directory"),
        (["{repo}"], "no API key"),
        (["{repo}", "--fake", "--kinds", "line_end,sideways"], "unknown kinds sideways"),
        (["{repo}", "--fake", "--price", "cheap"], "--price needs"),
    ],
)
def test_bad_input_gives_a_clear_error(repo, args, message):
    proc = eval_cli(*[a.format(repo=repo) for a in args])
    assert proc.returncode == 2
    assert message in proc.stderr


def test_empty_repository(tmp_path):
    proc = eval_cli(str(tmp_path), "--fake", "--no-progress")
    assert proc.returncode == 2 and "no source files" in proc.stderr


def test_rejected_key_stops_the_run_with_the_providers_message(repo):
    from fim_server.fakes.deepseek import FakeDeepSeek, Reply

    fake = FakeDeepSeek(default=Reply(status=401, text="")).start()
    try:
        proc = eval_cli(str(repo), "--samples", "5", "--no-progress", "--set", f"baseUrl={fake.url}", "--set", "apiKey=sk-bad-key-123456")
    finally:
        fake.stop()
    assert proc.returncode == 1
    assert "error: the provider refused" in proc.stderr and "401" in proc.stderr
    assert len(fake.completion_requests()) == 1  # stopped at the first refusal


def test_a_py_link_to_an_env_file_is_never_read(repo, tmp_path):
    # issue 13: eval wrote the text of `config.py -> .env` into its report
    (repo / ".env").write_text("greeting = 'CANARYENVVALUE'\nwelcome = 'CANARYENVVALUE2'\nanswer = 42\n" * 5)
    (repo / "pkg" / "config.py").symlink_to(repo / ".env")
    out = tmp_path / "report"
    proc = eval_cli(str(repo), "--fake", "--fault-rate", "0", "--samples", "40", "--seed", "2", "--json", "--no-progress", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    written = "".join(p.read_text() for p in out.iterdir())
    assert "CANARYENVVALUE" not in proc.stdout + proc.stderr + written
    assert {row["path"].rsplit("/", 1)[-1] for row in json.loads((out / "eval.json").read_text())["rows"]} <= {"counting.py", "more.py"}


def test_report_files_never_hold_the_key(repo, tmp_path):
    key = "Zq8canaryEVALsecret4417"
    (repo / "pkg" / "keys.py").write_text(f"KEY = '{key}'\nvalue = 1\n" * 8)
    out = tmp_path / "report"
    proc = eval_cli(str(repo), "--fake", "--fault-rate", "0", "--samples", "30", "--seed", "4", "--no-progress", "--out", str(out),
                    env_extra={"DEEPSEEK_API_KEY": key})
    assert proc.returncode == 0, proc.stderr
    written = "".join(p.read_text() for p in out.iterdir())
    assert "keys.py" in written  # the file was sampled, and its key masked on the way out
    assert key not in proc.stdout + proc.stderr + written
