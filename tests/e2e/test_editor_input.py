"""Editor input through the real server process: random incremental edits keep
the server's copy equal to the client's; bad positions, unknown documents, odd
versions, huge and binary documents and malformed JSON-RPC give no items and a log
line, never an error to the client or a dead server."""

from __future__ import annotations

import itertools
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from fim_server.fakes.deepseek import FakeDeepSeek, Reply

from .rawlsp import RawServer, server_env

KEY = "sk-fuzz-KEY-5151"
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")

# pieces a user types or pastes: ASCII, accents, CJK, emoji and other astral
# characters, every kind of line end, tabs, empty strings
PIECES = ["a", "Z", " ", "\t", "é", "ß", "中文", "字", "😀", "𝔘", "👩‍💻", "\n", "\r\n", "\r", "", "def f():", "ü\n\n"]
texts = st.lists(st.sampled_from(PIECES), max_size=12).map("".join)


def units(text: str, encoding: str) -> int:
    if encoding == "utf-16":
        return len(text.encode("utf-16-le")) // 2
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    return len(text)


def position(text: str, offset: int, encoding: str) -> tuple[int, int]:
    """The LSP position of a code-point offset (lines end at \\n, \\r\\n or \\r)."""
    start = 0
    line = 0
    for m in _LINE.finditer(text):
        if m.end() > offset or (m.end() == offset and not m.group().endswith(("\n", "\r"))):
            break
        if m.group().endswith(("\n", "\r")):
            start = m.end()
            line += 1
    return line, units(text[start:offset], encoding)


def boundaries(text: str) -> list[int]:
    """Offsets an editor can put a cursor at: not between the CR and LF of a CRLF."""
    return [i for i in range(len(text) + 1) if not (0 < i < len(text) and text[i - 1] == "\r" and text[i] == "\n")]


@pytest.fixture(scope="module")
def fake():
    with FakeDeepSeek(api_key=KEY, default=Reply(text="ok()")) as server:
        yield server


def make_server(fake, encodings=None) -> RawServer:
    server = RawServer(env=server_env())
    server.initialize({"baseUrl": fake.url, "apiKey": KEY, "debounceMs": 0, "syntaxCheck": False}, encodings=encodings)
    return server


@pytest.fixture(scope="module", params=["utf-16", "utf-8"])
def lsp(request, fake):
    server = make_server(fake, encodings=[request.param] if request.param == "utf-8" else None)
    result = server.stats()
    assert isinstance(result, dict)
    server.encoding = request.param
    yield server
    assert server.close() == 0


_uris = itertools.count(1)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), initial=texts)
def test_random_incremental_edits_keep_the_server_copy_equal(lsp, data, initial):
    enc = lsp.encoding
    uri = f"file:///fuzz/{next(_uris)}.py"
    lsp.open(uri, initial)
    text = initial
    assert lsp.text_of(uri) == text
    for version in range(2, data.draw(st.integers(1, 12), label="edits") + 2):
        points = boundaries(text)
        at_end = data.draw(st.booleans(), label="at end")
        a = len(text) if at_end else data.draw(st.sampled_from(points), label="start")
        b = data.draw(st.sampled_from([p for p in points if p >= a]), label="end")
        new = data.draw(texts, label="inserted")
        lsp.change(uri, version, position(text, a, enc), position(text, b, enc), new)
        text = text[:a] + new + text[b:]
        assert lsp.text_of(uri) == text, f"after replacing [{a}:{b}] with {new!r}"
    # completions at the end of the edited text still work and return text
    line, char = position(text, len(text), enc)
    assert lsp.inline(uri, line, char) in ([], ["ok()"])
    lsp.notify("textDocument/didClose", {"textDocument": {"uri": uri}})


# -- bad input: no items, a log line, the server stays up -----------------------------


def logs(server: RawServer) -> str:
    server.stats()  # a round trip: what the server logged before it has arrived
    return "\n".join(m["message"] for m in server.messages("window/logMessage"))


@pytest.fixture
def one(fake):
    server = make_server(fake)
    yield server
    assert server.close() == 0, server.all_output()[-2000:]


def test_out_of_range_positions_give_no_items_and_a_log_line(one):
    one.open("file:///bad/a.py", "x = 1\ny = \n")
    assert one.inline("file:///bad/a.py", 99, 0) == []
    assert one.inline("file:///bad/a.py", 10**9, 10**9) == []
    assert "outside the document" in logs(one)
    # a column past the end of a line is clamped to the line end (the LSP rule)
    assert one.inline("file:///bad/a.py", 1, 500) == ["ok()"]
    # an edit far outside the document is clamped to its end, never raises
    one.change("file:///bad/a.py", 2, (50, 3), (70, 0), "z")
    assert one.text_of("file:///bad/a.py") == "x = 1\ny = \nz"
    # negative numbers break the protocol's types: an error answer, no crash
    answer = one.wait_answer(
        one.send_request(
            "textDocument/inlineCompletion",
            {"textDocument": {"uri": "file:///bad/a.py"}, "position": {"line": -1, "character": -5}, "context": {"triggerKind": 2}},
        )
    )
    assert "result" in answer and not answer["result"] or "error" in answer
    assert one.stats()["open_documents"] == 1


def test_unknown_documents_and_versions_out_of_order(one):
    assert one.inline("file:///never/opened.py", 0, 0) == []
    assert "not open" in logs(one)
    one.change("file:///never/opened.py", 3, (0, 0), (0, 0), "x")
    assert "change for a document that is not open" in logs(one)
    one.open("file:///bad/v.py", "abc\n", version=10)
    one.change("file:///bad/v.py", 5, (0, 3), (0, 3), "d")  # older version than the open
    one.change("file:///bad/v.py", 5, (0, 4), (0, 4), "e")  # the same version again
    assert one.text_of("file:///bad/v.py") == "abcde\n"
    assert "after version 10" in logs(one)
    # closing twice, and closing an unknown document, are harmless
    for _ in range(2):
        one.notify("textDocument/didClose", {"textDocument": {"uri": "file:///bad/v.py"}})
    assert one.text_of("file:///bad/v.py") is None
    assert one.stats()["open_documents"] == 0


def test_huge_documents_and_lines(one, fake):
    big = "x = 1\n" * 500_000  # 3 MB, half a million lines
    one.open("file:///big/many_lines.py", big)
    assert one.inline("file:///big/many_lines.py", 250_000, 5, timeout=20) == ["ok()"]
    # what went to the provider stayed inside the window sizes
    last = fake.completion_requests()[-1]
    assert len(last.prompt) <= 8000 + 200 and len(last.suffix) <= 2000 + 200
    sent = len(fake.completion_requests())

    line = "y" * 2_000_000  # one 2 MB line: minified or generated, no completion there
    one.open("file:///big/one_line.py", line)
    assert one.inline("file:///big/one_line.py", 0, 1_000_000, timeout=20) == []
    assert one.inline("file:///big/one_line.py", 0, 1_000_001, timeout=20) == []
    assert logs(one).count("no completions in file:///big/one_line.py") == 1  # one line, not one per request
    assert "minified or generated" in logs(one)
    one.change("file:///big/one_line.py", 2, (0, 1_000_000), (0, 1_000_000), "\n")
    assert one.text_of("file:///big/one_line.py", ) == line[:1_000_000] + "\n" + line[1_000_000:]

    huge = "x = 1\n" * 900_000  # 5.4 million characters: past the document limit
    one.open("file:///big/huge.py", huge)
    assert one.inline("file:///big/huge.py", 450_000, 5, timeout=20) == []
    assert "5,400,000 characters" in logs(one)
    assert len(fake.completion_requests()) == sent  # neither reached the provider


def test_binary_junk_in_documents(one, fake):
    junk = "".join(chr(c) for c in range(0, 256)) + "\x00\x00\ufeff\ufffe\uffff\U0010ffff\x7f" * 10
    one.open("file:///bin/junk.py", junk)
    assert one.text_of("file:///bin/junk.py") == junk
    sent = len(fake.completion_requests())
    assert one.inline("file:///bin/junk.py", 0, 3) == []
    assert "NUL characters (binary data)" in logs(one)
    assert len(fake.completion_requests()) == sent
    # a lone surrogate can travel in JSON as an escape; it must not reach httpx's encoder raw
    body = b'{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":"file:///bin/sur.py","languageId":"python","version":1,"text":"a\\ud800b\\udfffc\\n"}}}'
    one.write_raw(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    assert isinstance(one.inline("file:///bin/sur.py", 0, 2), list)
    assert one.stats()["open_documents"] == 2


def frame(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


MALFORMED = [
    frame(b"hello"),  # not JSON
    frame(b"[]"),  # an empty batch
    frame(b"null"),
    frame(b"42"),
    frame(b'{"jsonrpc":"2.0","id":true}'),  # a response nobody asked for
    frame(b'{"jsonrpc":"2.0","id":"junk-1","method":"no/such"}'),
    frame(b'{"jsonrpc":"2.0","id":"junk-2","method":"textDocument/inlineCompletion","x":1}'),
    frame(b'{"jsonrpc":"2.0","id":"junk-3","method":"textDocument/inlineCompletion","params":3}'),
    frame(b'{"jsonrpc":"1.0","id":"junk-4","method":"shutdown"}'),
    frame(b'{"jsonrpc":"2.0","method":"textDocument/didChange","params":{"textDocument":{"uri":"file:///x","version":1},"contentChanges":[{"range":5}]}}'),
    b'Content-Length: 58\r\n\r\n{"jsonrpc":"2.0","method":"textDocument/didOpen","params":',  # cut short...
    b"\r\n\r\n",  # ...and completed by blank lines
    b"Garbage-Header-Without-Length\r\n\r\n",
    b"\x00\xff\xfe binary junk \x80\x81\r\n\r\n",
    b"Content-Length: abc\r\n\r\n",
    b"X" * 100_000 + b"\r\n\r\n",  # a header line far past any limit
    b"Content-Length: 20\r\nContent-Type: application/vscode-jsonrpc; charset=latin-1\r\n\r\n" + b'{"jsonrpc":"2.0"}   ',
    frame(b'{"jsonrpc":"2.0","id":"junk-5","method":"textDocument/inlineCompletion","params":{"textDocument":{"uri":"file:///x"},"position":{"line":"a","character":null}}}'),
]


def test_malformed_json_rpc_on_stdin_does_not_kill_the_server(one):
    for junk in MALFORMED:
        one.write_raw(junk)
        assert isinstance(one.stats(), dict), f"no answer after {junk[:60]!r}"
        assert one.poll() is None
    # requests with an id got an answer (an error), none was left waiting
    answered = {msg_id: one.wait_answer(msg_id, 5) for msg_id in ("junk-1", "junk-2", "junk-3", "junk-4", "junk-5")}
    assert all("error" in a for a in answered.values()), answered
    assert "2.0" in answered["junk-4"]["error"]["message"]  # a "jsonrpc": "1.0" shutdown: refused, not obeyed
    assert "Unable to handle message" in logs(one) or "internal error" in logs(one)
    one.open("file:///after/junk.py", "x = \n")
    assert one.inline("file:///after/junk.py", 0, 4) == ["ok()"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.binary(max_size=300).filter(lambda b: b"content-length" not in b.lower()))
def test_random_bytes_on_stdin_never_kill_the_server(lsp, junk):
    lsp.write_raw(junk + b"\r\n\r\n")
    assert isinstance(lsp.stats(), dict)
    assert lsp.poll() is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
methods = st.sampled_from(
    ["textDocument/didOpen", "textDocument/didChange", "textDocument/didClose", "textDocument/inlineCompletion",
     "textDocument/completion", "workspace/didChangeConfiguration", "workspace/executeCommand", "$/cancelRequest", "x/y"]
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=methods, params=json_values, with_id=st.booleans())
def test_random_json_rpc_messages_are_answered_or_ignored(lsp, method, params, with_id):
    message = {"jsonrpc": "2.0", "method": method, "params": params}
    if with_id:
        message["id"] = "fuzz-%d" % next(_uris)
    lsp.write_raw(frame(json.dumps(message).encode()))
    if with_id:
        answer = lsp.wait_answer(message["id"], 10)  # never left waiting
        assert "result" in answer or "error" in answer
    assert isinstance(lsp.stats(), dict)


def test_a_too_short_content_length_loses_only_its_own_message(one):
    # issue 13: the rest of the cut body and the next header arrived as one line,
    # and the next message was lost; now reading goes on at that header
    body = json.dumps({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": "file:///short/a.py", "languageId": "python", "version": 1, "text": "x = \n"}}}).encode()
    for short_by in (1, 7, 40):
        one.write_raw(b"Content-Length: %d\r\n\r\n" % (len(body) - short_by) + body)
        assert isinstance(one.stats(), dict), f"the message after a body {short_by} bytes too long was lost"
    one.open("file:///short/b.py", "y = \n")
    assert one.inline("file:///short/b.py", 0, 4) == ["ok()"]
    assert "Content-Length was too short" in logs(one)
