"""The shared machinery of the fake providers other than DeepSeek.

Each fake is a :class:`FakeDeepSeek` underneath (the same hand-written HTTP/1.1
server, scripted :class:`Reply` objects, request recording, keep-alive,
drop and hang injections), with its own routes, answer shapes and error bodies.
A subclass says:

* ``completion_path`` and the other routes (``routes``: GET path -> answer);
* ``document(req, reply, text)``: the non-streaming answer;
* ``frames(req, reply)``: the streamed body, one ``bytes`` per piece of text,
  and ``tail(req, reply)``: what follows the last piece;
* ``error_body(status, message)``: its error JSON;
* ``stream_type`` and ``keepalive``: content type and keep-alive line of a stream.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable

from fim_server.fakes.deepseek import _LAST_CHUNK, FakeDeepSeek, RecordedRequest, Reply, ReplySource, _chunk, _Conn, _head, estimate_tokens

__all__ = ["FakeProvider", "Reply", "RecordedRequest", "estimate_tokens"]


def sse(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n\n"


class FakeProvider(FakeDeepSeek):
    completion_path = "/v1/completions"
    server_header = "fake-provider"
    stream_type = "text/event-stream; charset=utf-8"
    keepalive = b": keep-alive\n\n"
    #: whether a request without "stream" streams (Ollama: true)
    stream_by_default = False

    def __init__(
        self,
        replies: Iterable[ReplySource] = (),
        default: ReplySource | None = None,
        api_key: str | None = None,
        *,
        models: Iterable[str] | None = None,
        validate_models: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(replies, default, api_key, models=models, validate_models=validate_models, host=host, port=port)
        if models is None:
            self._models = list(self.default_models)

    default_models: tuple[str, ...] = ("model-a",)

    # -- to be given by each fake ----------------------------------------------
    def routes(self) -> dict[str, Callable[[RecordedRequest], tuple[int, Any]]]:
        return {}

    def document(self, req: RecordedRequest, reply: Reply, text: str) -> Any:
        raise NotImplementedError

    def frames(self, req: RecordedRequest, reply: Reply) -> list[bytes]:
        raise NotImplementedError

    def tail(self, req: RecordedRequest, reply: Reply) -> bytes:
        return b""

    def error_body(self, status: int, message: str | None) -> Any:
        raise NotImplementedError

    def check(self, req: RecordedRequest) -> Reply | None:
        """Provider-specific refusals before the script (wrong fields, unknown model)."""
        return None

    # -- helpers for tests ---------------------------------------------------------
    def error(self, status: int, message: str | None = None, retry_after: float | None = None, **kwargs: Any) -> Reply:
        """An error reply with this provider's body."""
        headers = dict(kwargs.pop("headers", {}) or {})
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        return Reply(status=status, error_body=self.error_body(status, message), headers=headers, **kwargs)

    def models(self) -> list[str]:
        with self._lock:
            return list(self._models)

    def wants_stream(self, req: RecordedRequest) -> bool:
        value = req.json.get("stream")
        return self.stream_by_default if value is None else bool(value)

    # -- plumbing over FakeDeepSeek ------------------------------------------------
    def _is_completion(self, req: RecordedRequest) -> bool:
        return req.method == "POST" and req.path == self.completion_path

    def _precheck(self, req: RecordedRequest) -> Reply | None:
        if self.api_key is not None and req.bearer != self.api_key:
            return self.error(401)
        if req.path in self.routes():
            return None if req.method == "GET" else self.error(405)
        if req.path != self.completion_path:
            return self.error(404, f"No route for {req.method} {req.path}")
        if req.method != "POST":
            return self.error(405)
        if not isinstance(req.body, dict):
            return self.error(400, "invalid JSON body")
        return self.check(req)

    def _reply_coroutine(self, conn: _Conn, req: RecordedRequest, reply: Reply | None, keep_alive: bool):
        if reply is None:
            status, obj = self.routes()[req.path](req)
            return self._send_json(conn, status, obj, keep_alive)
        if reply.status != 200:
            if reply.error_body is None:
                reply.error_body = self.error_body(reply.status, None)
            return self._send_error_reply(conn, reply, keep_alive, req)
        stream = reply.force_stream if reply.force_stream is not None else self.wants_stream(req)
        if stream:
            return self._send_frames(conn, req, reply, keep_alive)
        return self._send_document(conn, req, reply, keep_alive)

    async def _send_document(self, conn: _Conn, req: RecordedRequest, reply: Reply, keep_alive: bool) -> None:
        await conn.sleep(reply.delay_before_headers)
        doc = self.document(req, reply, reply.full_text())
        if not (reply.keepalives or reply.hang or reply.drop_after_chunks is not None):
            await self._send_json(conn, 200, doc, keep_alive, dict(reply.headers))
            return
        headers = self._base_headers("application/json", keep_alive) + list(reply.headers.items())
        headers.append(("Transfer-Encoding", "chunked"))
        await conn.write(_head(200, headers))
        await self._send_keepalives(conn, reply, b"\n")
        if reply.drop_after_chunks is not None:
            await self._drop(conn, req)
        if reply.hang:
            await conn.wait_eof()
        body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        await conn.write(_chunk(body) + _LAST_CHUNK)

    async def _send_frames(self, conn: _Conn, req: RecordedRequest, reply: Reply, keep_alive: bool) -> None:
        await conn.sleep(reply.delay_before_headers)
        headers = self._base_headers(self.stream_type, keep_alive)
        headers += [("Cache-Control", "no-cache"), *reply.headers.items(), ("Transfer-Encoding", "chunked")]
        await conn.write(_head(200, headers))
        if self.keepalive:
            await self._send_keepalives(conn, reply, self.keepalive)
        if reply.hang:
            await conn.wait_eof()
        for i, frame in enumerate(self.frames(req, reply)):
            if reply.drop_after_chunks is not None and i >= reply.drop_after_chunks:
                await self._drop(conn, req)
            if reply.hang_after_chunks is not None and i >= reply.hang_after_chunks:
                await conn.wait_eof()
            if i:
                await conn.sleep(reply.chunk_delay)
            await conn.write(_chunk(frame))
        if reply.drop_after_chunks is not None:
            await self._drop(conn, req)
        if reply.hang_after_chunks is not None:
            await conn.wait_eof()
        tail = self.tail(req, reply)
        await conn.write(_chunk(tail) + _LAST_CHUNK if tail else _LAST_CHUNK)

    @property
    def base_url(self) -> str:
        """What ``fimServer.baseUrl`` should be for this fake."""
        return self.url

    def usage_numbers(self, req: RecordedRequest, reply: Reply, prompt_fields: tuple[str, ...]) -> tuple[int, int]:
        """(prompt tokens, completion tokens), or the reply's own ``usage`` numbers."""
        if reply.usage is not None:
            return int(reply.usage.get("prompt_tokens", 0)), int(reply.usage.get("completion_tokens", 0))
        text = "".join(v for v in (req.json.get(f) for f in prompt_fields) if isinstance(v, str))
        return estimate_tokens(text), estimate_tokens(reply.full_text())
