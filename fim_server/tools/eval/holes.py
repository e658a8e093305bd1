"""Hole punching: cursor positions sampled from real code, the removed span as ground
truth, and the faults models typically make (for the evaluation and the repair
benchmark). Pure apart from the ``random.Random`` passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
import random
import re

from fim_server.core.postprocess.min_length import MIN_CHARS

KINDS = ("line_end", "mid_line", "block_start", "multi_line")
FAULTS = ("run_on_suffix", "duplicate_closer", "repeat_last_line", "leak_tokens", "trailing_whitespace", "past_block")
_BOUNDARY = re.compile(r"\b|(?<=[\s(\[{,.=:])")


@dataclass(frozen=True)
class Hole:
    path: str
    kind: str
    line: int  # 0-based line of the cursor
    column: int  # code points
    offset: int  # code points from the start of the file
    truth: str  # the removed text

    def document(self, source: str) -> str:
        """The file with the hole punched."""
        return source[: self.offset] + source[self.offset + len(self.truth) :]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _code_line(line: str) -> bool:
    s = line.strip()
    return len(s) >= 4 and not s.startswith(("#", '"""', "'''", "//")) and "\t" not in line[: _indent(line)]


def _boundaries(content: str, lo: int, hi: int) -> list[int]:
    """Columns in [lo, hi] where a token starts or ends (never inside a word)."""
    out = []
    for col in range(lo, hi + 1):
        before = content[col - 1] if col > 0 else " "
        after = content[col] if col < len(content) else " "
        if not (before.isalnum() or before == "_") or not (after.isalnum() or after == "_"):
            out.append(col)
    return out


def sample(path: str, source: str, rng: random.Random, count: int, kinds: tuple[str, ...] = KINDS) -> list[Hole]:
    """Up to ``count`` holes in ``source``, the kinds taken in turn."""
    lines = source.split("\n")
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    code = [i for i, line in enumerate(lines) if _code_line(line)]
    if not code:
        return []
    holes: list[Hole] = []
    attempts = 0
    while len(holes) < count and attempts < count * 20:
        kind = kinds[attempts % len(kinds)]
        attempts += 1
        i = rng.choice(code)
        content = lines[i]
        ind = _indent(content)
        hole = None
        if kind == "line_end":
            cols = _boundaries(content, ind + 1, len(content.rstrip()) - 1)
            if cols:
                col = rng.choice(cols)
                hole = (col, content[col:].rstrip())
        elif kind == "mid_line":
            end = len(content.rstrip())
            cols = _boundaries(content, ind + 1, end - 1)
            if len(cols) >= 2:
                a, b = sorted(rng.sample(cols, 2))
                if b - a >= 2 and content[a:b].strip() and b < end:
                    hole = (a, content[a:b])
        elif kind == "block_start":
            prev = lines[i - 1].rstrip() if i > 0 else ""
            if prev.endswith((":", "{")) and _indent(content) > _indent(lines[i - 1]):
                hole = (ind, content[ind:].rstrip())
        elif kind == "multi_line":
            n = rng.randint(2, 5)
            block = lines[i : i + n]
            if len(block) == n and all(line.strip() for line in block) and all(_indent(line) >= ind for line in block):
                if not lines[i + n - 1].rstrip().endswith((":", "{", "(", "[", ",", "\\")):
                    text = "\n".join(block)[ind:]
                    hole = (ind, text.rstrip())
        if hole is None or not useful(hole[1]):
            continue
        col, truth = hole
        if truth.count('"""') % 2 or truth.count("'''") % 2:
            continue  # a hole that cuts a docstring in two
        item = Hole(path, kind, i, col, starts[i] + col, truth)
        if item not in holes:
            holes.append(item)
    return holes


def useful(truth: str) -> bool:
    """Worth completing: what ``postprocess.min_length`` keeps (a lone ``,`` is not)."""
    visible = "".join(truth.split())
    return len(visible) >= MIN_CHARS or any(ch.isalnum() for ch in visible)


def _line_suffix(source: str, hole: Hole) -> str:
    end = source.find("\n", hole.offset + len(hole.truth))
    return source[hole.offset + len(hole.truth) : end if end != -1 else len(source)]


def applicable(fault: str, hole: Hole, source: str) -> bool:
    rest = _line_suffix(source, hole)
    if fault == "duplicate_closer":
        return rest[:1] in (")", "]", "}")
    if fault in ("trailing_whitespace", "repeat_last_line", "past_block"):
        return not rest.strip()
    if fault == "run_on_suffix":
        after = source[hole.offset + len(hole.truth) :]
        return bool(after.strip())
    return True


def inject(fault: str, hole: Hole, source: str, rng: random.Random) -> str:
    """What a model making ``fault`` would answer for ``hole``."""
    truth = hole.truth
    after = source[hole.offset + len(hole.truth) :]
    lines = source.split("\n")
    cursor_line = lines[hole.line]
    if fault == "run_on_suffix":
        rest = _line_suffix(source, hole)
        if rest.strip():
            return truth + rest  # writes the rest of the line again
        following = [line for line in after.split("\n")[1:] if line.strip()][:2]
        return truth + "\n" + "\n".join(following) if following else truth
    if fault == "duplicate_closer":
        return truth + _line_suffix(source, hole)[0]
    if fault == "repeat_last_line":
        last = (cursor_line[: hole.column] + truth).split("\n")[-1]
        return truth + "\n" + last
    if fault == "leak_tokens":
        token = rng.choice(["<|endoftext|>", "<｜fim▁end｜>", "<|fim_middle|>", "<|file_sep|>"])
        return truth + token + "\ndef unrelated():\n    pass\n"
    if fault == "trailing_whitespace":
        return truth + rng.choice(["  ", "\t", " \n\n", "\n   \n"])
    if fault == "past_block":
        base = _indent(cursor_line)
        if base == 0:
            return truth + "\n\n\ndef _next_helper(value):\n    return value\n"
        outer = " " * max(0, base - 4)
        return truth + "\n" + outer + "_next_value = compute(_next_value)\n" + outer + "return _next_value"
    raise ValueError(f"unknown fault {fault!r}")


def applied(source: str, hole: Hole, text: str, replace_after: int = 0) -> str:
    """The file after the completion is accepted into the hole."""
    doc = hole.document(source)
    return doc[: hole.offset] + text + doc[hole.offset + replace_after :]


def edit_similarity(a: str, b: str) -> float:
    """1 - Levenshtein distance / length of the longer string (1.0 = equal)."""
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        prev = cur
    return 1.0 - prev[-1] / max(len(a), len(b))
