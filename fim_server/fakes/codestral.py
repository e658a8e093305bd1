"""A fake Mistral Codestral API on 127.0.0.1: ``POST /v1/fim/completions`` with
chat-shaped answers (``choices[0].message.content``; streams of
``choices[0].delta.content`` chunks ending with ``data: [DONE]``), ``GET
/v1/models``, and Mistral's error bodies (401 ``{"message": "Unauthorized"}``,
400 ``invalid_model``, 422 validation details).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from fim_server.fakes.replies import RecordedRequest, Reply
from fim_server.fakes.server import FakeServer
from fim_server.fakes.wire import sse


class FakeCodestral(FakeServer):
    completion_paths = frozenset({"/v1/fim/completions"})
    server_header = "fake-mistral"
    default_models = ("codestral-latest", "codestral-2501")

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def routes(self):
        return {"/v1/models": lambda req: (200, {"object": "list", "data": [
            {"id": m, "object": "model", "owned_by": "mistralai", "capabilities": {"completion_fim": True}}
            for m in self.models()]})}

    def error_body(self, status: int, message: str | None) -> Any:
        if status == 401:
            return {"message": message or "Unauthorized", "request_id": uuid.uuid4().hex}
        if status == 429:
            return {"message": message or "Requests rate limit exceeded"}
        return {"object": "error", "message": message or "Service unavailable", "type": "invalid_request_error",
                "param": None, "code": None}

    def check(self, req: RecordedRequest) -> Reply | None:
        if not isinstance(req.json.get("prompt"), str):
            body = {"object": "error", "message": {"detail": [{"type": "missing", "loc": ["body", "prompt"],
                    "msg": "Field required"}]}, "type": "invalid_request_message_error", "param": None, "code": None}
            return Reply(status=422, error_body=body)
        model = req.json.get("model")
        if self.validate_models and model not in self.models():
            return Reply(status=400, error_body={"object": "error", "message": f"Invalid model: {model}",
                                                 "type": "invalid_model", "param": None, "code": "1500"})
        return None

    def _usage(self, req: RecordedRequest, reply: Reply) -> dict[str, int]:
        p, c = self.usage_numbers(req, reply, ("prompt", "suffix"))
        return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}

    def _head(self, req: RecordedRequest, kind: str) -> dict[str, Any]:
        return {"id": uuid.uuid4().hex, "object": kind, "created": int(time.time()), "model": req.json.get("model")}

    def document(self, req: RecordedRequest, reply: Reply, text: str) -> Any:
        return {**self._head(req, "chat.completion"), "usage": self._usage(req, reply), "choices": [
            {"index": 0, "message": {"content": text, "tool_calls": None, "prefix": False, "role": "assistant"},
             "finish_reason": reply.finish_reason}]}

    def frames(self, req: RecordedRequest, reply: Reply) -> list[bytes]:
        head = self._head(req, "chat.completion.chunk")
        pieces = reply.stream_pieces()
        out = [sse({**head, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]})]
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            chunk: dict[str, Any] = {**head, "choices": [{"index": 0, "delta": {"content": piece},
                                                          "finish_reason": reply.finish_reason if last else None}]}
            if last:
                chunk["usage"] = self._usage(req, reply)
            out.append(sse(chunk))
        return out

    def tail(self, req: RecordedRequest, reply: Reply) -> bytes:
        return b"data: [DONE]\n\n"
