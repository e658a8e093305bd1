"""Answer sources for the fake provider during a replay.

``ContinuationAnswers`` answers like a good model: with the true continuation of
the file being typed (the replay knows the final text), found by the prompt's
tail. It honours stop strings as DeepSeek does and streams the answer in small
pieces, ``chunk_delay`` apart, after ``latency`` seconds.
"""

from __future__ import annotations

from typing import Any

from fim_server.fakes.replies import RecordedRequest, Reply

TAIL = 200


def continuation(final: str, prompt: str, stop: list[str] | tuple[str, ...] = ()) -> str:
    """The text a perfect model would give after ``prompt``: the rest of the line, or
    at a line end the next line (with its newline and indentation)."""
    if final.startswith(prompt):
        at = len(prompt)
    else:
        tail = prompt[-TAIL:]
        found = final.find(tail)
        if found < 0 or not tail:
            return ""
        at = found + len(tail)
    end = final.find("\n", at)
    end = len(final) if end < 0 else end
    if not final[at:end].strip() and end < len(final):
        nxt = final.find("\n", end + 1)
        while nxt >= 0 and not final[end + 1 : nxt].strip():  # skip blank lines
            nxt = final.find("\n", nxt + 1)
        end = len(final) if nxt < 0 else nxt
    text = final[at:end]
    for mark in stop:
        cut = text.find(mark)
        if cut >= 0:
            text = text[:cut]
    return text


class ContinuationAnswers:
    def __init__(self, final: str, latency_s: float = 0.3, chunk_chars: int = 6, chunk_delay_s: float = 0.01) -> None:
        self.final = final
        self.latency_s = latency_s
        self.chunk_chars = max(1, chunk_chars)
        self.chunk_delay_s = chunk_delay_s

    def __call__(self, request: RecordedRequest) -> Reply:
        body: Any = request.json
        prompt = body.get("prompt") if isinstance(body.get("prompt"), str) else ""
        stop = body.get("stop") or []
        if isinstance(stop, str):
            stop = [stop]
        text = continuation(self.final, prompt, [s for s in stop if isinstance(s, str) and s])
        pieces = [text[i : i + self.chunk_chars] for i in range(0, len(text), self.chunk_chars)] or [""]
        return Reply(chunks=pieces, delay_before_headers=self.latency_s, chunk_delay=self.chunk_delay_s)


class FixedAnswers:
    def __init__(self, text: str, latency_s: float = 0.3) -> None:
        self.text = text
        self.latency_s = latency_s

    def __call__(self, request: RecordedRequest) -> Reply:
        return Reply(text=self.text, delay_before_headers=self.latency_s)
