"""A fake llama.cpp server on 127.0.0.1: ``POST /infill`` (JSON, or SSE chunks with
``content`` and ``stop`` and no ``[DONE]``), ``GET /health`` (503 "Loading model"
while ``loading`` is true, like every other endpoint then), ``GET /v1/models``.
A model without FIM tokens (``supports_infill=False``) answers 501.
"""

from __future__ import annotations

from typing import Any, Iterable

from fim_server.fakes.replies import RecordedRequest, Reply
from fim_server.fakes.server import FakeServer
from fim_server.fakes.wire import sse

MODEL_PATH = "/models/qwen2.5-coder-1.5b-q8_0.gguf"


class FakeLlamaCpp(FakeServer):
    completion_paths = frozenset({"/infill"})
    server_header = "fake-llama.cpp"
    keepalive = b""

    def __init__(self, replies: Iterable[Any] = (), *, loading: bool = False, supports_infill: bool = True, **kwargs: Any) -> None:
        super().__init__(replies, **kwargs)
        self.loading = loading
        self.supports_infill = supports_infill

    def _loading_error(self) -> tuple[int, Any]:
        return 503, {"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}}

    def routes(self):
        def health(req: RecordedRequest) -> tuple[int, Any]:
            return self._loading_error() if self.loading else (200, {"status": "ok"})

        def models(req: RecordedRequest) -> tuple[int, Any]:
            if self.loading:
                return self._loading_error()
            return 200, {"object": "list", "data": [{"id": MODEL_PATH, "object": "model", "owned_by": "llamacpp"}]}

        return {"/health": health, "/v1/models": models, "/models": models}

    def error_body(self, status: int, message: str | None) -> Any:
        kinds = {400: "invalid_request_error", 401: "authentication_error", 501: "not_supported_error",
                 503: "unavailable_error"}
        default = {401: "Invalid API Key", 503: "Loading model"}
        return {"error": {"code": status, "message": message or default.get(status, "error"),
                          "type": kinds.get(status, "server_error")}}

    def check(self, req: RecordedRequest) -> Reply | None:
        if self.loading:
            return self.error(503, "Loading model")
        if not self.supports_infill:
            return self.error(501, "Infill is not supported by this model")
        if not isinstance(req.json.get("input_prefix", ""), str) or not isinstance(req.json.get("input_suffix", ""), str):
            return self.error(400, "\"input_prefix\" and \"input_suffix\" must be strings")
        return None

    def _final(self, req: RecordedRequest, reply: Reply, text: str) -> dict[str, Any]:
        p, c = self.usage_numbers(req, reply, ("input_prefix", "input_suffix"))
        return {"index": 0, "content": text, "tokens": [], "id_slot": 0, "stop": True, "model": MODEL_PATH,
                "tokens_predicted": c, "tokens_evaluated": p, "stop_type": "limit" if reply.finish_reason == "length" else "eos",
                "stopped_limit": reply.finish_reason == "length", "stopping_word": "", "tokens_cached": 0,
                "truncated": False, "timings": {"prompt_n": p, "predicted_n": c}}

    def document(self, req: RecordedRequest, reply: Reply, text: str) -> Any:
        return self._final(req, reply, text)

    def frames(self, req: RecordedRequest, reply: Reply) -> list[bytes]:
        return [sse({"index": 0, "content": piece, "tokens": [], "stop": False, "id_slot": -1,
                     "tokens_predicted": i + 1, "tokens_evaluated": 0}) for i, piece in enumerate(reply.stream_pieces())]

    def tail(self, req: RecordedRequest, reply: Reply) -> bytes:
        return sse(self._final(req, reply, ""))
