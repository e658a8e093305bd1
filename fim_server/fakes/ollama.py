"""A fake Ollama on 127.0.0.1: ``POST /api/generate`` (NDJSON stream by default,
one JSON object when ``stream: false``), ``GET /api/tags`` and ``/api/version``.

Like Ollama it answers an unknown model with 404 "model ... not found, try
pulling it first" and a model whose template has no suffix support (not in
``insert_models``) with 400 "... does not support insert" when ``suffix`` is
non-empty and ``raw`` is off.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterable

from fim_server.fakes.replies import RecordedRequest, Reply
from fim_server.fakes.server import FakeServer
from fim_server.fakes.wire import json_line


def _bare(name: str) -> str:
    return name if ":" in name else name + ":latest"


class FakeOllama(FakeServer):
    completion_paths = frozenset({"/api/generate"})
    server_header = "fake-ollama"
    stream_type = "application/x-ndjson"
    keepalive = b""
    stream_by_default = True
    default_models = ("qwen2.5-coder:1.5b-base", "llama3.1:8b")

    def __init__(self, replies: Iterable[Any] = (), *, insert_models: Iterable[str] | None = None, **kwargs: Any) -> None:
        super().__init__(replies, **kwargs)
        self.insert_models = set(insert_models) if insert_models is not None else {"qwen2.5-coder:1.5b-base"}

    def routes(self):
        def tags(req: RecordedRequest) -> tuple[int, Any]:
            return 200, {"models": [{"name": m, "model": m, "size": 986061892, "digest": "0" * 64,
                                     "details": {"format": "gguf", "family": "qwen2"}} for m in self.models()]}

        return {"/api/tags": tags, "/api/version": lambda req: (200, {"version": "0.6.2"})}

    def error_body(self, status: int, message: str | None) -> Any:
        return {"error": message or {404: "not found", 500: "internal error"}.get(status, "error")}

    def check(self, req: RecordedRequest) -> Reply | None:
        model = req.json.get("model")
        if not isinstance(model, str) or _bare(model) not in {_bare(m) for m in self.models()}:
            return self.error(404, f'model "{model}" not found, try pulling it first')
        if req.json.get("suffix") and not req.json.get("raw") and _bare(model) not in {_bare(m) for m in self.insert_models}:
            return self.error(400, f"registry.ollama.ai/library/{_bare(model)} does not support insert")
        return None

    def _base(self, req: RecordedRequest) -> dict[str, Any]:
        return {"model": req.json.get("model"), "created_at": datetime.now(timezone.utc).isoformat()}

    def _final(self, req: RecordedRequest, reply: Reply, text: str) -> dict[str, Any]:
        p, c = self.usage_numbers(req, reply, ("prompt", "suffix"))
        return {**self._base(req), "response": text, "done": True, "done_reason": reply.finish_reason,
                "context": [1, 2, 3], "total_duration": 123456, "load_duration": 1000,
                "prompt_eval_count": p, "prompt_eval_duration": 1000, "eval_count": c, "eval_duration": 1000}

    def document(self, req: RecordedRequest, reply: Reply, text: str) -> Any:
        return self._final(req, reply, text)

    def frames(self, req: RecordedRequest, reply: Reply) -> list[bytes]:
        return [json_line({**self._base(req), "response": piece, "done": False}) for piece in reply.stream_pieces()]

    def tail(self, req: RecordedRequest, reply: Reply) -> bytes:
        return json_line(self._final(req, reply, ""))
