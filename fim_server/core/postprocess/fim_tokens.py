"""Cut a completion at the first special token a model leaked (FIM markers, end of text)."""

from __future__ import annotations

import re

from fim_server.core.context import CursorContext

# Markers of the common FIM families; anything after one is not code for this hole.
LEAKED_TOKENS = (
    "<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>", "<｜end▁of▁sentence｜>", "<｜begin▁of▁sentence｜>",
    "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|fim_pad|>", "<|endoftext|>", "<|file_sep|>",
    "<|repo_name|>", "<|im_end|>", "<|file_separator|>", "<end_of_turn>",
    "<fim_prefix>", "<fim_suffix>", "<fim_middle>", "<file_sep>",
    "<PRE>", "<SUF>", "<MID>", "<EOT>", "[PREFIX]", "[SUFFIX]", "[MIDDLE]",
)
_PATTERN = re.compile("|".join(re.escape(t) for t in sorted(LEAKED_TOKENS, key=len, reverse=True)))


def apply(text: str, ctx: CursorContext | None = None) -> str:
    match = _PATTERN.search(text)
    return text if match is None else text[: match.start()]
