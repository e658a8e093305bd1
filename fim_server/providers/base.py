"""What every provider takes and gives back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class FimRequest:
    prompt: str
    suffix: str
    max_tokens: int
    temperature: float = 0.0
    stop: tuple[str, ...] = ()
    stream: bool = True
    path: str = ""  # the file's path (templates with file context, llama.cpp)
    # (path, text) context chunks from other files; providers with a native form use
    # it (Qwen <|file_sep|>, llama.cpp input_extra), DeepSeek gets commented blocks
    extra: tuple[tuple[str, str], ...] = ()
    language_id: str = ""
    # the language's line-comment marker ("#", "//", "--"; "" when unknown), set by the
    # prompt stage, for providers that send ``extra`` as comment blocks (DeepSeek)
    comment: str = ""
    # single-line situation: a stream may end (and its connection close) at the first line break
    first_line_only: bool = False


class Streamed:
    """The text of one call as it streams in, piece by piece: the provider adds to
    it, the engine reads it while the call runs (in-flight reuse). Passed to
    ``Provider.complete`` by the caller; the request itself stays frozen."""

    __slots__ = ("pieces",)

    def __init__(self) -> None:
        self.pieces: list[str] = []

    def add(self, text: str) -> None:
        self.pieces.append(text)

    @property
    def text(self) -> str:
        return "".join(self.pieces)


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_hit_tokens: int = 0
    cache_miss_tokens: int = 0
    # where the server says it spent the time (llama.cpp's timings): prompt evaluation, generation
    prompt_ms: float = 0.0
    generation_ms: float = 0.0

    def add(self, other: "Usage") -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cache_hit_tokens += other.cache_hit_tokens
        self.cache_miss_tokens += other.cache_miss_tokens
        self.prompt_ms += other.prompt_ms
        self.generation_ms += other.generation_ms


@dataclass
class Completion:
    text: str
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)


class Provider(Protocol):
    name: str

    async def complete(self, request: FimRequest, timeout_s: float, progress: Streamed | None = None) -> Completion:
        """One FIM call; raises ``errors.ProviderError`` subclasses on failure.
        Streamed pieces are added to ``progress`` as they come."""
        ...


def encodable(text: str) -> str:
    """The text with lone surrogates (binary junk an editor may send as JSON escapes)
    replaced by "?", so it can be encoded as UTF-8 for a request body."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


def commented_blocks(extra: tuple[tuple[str, str], ...], marker: str) -> str:
    """Snippets as comment blocks for models without a native form (DeepSeek):
    a ``Path:`` line, then each line of the snippet commented out."""
    marker = marker or "#"
    out = []
    for path, text in extra:
        out.append(f"{marker} Path: {path}\n")
        for line in text.rstrip("\n").split("\n"):
            out.append(f"{marker} {line}".rstrip() + "\n")
        out.append("\n")
    return "".join(out)
