"""A fake of DeepSeek's FIM completion API on 127.0.0.1 (a :class:`FakeServer` dialect).

* ``POST /completions`` (also ``/beta/completions`` and ``/v1/completions``): FIM
  completions, JSON or server-sent events, with DeepSeek's keep-alive habits (blank
  lines before a JSON body, ``: keep-alive`` SSE comments before the first event)
  and an optional usage event before ``data: [DONE]``.
* ``GET /models`` (also ``/beta/models`` and ``/v1/models``): the model list.
* DeepSeek-shaped error bodies with any status and an optional ``Retry-After``;
  with ``validate_models``, an unlisted model gets 422 "Model Not Exist".

Computed usage (unless :attr:`Reply.usage` is given):
``prompt_tokens = estimate_tokens(prompt + suffix)``,
``completion_tokens = estimate_tokens(text)``, ``prompt_cache_hit_tokens`` = the
tokens of the longest common prefix between this prompt and the previous completion
request's prompt (any connection), rounded down to a multiple of 64 (DeepSeek caches
64-token blocks) and capped at ``prompt_tokens``; ``prompt_cache_miss_tokens`` is the
rest.

Command line: ``python -m fim_server.fakes --provider deepseek`` (see
:mod:`fim_server.fakes.cli`; ``python -m fim_server.fakes.deepseek`` still works).
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

from fim_server.core.text import common_prefix_len
from fim_server.fakes.replies import DEFAULT_TEXT, RecordedRequest, Reply, ReplySource, estimate_tokens
from fim_server.fakes.server import FakeServer
from fim_server.fakes.wire import sse

__all__ = [
    "COMPLETION_PATHS",
    "DEFAULT_MODELS",
    "DEFAULT_TEXT",
    "MODEL_PATHS",
    "FakeDeepSeek",
    "RecordedRequest",
    "Reply",
    "ReplySource",
    "estimate_tokens",
]

#: Models listed by ``GET /models`` unless changed with :meth:`FakeDeepSeek.set_models`.
DEFAULT_MODELS: tuple[str, ...] = ("deepseek-v4-flash", "deepseek-v4-pro")
#: Paths answered as FIM completions (POST).
COMPLETION_PATHS = frozenset({"/completions", "/beta/completions", "/v1/completions"})
#: Paths answered with the model list (GET).
MODEL_PATHS = frozenset({"/models", "/beta/models", "/v1/models"})
#: DeepSeek's context cache works in blocks of this many tokens.
CACHE_BLOCK_TOKENS = 64


class FakeDeepSeek(FakeServer):
    completion_paths = COMPLETION_PATHS
    server_header = "fake-deepseek"
    default_models = DEFAULT_MODELS
    bad_body_message = "Failed to deserialize the JSON body into the target type"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._prefix_lock = threading.Lock()
        self._last_prompt: str | None = None

    def reset(self) -> None:
        """As :meth:`FakeServer.reset`, and forget the cache-prefix memory."""
        super().reset()
        with self._prefix_lock:
            self._last_prompt = None

    def routes(self):
        def listing(req: RecordedRequest) -> tuple[int, Any]:
            data = [{"id": m, "object": "model", "owned_by": "deepseek"} for m in self.models()]
            return 200, {"object": "list", "data": data}

        return dict.fromkeys(MODEL_PATHS, listing)

    def check(self, req: RecordedRequest) -> Reply | None:
        if self.validate_models and req.json.get("model") not in self.models():
            return self.error(422, "Model Not Exist")
        return None

    def usage(self, req: RecordedRequest, reply: Reply, text: str) -> dict[str, Any]:
        """The usage object of an answer (also moves the cache-prefix memory on)."""
        if reply.usage is not None:
            return dict(reply.usage)
        prompt = req.prompt if isinstance(req.prompt, str) else ""
        suffix = req.suffix if isinstance(req.suffix, str) else ""
        prompt_tokens = estimate_tokens(prompt + suffix)
        with self._prefix_lock:
            previous, self._last_prompt = self._last_prompt, prompt
        hit = 0
        if previous is not None:
            hit = estimate_tokens(prompt[: common_prefix_len(previous, prompt)])
            hit = min(hit - hit % CACHE_BLOCK_TOKENS, prompt_tokens)
        completion_tokens = estimate_tokens(text)
        return {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_cache_hit_tokens": hit,
            "prompt_cache_miss_tokens": prompt_tokens - hit,
        }

    def envelope(self, req: RecordedRequest, reply: Reply) -> dict[str, Any]:
        """The fields every answer and stream event carries."""
        model = reply.model if reply.model is not None else req.json.get("model")
        return {"id": req.reply_id, "object": "text_completion", "created": int(time.time()),
                "model": model if isinstance(model, str) else DEFAULT_MODELS[0]}

    def document(self, req: RecordedRequest, reply: Reply, text: str) -> Any:
        choice = {"index": 0, "text": text, "finish_reason": reply.finish_reason, "logprobs": None}
        return {**self.envelope(req, reply), "choices": [choice], "usage": self.usage(req, reply, text)}

    def frames(self, req: RecordedRequest, reply: Reply) -> list[bytes]:
        envelope, pieces = self.envelope(req, reply), reply.stream_pieces()
        last = len(pieces) - 1
        return [sse({**envelope, "choices": [{"index": 0, "text": piece, "logprobs": None,
                                              "finish_reason": reply.finish_reason if i == last else None}]})
                for i, piece in enumerate(pieces)]

    def tail(self, req: RecordedRequest, reply: Reply) -> bytes:
        options = req.json.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage"):
            usage = self.usage(req, reply, reply.full_text())
            return sse({**self.envelope(req, reply), "choices": [], "usage": usage}) + b"data: [DONE]\n\n"
        if reply.usage is None:
            self.usage(req, reply, "")  # keeps the cache-prefix memory moving without a usage event
        return b"data: [DONE]\n\n"


if __name__ == "__main__":  # the older spelling of ``python -m fim_server.fakes --provider deepseek``
    from fim_server.fakes.cli import main

    sys.exit(main())
