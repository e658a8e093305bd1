"""Hole punching: cursor positions sampled from real code, the removed span as ground
truth, and the faults models typically make (for the evaluation and the repair
benchmark). Pure apart from the ``random.Random`` passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
import random
import re

from fim_server.core.postprocess.min_length import MIN_CHARS
from fim_server.redaction import mask_content

KINDS = ("line_end", "mid_line", "block_start", "multi_line")
FAULTS = (
    "run_on_suffix", "past_block", "duplicate_closer", "repeat_last_line", "repeat_block", "wrong_indent",
    "leak_tokens", "trailing_whitespace", "retype_above",
)
# faults whose answer holds nothing of the truth: recovered means dropped (``expected``)
DROPPED = ("retype_above",)
_COMMENT_STARTS = ("#", '"""', "'''", "//", "/*", "*")
_CLOSER_LINE = re.compile(r"[)\]}]+[;,)]*$")
_NEXT_FUNCTION = {
    "go": "func nextHelper(value int) int {\n\treturn value\n}",
    "rust": "fn next_helper(value: i32) -> i32 {\n    value\n}",
    "javascript": "function nextHelper(value) {\n  return value;\n}",
    "typescript": "function nextHelper(value: number): number {\n  return value;\n}",
    "c": "static int next_helper(int value) {\n    return value;\n}",
}
_KEY_BLOCK = re.compile(r"-----BEGIN[^\n]*-----.*?(?:-----END[^\n]*-----|\Z)", re.S)
_BOUNDARY = re.compile(r"\b|(?<=[\s(\[{,.=:])")


@dataclass(frozen=True)
class Hole:
    path: str
    kind: str
    line: int  # 0-based line of the cursor
    column: int  # code points
    offset: int  # code points from the start of the file
    truth: str  # the removed text
    language: str = "python"  # the languageId: faults are made the way that language writes blocks

    def document(self, source: str) -> str:
        """The file with the hole punched."""
        return source[: self.offset] + source[self.offset + len(self.truth) :]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _code_line(line: str, language: str = "python") -> bool:
    s = line.strip()
    if len(s) < 4 or s.startswith(_COMMENT_STARTS):
        return False
    return language != "python" or "\t" not in line[: _indent(line)]  # Go indents with tabs


def brace(language: str) -> bool:
    """Blocks made by braces (every language here but Python)."""
    return language != "python"


def _boundaries(content: str, lo: int, hi: int) -> list[int]:
    """Columns in [lo, hi] where a token starts or ends (never inside a word)."""
    out = []
    for col in range(lo, hi + 1):
        before = content[col - 1] if col > 0 else " "
        after = content[col] if col < len(content) else " "
        if not (before.isalnum() or before == "_") or not (after.isalnum() or after == "_"):
            out.append(col)
    return out


def sample(
    path: str, source: str, rng: random.Random, count: int, kinds: tuple[str, ...] = KINDS, language: str = "python"
) -> list[Hole]:
    """Up to ``count`` holes in ``source``, the kinds taken in turn."""
    lines = source.split("\n")
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    secret = secret_lines(source, lines)
    code = [i for i, line in enumerate(lines) if _code_line(line, language) and i not in secret]
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
            if len(block) == n and not secret.intersection(range(i, i + n)) and all(line.strip() for line in block) and all(_indent(line) >= ind for line in block):
                if not lines[i + n - 1].rstrip().endswith((":", "{", "(", "[", ",", "\\")):
                    text = "\n".join(block)[ind:]
                    hole = (ind, text.rstrip())
        if hole is None or not useful(hole[1]):
            continue
        col, truth = hole
        if truth.count('"""') % 2 or truth.count("'''") % 2:
            continue  # a hole that cuts a docstring in two
        if brace(language) and (truth.count("`") % 2 or truth.count("/*") != truth.count("*/")):
            continue  # ... or a template string or a block comment
        item = Hole(path, kind, i, col, starts[i] + col, truth, language)
        if item not in holes:
            holes.append(item)
    return holes


def secret_lines(source: str, lines: list[str]) -> set[int]:
    """The lines a provider request would mask (``mask_content``: a key, a password
    in a string, a private key block): never a hole, so that a report never holds
    one as the ground truth and no score is taken against text the model never saw."""
    if mask_content(source) == source:
        return set()
    out = {i for i, line in enumerate(lines) if mask_content(line) != line}
    for block in _KEY_BLOCK.finditer(source):
        first = source.count("\n", 0, block.start())
        out.update(range(first, first + block.group(0).count("\n") + 1))
    return out


def useful(truth: str) -> bool:
    """Worth completing: what ``postprocess.min_length`` keeps (a lone ``,`` is not)."""
    visible = "".join(truth.split())
    return len(visible) >= MIN_CHARS or any(ch.isalnum() for ch in visible)


def _line_suffix(source: str, hole: Hole) -> str:
    end = source.find("\n", hole.offset + len(hole.truth))
    return source[hole.offset + len(hole.truth) : end if end != -1 else len(source)]


def _next_line(source: str, hole: Hole) -> str:
    """The first non-blank line after the hole's line."""
    for line in source[hole.offset + len(hole.truth) :].split("\n")[1:]:
        if line.strip():
            return line
    return ""


def _unit(source: str) -> str:
    """One level of indentation in ``source``: a tab where lines start with one, else the
    narrowest indentation of spaces (4 when nothing is indented)."""
    widths = []
    for line in source.split("\n"):
        if line[:1] == "\t":
            return "\t"
        if line[:1] == " " and line.strip() and not line.strip().startswith(_COMMENT_STARTS):
            widths.append(_indent(line))  # not the " * " of a block comment
    return " " * (min(widths) if widths else 4)


def _line_above(source: str, hole: Hole) -> str:
    lines = source.split("\n")
    for line in reversed(lines[: hole.line]):
        if line.strip():
            return line
    return ""


def applicable(fault: str, hole: Hole, source: str) -> bool:
    rest = _line_suffix(source, hole)
    if fault == "duplicate_closer":
        # the closer right of the cursor, or (line end) the closer line that follows
        return rest[:1] in (")", "]", "}") or (not rest.strip() and bool(_CLOSER_LINE.match(_next_line(source, hole).strip())))
    if fault in ("trailing_whitespace", "repeat_last_line", "past_block"):
        return not rest.strip()
    if fault == "repeat_block":
        return not rest.strip() and "\n" in hole.truth
    if fault == "wrong_indent":
        following = _next_line(source, hole).strip()
        return not rest.strip() and bool(following) and not _CLOSER_LINE.match(following)
    if fault == "retype_above":
        above = _line_above(source, hole).strip()
        cursor_line = source.split("\n")[hole.line]
        return not cursor_line[: hole.column].strip() and len(above) >= 4 and above != hole.truth.split("\n")[0].strip()
    if fault == "run_on_suffix":
        after = source[hole.offset + len(hole.truth) :]
        return bool(after.strip())
    return True


def expected(fault: str | None, hole: Hole) -> str:
    """What a good pipeline leaves of the answer: the truth, or nothing (``DROPPED``)."""
    return "" if fault in DROPPED else hole.truth


def inject(fault: str, hole: Hole, source: str, rng: random.Random) -> str:
    """What a model making ``fault`` would answer for ``hole``, written the way
    ``hole.language`` writes blocks (braces, or indentation for Python)."""
    truth = hole.truth
    after = source[hole.offset + len(hole.truth) :]
    lines = source.split("\n")
    cursor_line = lines[hole.line]
    braces = brace(hole.language)
    if fault == "run_on_suffix":
        rest = _line_suffix(source, hole)
        if rest.strip():
            return truth + rest  # writes the rest of the line again
        following = [line for line in after.split("\n")[1:] if line.strip()][:2]
        return truth + "\n" + "\n".join(following) if following else truth
    if fault == "duplicate_closer":
        rest = _line_suffix(source, hole)
        if rest[:1] in (")", "]", "}"):
            return truth + rest[0]
        return truth + "\n" + _next_line(source, hole)  # closes the block the suffix closes
    if fault == "repeat_last_line":
        last = (cursor_line[: hole.column] + truth).split("\n")[-1]
        return truth + "\n" + last
    if fault == "repeat_block":
        written = (cursor_line[: hole.column] + truth).split("\n")
        return truth + "\n" + "\n".join(written[-min(3, len(written)) :])
    if fault == "wrong_indent":
        # goes on with the line that follows, one level too deep (so it no longer
        # matches the suffix character for character)
        return truth + "\n" + _unit(source) + _next_line(source, hole)
    if fault == "retype_above":
        return _line_above(source, hole).strip()
    if fault == "leak_tokens":
        token = rng.choice(["<|endoftext|>", "<｜fim▁end｜>", "<|fim_middle|>", "<|file_sep|>"])
        junk = _NEXT_FUNCTION.get(hole.language, _NEXT_FUNCTION["c"]) if braces else "def unrelated():\n    pass"
        return truth + token + "\n" + junk + "\n"
    if fault == "trailing_whitespace":
        return truth + rng.choice(["  ", "\t", " \n\n", "\n   \n"])
    if fault == "past_block":
        base = _indent(cursor_line)
        if braces:
            # closes every block open at the end of the truth, then writes another function
            unit = _unit(source)
            last = (cursor_line[: hole.column] + truth).split("\n")[-1]
            indent = last[: _indent(last)]
            depth = indent.count("\t") if unit == "\t" else len(indent.replace("\t", unit)) // len(unit)
            depth += last.rstrip().endswith("{")
            closers = [unit * level + "}" for level in range(depth - 1, -1, -1)]
            function = _NEXT_FUNCTION.get(hole.language, _NEXT_FUNCTION["c"])
            return truth + "\n" + "\n".join(closers) + ("\n\n" if closers else "\n\n\n") + function + "\n"
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
