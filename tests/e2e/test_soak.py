"""A short soak in CI (bench/soak.py runs the long one): thousands of keystrokes
across many documents; memory flat, no leaked tasks, descriptors or connections,
every document still equal between the client and the server."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SOAK = Path(__file__).resolve().parents[2] / "bench" / "soak.py"


def load_soak():
    spec = importlib.util.spec_from_file_location("fim_bench_soak", SOAK)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


async def test_short_soak_finds_no_leak():
    soak = load_soak()
    report = await soak.soak(keystrokes=6000, documents=25, sample=300, quiet=True)
    assert report["problems"] == [], report
    assert report["keystrokes"] >= 6000
    assert report["provider_requests"] > 50, "the soak must reach the provider, not only the cache"
    assert report["answers_with_text"] > 50
    assert report["server_stats"].get("superseded", 0) > 100, "keystrokes must supersede each other"


def test_soak_checks_can_fail():
    soak = load_soak()
    clean = {
        "rss_first_half_mean_mib": 50.0,
        "rss_second_half_mean_mib": 50.5,
        "memory_growth": 0.01,
        "tasks_after_warmup": 1,
        "tasks_final": 1,
        "fds_after_warmup": 8,
        "fds_final": 8,
        "http_connections_max": 2,
        "http_connections_final": 1,
        "fake_open_connections_final": 1,
        "pending_handlers_final": 1,
        "open_documents_final": 10,
        "documents_mismatched": 0,
    }
    assert soak.check(clean, 10) == []
    leaks = {
        "rss_second_half_mean_mib": 60.0,
        "memory_growth": 0.2,
        "tasks_final": 30,
        "fds_final": 40,
        "http_connections_final": 9,
        "fake_open_connections_final": 9,
        "pending_handlers_final": 5,
        "open_documents_final": 9,
        "documents_mismatched": 1,
    }
    problems = soak.check({**clean, **leaks}, 10)
    assert len(problems) == 8, problems
