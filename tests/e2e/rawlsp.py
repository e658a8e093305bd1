"""A blocking JSON-RPC client over the server's stdio, for tests that need what
pytest-lsp does not give: raw bytes on stdin, a custom environment per process,
hypothesis examples sharing one server process.

A reader thread collects the server's messages; ``request`` waits for the answer
with a deadline and raises ``TimeoutError`` when the server does not answer.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import subprocess
import sys
import threading
import time
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class RawServer:
    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fim_server", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env=env,
        )
        self._ids = itertools.count(1)
        self._answers: dict[int, dict] = {}
        self._cond = threading.Condition()
        self.notifications: list[dict] = []
        self.requests_from_server: list[dict] = []
        self.configuration: Any = None  # answer to workspace/configuration
        self.stderr_chunks: list[bytes] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    # -- wire ------------------------------------------------------------------
    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    with self._cond:
                        self._cond.notify_all()
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            if length is None:
                continue
            message = json.loads(out.read(length))
            with self._cond:
                if "id" in message and "method" not in message:
                    self._answers[message["id"]] = message
                elif "id" in message:
                    self.requests_from_server.append(message)
                    result = [self.configuration] if message["method"] == "workspace/configuration" else None
                    self._send({"jsonrpc": "2.0", "id": message["id"], "result": result})
                else:
                    self.notifications.append(message)
                self._cond.notify_all()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for chunk in iter(lambda: self.proc.stderr.read1(65536), b""):  # type: ignore[union-attr]
            self.stderr_chunks.append(chunk)

    def write_raw(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def _send(self, message: dict) -> None:
        body = json.dumps(message, ensure_ascii=False).encode("utf-8")
        self.write_raw(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    # -- JSON-RPC ----------------------------------------------------------------
    def notify(self, method: str, params: Any = None) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def send_request(self, method: str, params: Any = None) -> int:
        msg_id = next(self._ids)
        self._send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return msg_id

    def wait_answer(self, msg_id: int, timeout: float = 10.0) -> dict:
        deadline = time.monotonic() + timeout
        with self._cond:
            while msg_id not in self._answers:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise TimeoutError(f"no answer to request {msg_id} (server exit code {self.proc.poll()})")
                self._cond.wait(min(left, 0.2))
            return self._answers.pop(msg_id)

    def request(self, method: str, params: Any = None, timeout: float = 10.0) -> Any:
        answer = self.wait_answer(self.send_request(method, params), timeout)
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer.get("result")

    # -- LSP helpers ----------------------------------------------------------------
    def initialize(self, options: Any = None, encodings: list[str] | None = None, configuration: bool = False, plain: bool = True) -> dict:
        """``plain``: speculative calls and in-flight reuse off unless ``options`` say
        otherwise (these tests count the calls of one request at a time)."""
        if plain and isinstance(options, dict):
            options = {"speculativeNext": False, "inflightReuse": False, **options}
        caps: dict[str, Any] = {
            "textDocument": {"inlineCompletion": {}, "synchronization": {}},
            "workspace": {"configuration": configuration, "didChangeConfiguration": {}},
        }
        if encodings:
            caps["general"] = {"positionEncodings": encodings}
        result = self.request("initialize", {"processId": None, "rootUri": None, "capabilities": caps, "initializationOptions": options})
        self.notify("initialized", {})
        return result

    def open(self, uri: str, text: str, language: str = "python", version: int = 1) -> None:
        self.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": language, "version": version, "text": text}})

    def change(self, uri: str, version: int, start: tuple[int, int], end: tuple[int, int], text: str) -> None:
        rng = {"start": {"line": start[0], "character": start[1]}, "end": {"line": end[0], "character": end[1]}}
        self.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"range": rng, "text": text}]},
        )

    def inline(self, uri: str, line: int, character: int, timeout: float = 10.0) -> list[str]:
        result = self.request(
            "textDocument/inlineCompletion",
            {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}, "context": {"triggerKind": 2}},
            timeout,
        )
        items = result.get("items", []) if isinstance(result, dict) else (result or [])
        return [i["insertText"] if isinstance(i["insertText"], str) else i["insertText"]["value"] for i in items]

    def command(self, name: str, *arguments: Any, timeout: float = 10.0) -> Any:
        return self.request("workspace/executeCommand", {"command": name, "arguments": list(arguments)}, timeout)

    def text_of(self, uri: str) -> str | None:
        return self.command("fimServer.documentText", uri)

    def stats(self) -> dict:
        return self.command("fimServer.stats")

    def messages(self, method: str = "window/showMessage") -> list[dict]:
        with self._cond:
            return [n["params"] for n in self.notifications if n.get("method") == method]

    def all_output(self) -> str:
        """Everything the server wrote: messages, log messages, stderr."""
        with self._cond:
            texts = [json.dumps(n, ensure_ascii=False) for n in self.notifications]
            texts += [json.dumps(a, ensure_ascii=False) for a in self._answers.values()]
        return "\n".join(texts) + "\n" + b"".join(self.stderr_chunks).decode("utf-8", "replace")

    def close(self) -> int:
        if self.proc.poll() is None:
            try:
                self.request("shutdown", None, timeout=5)
                self.notify("exit")
                self.proc.wait(5)
            except (TimeoutError, OSError, subprocess.TimeoutExpired, RuntimeError):
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode

    def __enter__(self) -> "RawServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def server_env(**extra: str) -> dict[str, str]:
    """The environment of the test run without provider keys and proxies, plus ``extra``."""
    drop = {"DEEPSEEK_API_KEY", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR"}
    env = {k: v for k, v in os.environ.items() if k.upper() not in drop}
    env.update(extra)
    return env
