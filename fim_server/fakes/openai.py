"""A fake OpenAI-compatible completion server (vLLM-like) on 127.0.0.1.

``POST /v1/completions`` answers ``choices[0].text`` (JSON or SSE with an
optional usage chunk and ``data: [DONE]``); ``GET /v1/models`` lists models.
Like vLLM it refuses ``suffix`` with a 400 unless ``accepts_suffix=True``, and an
unknown model (with ``validate_models``) with vLLM's 404.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Iterable

from fim_server.fakes.replies import RecordedRequest, Reply
from fim_server.fakes.server import FakeServer
from fim_server.fakes.wire import sse

SUFFIX_ERROR = "suffix is not currently supported"


class FakeOpenAI(FakeServer):
    completion_paths = frozenset({"/v1/completions"})
    server_header = "fake-vllm"
    default_models = ("Qwen/Qwen2.5-Coder-1.5B",)

    def __init__(self, replies: Iterable[Any] = (), *, accepts_suffix: bool = False, **kwargs: Any) -> None:
        super().__init__(replies, **kwargs)
        self.accepts_suffix = accepts_suffix

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def routes(self):
        return {"/v1/models": lambda req: (200, {"object": "list", "data": [
            {"id": m, "object": "model", "owned_by": "vllm", "max_model_len": 32768} for m in self.models()]})}

    def error_body(self, status: int, message: str | None) -> Any:
        kinds = {400: "BadRequestError", 401: "Unauthorized", 404: "NotFoundError", 429: "RateLimitError"}
        default = {401: "Unauthorized", 404: "Not Found", 429: "Too many requests", 503: "Service Unavailable"}
        return {"object": "error", "message": message or default.get(status, "Error"),
                "type": kinds.get(status, "InternalServerError"), "param": None, "code": status}

    def check(self, req: RecordedRequest) -> Reply | None:
        model = req.json.get("model")
        if self.validate_models and model not in self.models():
            return self.error(404, f"The model `{model}` does not exist.")
        if not self.accepts_suffix and "suffix" in req.json:
            return self.error(400, SUFFIX_ERROR)
        return None

    def _usage(self, req: RecordedRequest, reply: Reply) -> dict[str, int]:
        p, c = self.usage_numbers(req, reply, ("prompt", "suffix"))
        return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}

    def _head(self, req: RecordedRequest) -> dict[str, Any]:
        return {"id": f"cmpl-{uuid.uuid4().hex}", "object": "text_completion", "created": int(time.time()),
                "model": req.json.get("model")}

    def document(self, req: RecordedRequest, reply: Reply, text: str) -> Any:
        return {**self._head(req), "choices": [{"index": 0, "text": text, "logprobs": None,
                "finish_reason": reply.finish_reason, "stop_reason": None}], "usage": self._usage(req, reply)}

    def frames(self, req: RecordedRequest, reply: Reply) -> list[bytes]:
        head, pieces = self._head(req), reply.stream_pieces()
        return [sse({**head, "choices": [{"index": 0, "text": piece, "logprobs": None,
                "finish_reason": reply.finish_reason if i == len(pieces) - 1 else None}]}) for i, piece in enumerate(pieces)]

    def tail(self, req: RecordedRequest, reply: Reply) -> bytes:
        options = req.json.get("stream_options")
        usage = b""
        if isinstance(options, dict) and options.get("include_usage"):
            usage = sse({**self._head(req), "choices": [], "usage": self._usage(req, reply)})
        return usage + b"data: [DONE]\n\n"
