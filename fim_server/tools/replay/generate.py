"""Turn a real source file into a realistic typing trace (seeded, reproducible).

The model of a human typist: keys come in bursts 60-250 ms apart (a skewed
distribution around 130 ms); the hand rests 0.4-3 s at some word ends and at most
line ends; now and then a wrong key is typed and corrected with a backspace. The
trace opens the file with a few top-level functions (or classes) removed and types
them back top to bottom; Enter is one key that also inserts the next line's
indentation (as an editor's auto-indent does). After some pauses the user presses
Tab (accept) or Escape (dismiss).
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Iterable

from fim_server.core.language import language_for_path
from fim_server.redaction import mask_content
from fim_server.tools.replay.trace import Event, Trace

_JS = re.compile(
    r"^(export\s+)?(default\s+)?(declare\s+)?(abstract\s+)?(async\s+)?"
    r"(function\*?\s|class\s|interface\s|enum\s|(const|let)\s+\w+\s*(:[^=]*)?=\s*(async\s*)?(\([^)]*\)|\w+)\s*(:[^=]*)?=>)"
)
_DEFINITION = {
    "python": re.compile(r"^(async\s+def|def|class)\s"),
    "go": re.compile(r"^(func|type\s+\w+\s+(struct|interface))\s"),
    "typescript": _JS,
    "javascript": _JS,
    # functions (also pub(crate), const, async, unsafe, extern "C") and the blocks that hold them
    "rust": re.compile(
        r"^(pub(\([^)]*\))?\s+)?((const|async|unsafe|default)\s+)*(extern\s+\"[^\"]*\"\s+)?"
        r"(fn|impl|struct|enum|trait|mod\s+\w+\s*\{)\b"
    ),
}
_SAME_BLOCKS = {"typescriptreact": "typescript", "javascriptreact": "javascript"}
_NEIGHBOURS = "qwertyuiopasdfghjklzxcvbnm"


_CHAR = re.compile(r"'(\\.|[^'\\])'")  # Go, Rust, C: a character literal ('a alone is a Rust lifetime)


def _brace_end(lines: list[str], start: int, language: str) -> int | None:
    """The line after a brace language's definition: where the brackets opened from
    ``start`` are all closed again after a ``{`` (or a declaration ends with ``;``).
    Brackets in strings, characters and comments do not count; backquoted strings
    (JS/TS templates, Go raw strings) and block comments may span lines."""
    depth, opened = 0, False
    state = ""  # "", a quote character, or "*/"
    single_quoted_strings = language in ("javascript", "typescript")
    for j in range(start, len(lines)):
        line = lines[j]
        i = 0
        while i < len(line):
            ch = line[i]
            if state == "*/":
                if line.startswith("*/", i):
                    state, i = "", i + 1
            elif state:
                if ch == "\\" and state != "`":
                    i += 1
                elif ch == state:
                    state = ""
            elif line.startswith("//", i):
                break
            elif line.startswith("/*", i):
                state, i = "*/", i + 1
            elif ch in "\"`" or (ch == "'" and single_quoted_strings):
                state = ch
            elif ch == "'":
                literal = _CHAR.match(line, i)
                i = literal.end() - 1 if literal else i
            elif ch in "{([":
                depth += 1
                opened = opened or ch == "{"
            elif ch in "})]":
                depth -= 1
            i += 1
        if state in "\"'":
            state = ""  # an unclosed quote ends with its line
        if state:
            continue
        code = line.split("//")[0].rstrip()
        if depth <= 0 and (opened or code.endswith(";")):
            return j + 1
        if depth <= 0 and not opened:
            following = lines[j + 1] if j + 1 < len(lines) else ""
            if not following.strip() or not (following[0].isspace() or following.startswith(("{", "where"))):
                return j + 1  # a declaration without a body (Go's ``func f() bool`` of an assembly function)
    return None


def blocks(lines: list[str], language: str, max_lines: int = 40) -> list[tuple[int, int]]:
    """Top-level definitions as (first line, line after the last), at most ``max_lines`` long."""
    language = _SAME_BLOCKS.get(language, language)
    pattern = _DEFINITION.get(language, _DEFINITION["python"])
    found = []
    i = 0
    while i < len(lines):
        if not pattern.match(lines[i]):
            i += 1
            continue
        start = i
        if language in _DEFINITION and language != "python":
            j = _brace_end(lines, start, language)
            if j is None:
                break
        else:
            j = i + 1
            while j < len(lines):
                text = lines[j]
                if text.strip() and not text[0].isspace():
                    break
                j += 1
        end = j
        while end > start + 1 and not lines[end - 1].strip():
            end -= 1  # leave trailing blank lines in the document
        if end - start <= max_lines:
            found.append((start, end))
        i = max(j, i + 1)
    return found


class Typist:
    """The seeded model of a person typing."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.rhythm = rng.uniform(0.85, 1.2)  # this person's speed

    def key_delay(self) -> float:
        # a skewed burst interval: mostly 80-160 ms, bounded to 60-250 ms
        return max(60.0, min(250.0, self.rng.lognormvariate(4.8, 0.3) * self.rhythm))

    def pause(self) -> float:
        return self.rng.uniform(400, 3000) if self.rng.random() < 0.8 else self.rng.uniform(400, 900)


def type_text(text: str, typist: Typist, *, word_pause: float = 0.08, line_pause: float = 0.5, typo: float = 0.02) -> list[Event]:
    """Events that type ``text`` (which starts at a line start) key by key."""
    rng = typist.rng
    events: list[Event] = []
    lines = text.split("\n")
    for number, line in enumerate(lines):
        content = line.lstrip(" \t")
        indent = line[: len(line) - len(content)]
        if number == 0:
            if indent:
                events.append(Event("key", typist.key_delay(), text=indent))
        else:
            if rng.random() < line_pause and events:
                events.append(Event("pause", typist.pause()))
                if rng.random() < 0.5:
                    events.append(Event("accept", rng.uniform(80, 250)))
                elif rng.random() < 0.05:
                    events.append(Event("dismiss", rng.uniform(80, 250)))
            if number == len(lines) - 1 and not line:
                events.append(Event("key", typist.key_delay(), text="\n"))
                break
            events.append(Event("key", typist.key_delay(), text="\n" + indent))
        for k, ch in enumerate(content):
            if ch.isalpha() and rng.random() < typo / 5:
                wrong = rng.choice(_NEIGHBOURS)
                if wrong != ch.lower():
                    events.append(Event("key", typist.key_delay(), text=wrong))
                    events.append(Event("backspace", typist.key_delay() + rng.uniform(100, 300)))
            events.append(Event("key", typist.key_delay(), text=ch))
            at_word_end = not (ch.isalnum() or ch == "_") and k + 1 < len(content)
            if at_word_end and rng.random() < word_pause:
                events.append(Event("pause", typist.pause()))
                if rng.random() < 0.3:
                    events.append(Event("accept", rng.uniform(80, 250)))
    return events


def generate(path: str | Path, *, seed: int = 1, max_keys: int = 600, max_block_lines: int = 40, language: str | None = None,
             source: str = "", secrets: Iterable[str] = ()) -> Trace:
    """A trace typing top-level definitions of ``path`` back, top to bottom, until about
    ``max_keys`` keystrokes. The file's secret-looking parts and ``secrets`` are
    masked first (``redaction.mask_content``): a key typed one keystroke at a time
    would escape any masking of the trace's text."""
    from fim_server.tools.files import read_regular

    path = Path(path)
    original = read_regular(path).decode("utf-8").replace("\r\n", "\n")  # a FIFO or /dev/zero: OSError
    original = mask_content(original, secrets)
    language = language or language_for_path(path)
    rng = random.Random(seed)
    typist = Typist(rng)
    lines = original.split("\n")
    candidates = blocks(lines, language, max_block_lines)
    if not candidates:
        raise ValueError(f"{path}: no top-level definitions of at most {max_block_lines} lines to type")
    # pick blocks spread over the file until the key budget is spent
    chosen: list[tuple[int, int]] = []
    budget = max_keys
    order = list(range(len(candidates)))
    rng.shuffle(order)
    for index in order:
        start, end = candidates[index]
        size = sum(len(lines[i].strip()) + 1 for i in range(start, end))
        if size > budget and chosen:
            continue
        chosen.append((start, end))
        budget -= size
        if budget <= 0:
            break
    chosen.sort()
    # each block leaves one empty line where the user types it back
    removed = set()
    for start, end in chosen:
        removed.update(range(start + 1, end))
    kept = ["" if i in {s for s, _ in chosen} else line for i, line in enumerate(lines) if i not in removed]
    events: list[Event] = []
    for start, end in chosen:
        text = "\n".join(lines[start:end])
        events.append(Event("move", rng.uniform(600, 2000), line=start, character=0))
        events += type_text(text, typist)
        events.append(Event("pause", typist.pause()))
    return Trace(
        name=path.stem,
        uri=f"file:///replay/{path.name}",
        language_id=language,
        text="\n".join(kept),
        source=source or path.name,
        events=events,
    )
