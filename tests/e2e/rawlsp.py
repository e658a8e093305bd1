"""The tests' blocking stdio client: the shared raw JSON-RPC client
(``fim_server/tools/replay/client.py``) with LSP helpers, for tests that need what
pytest-lsp does not give: raw bytes on stdin, a custom environment per process,
hypothesis examples sharing one server process.

``request`` waits for the answer with a deadline and raises ``TimeoutError`` when the
server does not answer.
"""

from __future__ import annotations

import json
import os
from typing import Any

from fim_server.tools.replay.client import BlockingClient

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class RawServer(BlockingClient):
    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.configuration: Any = None  # answer to workspace/configuration
        super().__init__(*args, env=env, cwd=ROOT)

    def on_request(self, message: dict) -> Any:
        return [self.configuration] if message.get("method") == "workspace/configuration" else None

    # -- LSP helpers ----------------------------------------------------------------
    def initialize(self, options: Any = None, encodings: list[str] | None = None, configuration: bool = False, plain: bool = True,
                   notebooks: bool = False) -> dict:
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
        if notebooks:
            caps["notebookDocument"] = {"synchronization": {}}
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
        return [n["params"] for n in list(self.notifications) if n.get("method") == method]

    def all_output(self) -> str:
        """Everything the server wrote: messages, log messages, unclaimed answers, stderr."""
        texts = [json.dumps(n, ensure_ascii=False) for n in list(self.notifications) + self.unclaimed()]
        return "\n".join(texts) + "\n" + b"".join(self.stderr_chunks).decode("utf-8", "replace")


def server_env(**extra: str) -> dict[str, str]:
    """The environment of the test run without provider keys and proxies, plus ``extra``."""
    drop = {"DEEPSEEK_API_KEY", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR"}
    env = {k: v for k, v in os.environ.items() if k.upper() not in drop}
    env.update(extra)
    return env
