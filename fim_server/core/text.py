"""Small text helpers shared by the engine, the syntax check and the replay."""

from __future__ import annotations

from typing import TypeVar

S = TypeVar("S", str, bytes)


def common_prefix_len(a: S, b: S, limit: int | None = None) -> int:
    """Length of the longest common beginning of ``a`` and ``b`` (at most ``limit``):
    a binary search of slice comparisons, each done at C speed, instead of a loop
    over the characters."""
    n = min(len(a), len(b)) if limit is None else min(len(a), len(b), limit)
    if a[:n] == b[:n]:
        return n
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo
