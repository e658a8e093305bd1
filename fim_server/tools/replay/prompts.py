"""The prompts the fake DeepSeek received, read back: where the other-file snippets
end and the file's window begins, and how much of the window repeats the previous
prompt's for the requests that did not follow a cursor move (a jump).

DeepSeek gets the snippets as comment blocks before the window (``# Path: p``,
the snippet's lines commented out, a blank line; ``providers/base.py``
``commented_blocks``), so the window is what follows the last block.
"""

from __future__ import annotations

from typing import Sequence

from fim_server.core.text import common_prefix_len


def split_prompt(prompt: str) -> tuple[list[str], str]:
    """The comment blocks at the top of a DeepSeek prompt, and the file window after them."""
    blocks: list[str] = []
    first = prompt.split("\n", 1)[0]
    if " Path: " not in first:
        return blocks, prompt
    marker = first.split(" Path: ", 1)[0]
    pos = 0
    while prompt.startswith(f"{marker} Path: ", pos):
        end = prompt.find("\n\n", pos)
        if end < 0:
            break
        blocks.append(prompt[pos : end + 2])
        pos = end + 2
    return blocks, prompt[pos:]


def after_move(received: Sequence[float], moves: Sequence[float]) -> list[bool]:
    """Per request (times the fake received them): whether the cursor moved since
    the previous request (the first request counts as moved: nothing came before)."""
    out = []
    previous = float("-inf")
    for at in received:
        out.append(previous == float("-inf") or any(previous < m <= at for m in moves))
        previous = at
    return out


def in_place_shares(prompts: Sequence[str], received: Sequence[float], moves: Sequence[float]) -> tuple[int, int]:
    """(window characters shared with the previous window, window characters) over
    the requests that did not follow a cursor move: the headline's figure (which
    counts the window, not the snippets) for typing in one place."""
    shared = total = 0
    windows = [split_prompt(p)[1] for p in prompts]
    for i, moved in enumerate(after_move(received, moves)):
        if not moved:
            shared += common_prefix_len(windows[i - 1], windows[i])
            total += len(windows[i])
    return shared, total
