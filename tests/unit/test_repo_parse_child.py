"""core/repo/parse_child: a large file's definitions come from a child process (the
server's interpreter lock is never held by a long tree-sitter parse), the same as
parsed in the server; a child that fails costs that file its definitions only; no
child leaves the server without definitions; the child is ended when the index is
idle or stops. The stalls themselves are measured by bench/bench_index_stall.py."""

from __future__ import annotations

from pathlib import Path
import subprocess
import sys
import time

import pytest

from fim_server.core.repo import definitions, parse_child
from fim_server.core.repo.index import Indexer, RepoIndex, build_entry
from fim_server.core.repo.parse_child import IN_PROCESS_CHARS, ChildParser


def large_module(functions: int = 900) -> str:
    text = "".join(f'def handler_{i}(event, retries=3):\n    """Handle event {i}."""\n    return event + {i}\n\n\n'
                   for i in range(functions))
    assert len(text) > IN_PROCESS_CHARS
    return text


@pytest.fixture
def child():
    parser = ChildParser()
    yield parser
    parser.close()


def test_a_large_file_is_parsed_by_the_child_with_the_same_definitions(child):
    text = large_module()
    entry = build_entry("/w/big.py", "python", text, {}, child=child)
    assert child.files == 1 and child.started == 1
    assert entry.definitions == definitions.extract("python", text)
    assert len(entry.definitions) == 900 and entry.definitions[5].name == "handler_5"
    assert entry.rendered(5)[0].startswith("def handler_5(event, retries=3):\n    \"\"\"Handle event 5.")


def test_a_small_file_stays_in_the_server(child):
    entry = build_entry("/w/small.py", "python", "def tiny():\n    pass\n", {}, child=child)
    assert [d.name for d in entry.definitions] == ["tiny"]
    assert child.files == 0 and not child.running  # no child started for it


def test_a_failing_child_costs_that_file_its_definitions_only(child, monkeypatch):
    monkeypatch.setattr(parse_child, "TIMEOUT_S", 0.3)
    slow = "x = [" * 150_000  # tree-sitter takes seconds on it
    entry = build_entry("/w/generated.py", "python", slow, {}, child=child)
    assert entry.definitions == [] and entry.text == slow  # indexed, without definitions
    assert not child.running  # the stuck child was killed
    monkeypatch.setattr(parse_child, "TIMEOUT_S", 20.0)
    entry = build_entry("/w/big.py", "python", large_module(), {}, child=child)
    assert len(entry.definitions) == 900 and child.started == 2  # a new child for the next file


def test_the_child_ignores_modules_in_the_working_folder(child, tmp_path, monkeypatch):
    marker = tmp_path / "imported"
    (tmp_path / "tree_sitter.py").write_text(f"open({str(marker)!r}, 'w').close()\nraise SystemExit(3)\n")
    monkeypatch.chdir(tmp_path)  # a workspace with a module named like one the child imports
    entry = build_entry("/w/big.py", "python", large_module(), {}, child=child)
    assert len(entry.definitions) == 900 and child.files == 1
    assert not marker.exists()


def test_without_a_child_large_files_are_parsed_in_the_server(child, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("no interpreter here")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    text = large_module()
    entry = build_entry("/w/big.py", "python", text, {}, child=child)
    assert child.unavailable and child.files == 0
    assert entry.definitions == definitions.extract("python", text)


def test_children_that_keep_failing_are_given_up(child, monkeypatch):
    monkeypatch.setattr(parse_child, "_CHILD_CODE", "import sys; sys.exit(1)")  # a broken installation, say
    text = large_module()
    for _ in range(parse_child.MAX_FAILURES):
        assert build_entry("/w/big.py", "python", text, {}, child=child).definitions == []
    assert child.unavailable and child.started == parse_child.MAX_FAILURES
    assert build_entry("/w/big.py", "python", text, {}, child=child).definitions == definitions.extract("python", text)


def test_the_indexer_ends_its_child_after_a_walk_and_when_idle(tmp_path, monkeypatch):
    (tmp_path / "big.py").write_text(large_module())
    (tmp_path / "small.py").write_text("def tiny():\n    pass\n")
    index = RepoIndex([str(tmp_path)])
    indexer = Indexer(index, lambda p, l: True)
    indexer.run_now()
    assert indexer.child.files == 1 and not indexer.child.running
    assert [d.name for d in index.files[(tmp_path / "big.py").as_posix()].definitions][:2] == ["handler_0", "handler_1"]

    monkeypatch.setattr("fim_server.core.repo.index.CHILD_IDLE_S", 0.2)
    background = Indexer(RepoIndex([str(tmp_path)]), lambda p, l: True)
    background.start()
    try:
        background.drain()
        assert background.child.files == 1
        deadline = time.monotonic() + 10
        while background.child.running and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not background.child.running  # idle: ended
        big = Path(tmp_path / "big.py")
        big.write_text(large_module(901))
        background.changed(str(big))
        background.drain()
        assert len(background.index.files[big.as_posix()].definitions) == 901  # a new child for the change
        assert background.child.started == 2
    finally:
        background.stop()
        background.join(5)
    assert not background.child.running  # stopped: ended


def test_java_and_cpp_files_go_to_the_child_whatever_their_size(child, monkeypatch):
    small = "class Greeter {\n    String greet(String name) { return name; }\n}\n"
    assert len(small) < IN_PROCESS_CHARS
    entry = build_entry("/w/Greeter.java", "java", small, {}, child=child)
    assert child.files == 1  # parsed by the child, not here
    assert entry.definitions == definitions.extract("java", small)
    assert {d.name for d in entry.definitions} >= {"Greeter", "greet"}
    build_entry("/w/small.py", "python", "def tiny():\n    pass\n", {}, child=child)
    assert child.files == 1  # other languages' small files stay in the server
    # a short ambiguous Java text takes tree-sitter seconds: the child's timeout bounds it
    monkeypatch.setattr(parse_child, "TIMEOUT_S", 0.3)
    hostile = "class X{void f(){a" + "<a" * 8_000
    assert len(hostile) < IN_PROCESS_CHARS
    started = time.monotonic()
    assert build_entry("/w/X.java", "java", hostile, {}, child=child).definitions == []
    assert time.monotonic() - started < 5 and not child.running


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads the child's environment from /proc")
def test_the_child_gets_no_provider_key_from_the_environment(child, monkeypatch):
    canary = "sk-c4n4ry0000child0000environ0000"
    monkeypatch.setenv("DEEPSEEK_API_KEY", canary)
    monkeypatch.setenv("FIM_SERVER_API_KEY", canary)
    monkeypatch.setenv("SOME_TOKEN", canary)
    assert len(build_entry("/w/big.py", "python", large_module(), {}, child=child).definitions) == 900
    environ = Path(f"/proc/{child._proc.pid}/environ").read_bytes()
    assert canary.encode() not in environ
    assert b"PATH=" in environ  # it still starts and finds its packages


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the memory limit is set on Linux")
def test_a_text_that_blows_up_costs_its_file_only_and_never_gives_the_child_up(child):
    """Tree-sitter's Java grammar grows by about a gigabyte a second on short
    ambiguous text: the child's memory limit ends it within seconds, that file is
    indexed without definitions, and however many such files come in a row, the
    child is never given up for parsing in the server (where the same text would
    stall and swell the server)."""
    hostile = "class X{void f(){a" + "<a" * 15_000
    for _ in range(parse_child.MAX_FAILURES + 1):
        started = time.monotonic()
        assert build_entry("/w/X.java", "java", hostile, {}, child=child).definitions == []
        assert time.monotonic() - started < parse_child.TIMEOUT_S / 2  # the limit, not the timeout, ended it
    assert not child.unavailable
    entry = build_entry("/w/Greeter.java", "java", "class Greeter {\n    void greet() {}\n}\n", {}, child=child)
    assert [d.name for d in entry.definitions] == ["Greeter", "greet"] and child.files == 1
