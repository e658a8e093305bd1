"""A fake llama.cpp server on 127.0.0.1: ``POST /infill`` and ``POST /completion``
(JSON, or SSE chunks with ``content`` and ``stop`` and no ``[DONE]``), ``GET /health``
(503 "Loading model" while ``loading`` is true, like every other endpoint then),
``GET /v1/models``, ``GET /props`` (``model_path``, the context size) and
``POST /tokenize`` (one token a character, except the FIM tokens of ``family``, or
of the family ``model_path`` names, one token each, when the model has them). A model without FIM tokens
(``supports_infill=False``) answers 501 on ``/infill``. ``props=False``: a front
(a proxy) that has neither ``/props`` nor ``/tokenize``.
"""

from __future__ import annotations

from typing import Any, Iterable

from fim_server.fakes.replies import RecordedRequest, Reply
from fim_server.fakes.server import FakeServer
from fim_server.fakes.wire import sse

MODEL_PATH = "/models/qwen2.5-coder-1.5b-q8_0.gguf"
# the special tokens of the families this fake can claim to serve (by model_path)
FIM_TOKENS = {"qwen": ("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|endoftext|>", "<|file_sep|>", "<|repo_name|>"),
              "codellama": ("<PRE>", "<SUF>", "<MID>", "<EOT>")}


class FakeLlamaCpp(FakeServer):
    completion_paths = frozenset({"/infill", "/completion"})
    route_methods = frozenset({"GET", "POST"})
    server_header = "fake-llama.cpp"
    keepalive = b""

    def __init__(self, replies: Iterable[Any] = (), *, loading: bool = False, supports_infill: bool = True,
                 model_path: str = MODEL_PATH, props: bool = True, n_ctx: int = 8192, family: str | None = None,
                 space_prefix: bool = False, **kwargs: Any) -> None:
        super().__init__(replies, **kwargs)
        self.loading = loading
        self.supports_infill = supports_infill
        self.model_path = model_path
        self.props = props
        self.n_ctx = n_ctx
        self.family = family  # whose FIM tokens the vocabulary has; None: the family model_path names
        self.space_prefix = space_prefix  # SentencePiece's space before text after a special token

    def special_tokens(self) -> tuple[str, ...]:
        if not self.supports_infill:
            return ()
        if self.family is not None:
            return FIM_TOKENS.get(self.family, ())
        name = self.model_path.lower()
        return next((tokens for family, tokens in FIM_TOKENS.items() if family in name), ())

    def pieces(self, text: str) -> list[str]:
        """The text as this fake's tokenizer cuts it: a FIM token whole, else a character."""
        specials = sorted(self.special_tokens(), key=len, reverse=True)
        out: list[str] = []
        i, after_special = 0, True
        while i < len(text):
            hit = next((t for t in specials if text.startswith(t, i)), None)
            if hit is None and after_special and self.space_prefix:
                out.append(" ")
            out.append(hit or text[i])
            i += len(hit) if hit else 1
            after_special = hit is not None
        return out

    def _loading_error(self) -> tuple[int, Any]:
        return 503, {"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}}

    def routes(self):
        def health(req: RecordedRequest) -> tuple[int, Any]:
            return self._loading_error() if self.loading else (200, {"status": "ok"})

        def models(req: RecordedRequest) -> tuple[int, Any]:
            if self.loading:
                return self._loading_error()
            return 200, {"object": "list", "data": [{"id": MODEL_PATH, "object": "model", "owned_by": "llamacpp"}]}

        def props(req: RecordedRequest) -> tuple[int, Any]:
            if self.loading:
                return self._loading_error()
            return 200, {"default_generation_settings": {"n_ctx": self.n_ctx}, "total_slots": 1,
                         "model_path": self.model_path, "model_alias": self.model_path}

        def tokenize(req: RecordedRequest) -> tuple[int, Any]:
            content = req.json.get("content") if isinstance(req.json, dict) else None
            if not isinstance(content, str):
                return 400, self.error_body(400, "\"content\" must be a string")
            pieces = self.pieces(content)
            if req.json.get("with_pieces"):
                return 200, {"tokens": [{"id": i, "piece": p} for i, p in enumerate(pieces)]}
            return 200, {"tokens": list(range(len(pieces)))}

        own = {"/health": health, "/v1/models": models, "/models": models}
        return {**own, "/props": props, "/tokenize": tokenize} if self.props else own

    def error_body(self, status: int, message: str | None) -> Any:
        kinds = {400: "invalid_request_error", 401: "authentication_error", 501: "not_supported_error",
                 503: "unavailable_error"}
        default = {401: "Invalid API Key", 503: "Loading model"}
        return {"error": {"code": status, "message": message or default.get(status, "error"),
                          "type": kinds.get(status, "server_error")}}

    def check(self, req: RecordedRequest) -> Reply | None:
        if self.loading:
            return self.error(503, "Loading model")
        if req.path == "/completion":
            return None if isinstance(req.json.get("prompt"), str) else self.error(400, "\"prompt\" must be a string")
        if not self.supports_infill:
            return self.error(501, "Infill is not supported by this model")
        if not isinstance(req.json.get("input_prefix", ""), str) or not isinstance(req.json.get("input_suffix", ""), str):
            return self.error(400, "\"input_prefix\" and \"input_suffix\" must be strings")
        return None

    def _final(self, req: RecordedRequest, reply: Reply, text: str) -> dict[str, Any]:
        p, c = self.usage_numbers(req, reply, ("input_prefix", "input_suffix", "prompt"))
        return {"index": 0, "content": text, "tokens": [], "id_slot": 0, "stop": True, "model": self.model_path,
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
