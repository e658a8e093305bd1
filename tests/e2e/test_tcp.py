"""``fim-server --tcp``: one client, proven by a token, LSP only (issue 13).

A second local connection could read the first session's documents, receive its
answers and end the server; an HTTP ``POST`` whose body was a configuration
change sent the next completion, with the key, where the body said. Here each
of those is tried against the real server on 127.0.0.1 with a fake provider.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from fim_server.fakes.deepseek import FakeDeepSeek, Reply

KEY = "sk-tcp-CANARY-KEY-31337"
TOKEN = "tcp-test-token-0123456789abcdef"
ENV = {k: v for k, v in os.environ.items() if k not in ("DEEPSEEK_API_KEY", "FIM_SERVER_TCP_TOKEN")}
SECRET_TEXT = "SESSION_SECRET_CANARY = 1\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def frame(message: dict) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class Conn:
    """A blocking LSP connection over a socket."""

    def __init__(self, port: int) -> None:
        deadline = time.monotonic() + 15
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.sock.settimeout(10)
        self.buffer = b""
        self.ids = iter(range(1, 10_000))

    def send(self, message: dict) -> None:
        self.sock.sendall(frame(message))

    def request(self, method: str, params=None) -> dict | None:
        msg_id = next(self.ids)
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        while True:
            message = self.read()
            if message is None:
                return None
            if message.get("id") == msg_id and "method" not in message:
                return message
            if "method" in message and "id" in message:  # a request from the server: answer it
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": None})

    def read(self) -> dict | None:
        while b"\r\n\r\n" not in self.buffer:
            if not self._fill():
                return None
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
        while len(rest) < length:
            self.buffer = head + b"\r\n\r\n" + rest
            if not self._fill():
                return None
            head, _, rest = self.buffer.partition(b"\r\n\r\n")
        self.buffer = rest[length:]
        return json.loads(rest[:length])

    def _fill(self) -> bool:
        try:
            chunk = self.sock.recv(65536)
        except (socket.timeout, ConnectionError):
            return False
        self.buffer += chunk
        return bool(chunk)

    def closed_without_answer(self, timeout: float = 5) -> bytes:
        """What the server sent before closing (b"" when it sent nothing)."""
        self.sock.settimeout(timeout)
        data = b""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise AssertionError(f"the connection stayed open; got {data[:200]!r}") from None
            except ConnectionError:
                return data
            if not chunk:
                return data
            data += chunk

    def initialize(self, options: dict | None) -> dict | None:
        return self.request("initialize", {"processId": None, "capabilities": {
            "textDocument": {"inlineCompletion": {}}}, "initializationOptions": options})


def initialized(conn: Conn, fake) -> None:
    conn.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    conn.send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": "file:///s/secret.py", "languageId": "python", "version": 1, "text": SECRET_TEXT + "x = \n"}}})


@pytest.fixture
def fake():
    with FakeDeepSeek(api_key=KEY, default=Reply(text="ok()")) as server:
        yield server


@pytest.fixture
def served(tmp_path):
    port = free_port()
    log_file = tmp_path / "server.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "fim_server", "--tcp", "--port", str(port), "--tcp-token", TOKEN, "--log-file", str(log_file), "-v"],
        env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    yield port, proc, log_file
    if proc.poll() is None:
        proc.terminate()
    proc.communicate(timeout=10)


def options(fake, **extra) -> dict:
    return {"baseUrl": fake.url, "apiKey": KEY, "debounceMs": 0, "speculativeNext": False, "inflightReuse": False, **extra}


def inline_text(conn: Conn) -> str | None:
    answer = inline(conn)
    result = answer.get("result") if answer else None
    items = result.get("items") if isinstance(result, dict) else result
    return items[0]["insertText"] if items else None


def inline(conn: Conn) -> dict | None:
    return conn.request("textDocument/inlineCompletion", {
        "textDocument": {"uri": "file:///s/secret.py"}, "position": {"line": 1, "character": 4},
        "context": {"triggerKind": 1}})


def test_a_second_connection_can_neither_read_nor_change_nor_end_the_session(served, fake):
    port, proc, log_file = served
    editor = Conn(port)
    result = editor.initialize(options(fake, tcpToken=TOKEN))
    assert result and "inlineCompletionProvider" in json.dumps(result)
    initialized(editor, fake)
    assert inline_text(editor) == "ok()"

    # another local process, with or without the token, while the editor is served
    for token in (None, TOKEN):
        intruder = Conn(port)
        intruder.send(frame_initialize(token))
        intruder.send({"jsonrpc": "2.0", "id": 99, "method": "workspace/executeCommand",
                       "params": {"command": "fimServer.documentText", "arguments": ["file:///s/secret.py"]}})
        intruder.send({"jsonrpc": "2.0", "method": "workspace/didChangeConfiguration",
                       "params": {"settings": {"fimServer": {"baseUrl": "http://127.0.0.1:9/steal"}}}})
        leaked = intruder.closed_without_answer()
        assert b"SESSION_SECRET_CANARY" not in leaked and leaked == b""
        intruder.sock.close()

    # the editor's session is intact: same settings, same documents, still served
    editor.send({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
        "textDocument": {"uri": "file:///s/secret.py", "version": 2},
        "contentChanges": [{"range": {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 1}}, "text": "y"}]}})
    assert inline_text(editor) == "ok()"
    assert len(fake.completion_requests()) == 2  # a new request, to the editor's baseUrl
    text = editor.request("workspace/executeCommand", {"command": "fimServer.documentText", "arguments": ["file:///s/secret.py"]})
    assert SECRET_TEXT in text["result"]
    assert proc.poll() is None
    assert editor.request("shutdown")["result"] is None
    editor.send({"jsonrpc": "2.0", "method": "exit"})
    assert proc.wait(10) == 0
    assert "one client at a time" in log_file.read_text()


def frame_initialize(token: str | None) -> dict:
    opts = {"tcpToken": token} if token else {}
    return {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": None, "capabilities": {}, "initializationOptions": opts}}


@pytest.mark.parametrize("start", [
    b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n",
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n",
    b"OPTIONS * HTTP/1.1\r\n",
])
def test_input_that_starts_like_http_is_refused(served, fake, start):
    port, proc, log_file = served
    attack = frame({"jsonrpc": "2.0", "method": "workspace/didChangeConfiguration",
                    "params": {"settings": {"fimServer": {"baseUrl": "http://127.0.0.1:9/steal", "tcpToken": TOKEN}}}})
    web = Conn(port)
    web.sock.sendall(start + attack)
    answer = web.closed_without_answer()
    assert answer.startswith(b"HTTP/1.1 403")
    # the editor that comes next gets its own settings, not the body's
    editor = Conn(port)
    assert editor.initialize(options(fake, tcpToken=TOKEN)) is not None
    initialized(editor, fake)
    assert inline_text(editor) == "ok()"
    assert "it starts like an HTTP request" in log_file.read_text()


@pytest.mark.parametrize("token", [None, "wrong-token-0123456789", TOKEN[:-1]])
def test_a_client_without_the_right_token_gets_nothing(served, fake, token):
    port, proc, log_file = served
    stranger = Conn(port)
    stranger.send(frame_initialize(token))
    assert stranger.closed_without_answer() == b""
    editor = Conn(port)  # the server still waits for its client
    assert "inlineCompletionProvider" in json.dumps(editor.initialize(options(fake, tcpToken=TOKEN)))
    assert TOKEN not in log_file.read_text()  # the token is taken out before pygls logs the parameters


def test_without_a_token_flag_one_is_made_and_printed_on_stderr(tmp_path, fake):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "fim_server", "--tcp", "--port", str(port)],
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        assert f"127.0.0.1:{port}" in line and "one LSP client" in line
        token = line.split('"tcpToken": "')[1].split('"')[0]
        assert len(token) >= 24
        editor = Conn(port)
        assert "inlineCompletionProvider" in json.dumps(editor.initialize(options(fake, tcpToken=token)))
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
