"""A small scanner for comments and strings, by the language's rules (``rules.py``):
which parts of a text are comments or strings (``scan``), the text with them blanked
(``mask``: brackets in them no longer count), what is open at the end (the cursor is
in a comment or a string), and what each line of a completion is (``line_kinds``).

It reads text from a given start: a start inside a string makes it see strings
inverted, so callers start at a statement (``rules.statement_start``).
"""

from __future__ import annotations

from functools import lru_cache
import re
from typing import NamedTuple, Tuple

from fim_server.core.language.rules import rules

COMMENT = "comment"  # a line comment (ends at the line end)
BLOCK_COMMENT = "block comment"
STRING = "string"  # a string that ends at its line end at the latest
LONG_STRING = "long string"  # one that may span lines


class Span(NamedTuple):
    start: int
    end: int  # exclusive; len(text) when still open at the end
    kind: str
    closer: str = ""  # what ends it ("" for a line comment)
    escapes: bool = True
    closed: bool = True


_Token = Tuple[str, str, bool, "re.Pattern[str] | None"]  # kind, closer, escapes, rest-of-token regex


@lru_cache(maxsize=None)
def _tokens(language_id: str) -> tuple[re.Pattern[str], dict[str, _Token]]:
    """A regex of the openers (plain literals, so the search skips code fast) and, per
    opener, the token's kind, closer, escapes and a regex of the rest of the token (up
    to its closer, group ``c``, or the end: of the text, or of the line for one-line
    quotes). A raw-string opener's rest is matched from the token's start (regex ``raw``)."""
    r = rules(language_id)
    table: dict[str, _Token] = {}
    for marker in r.line_comments:
        table[marker] = (COMMENT, "", False, None)
    for opener, closer in r.block_comments:
        table[opener] = (BLOCK_COMMENT, closer, False, re.compile(_body(closer, False)))
    for opener, closer, escapes in r.long_strings:
        table[opener] = (LONG_STRING, closer, escapes, re.compile(_body(closer, escapes)))
    for quote in r.quotes:
        q = re.escape(quote)
        table[quote] = (STRING, quote, True, re.compile(rf"(?:[^{q}\\\n]+|\\[^\n]?)*(?P<c>{q})?"))
    if r.char_literal:
        table["'"] = (STRING, "'", True, None)
    raw = None
    if r.raw_string:
        closer = re.escape(r.raw_closer).replace(re.escape("{}"), "{}").format("(?P=d)")
        raw = re.compile(rf"{r.raw_string}[\s\S]*?(?:(?P<c>{closer})|\Z)")
        for start in r.raw_starts:
            table[start] = (LONG_STRING, "", False, raw)
    openers = sorted(table, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, openers)) or r"(?!)"), table


def _body(closer: str, escapes: bool) -> str:
    """Regex of what follows an opener up to ``closer`` (group ``c``) or the end of the
    text; written so that it never backtracks (long strings stay linear)."""
    first, rest = re.escape(closer[0]), re.escape(closer[1:])
    parts = [f"[^{first}\\\\]+" if escapes else f"[^{first}]+"]
    if escapes:
        parts.append(r"\\[\s\S]?")
    if rest:
        parts.append(f"{first}(?!{rest})")
    return f"(?:{'|'.join(parts)})*(?:(?P<c>{re.escape(closer)})|\\Z)"


def _closing(text: str, closer: str, pos: int, escapes: bool) -> int:
    """Index just past ``closer`` from ``pos`` (a backslash escapes the next character
    when ``escapes``); -1 when ``text`` does not close it."""
    while True:
        end = text.find(closer, pos)
        if end < 0:
            return -1
        if escapes:
            slashes = end
            while slashes > pos and text[slashes - 1] == "\\":
                slashes -= 1
            if (end - slashes) % 2:
                pos = end + 1
                continue
        return end + len(closer)


def scan(text: str, language_id: str, open_span: Span | None = None) -> list[Span]:
    """The comments and strings of ``text`` in order. ``open_span``: a block comment or
    a string left open before ``text`` starts (from a scan of the text before it),
    continued here from position 0. The last span may be open (``closed`` False)."""
    spans: list[Span] = []
    pos = 0
    n = len(text)
    if open_span is not None and open_span.kind == COMMENT:  # a line comment goes on to the line's end
        nl = text.find("\n")
        spans.append(Span(0, n if nl < 0 else nl, COMMENT, "", False, nl >= 0))
        if nl < 0:
            return spans
        pos = nl
    elif open_span is not None and open_span.kind in (BLOCK_COMMENT, LONG_STRING, STRING):
        end = _closing(text, open_span.closer, 0, open_span.escapes)
        if open_span.kind == STRING:  # a one-line string ends at its line's end at the latest
            nl = text.find("\n")
            if nl >= 0 and (end < 0 or end > nl):
                end = -1
                spans.append(Span(0, nl, STRING, open_span.closer, True, False))
                pos = nl
        if not spans:
            spans.append(Span(0, n if end < 0 else end, open_span.kind, open_span.closer, open_span.escapes, end >= 0))
            if end < 0:
                return spans
            pos = end
    openers, table = _tokens(language_id)
    char_literal = rules(language_id).char_literal
    while pos < n:
        found = openers.search(text, pos)
        if found is None:
            break
        start = found.start()
        kind, closer, escapes, rest = table[found.group()]
        if kind == COMMENT:
            nl = text.find("\n", start)
            end = n if nl < 0 else nl
            spans.append(Span(start, end, COMMENT, "", False, nl >= 0))
            pos = end
            continue
        if rest is None:  # ``'`` where it may be a lifetime or a label (Rust)
            literal = _regex(char_literal).match(text, start)
            if literal is None:
                pos = start + 1
                continue
            spans.append(Span(start, literal.end(), STRING, "'"))
            pos = literal.end()
            continue
        if not closer:  # a raw string, matched from its start
            if start and (text[start - 1].isalnum() or text[start - 1] == "_"):
                pos = start + 1  # the end of a name, not a raw string
                continue
            body = rest.match(text, start)
            if body is None:  # ``r#type`` (a raw identifier) and the like
                pos = found.end()
                continue
            closer = rules(language_id).raw_closer.format(body.group("d"))
        else:
            body = rest.match(text, found.end())
        end = body.end()
        spans.append(Span(start, end, kind, closer, escapes, body.group("c") is not None))
        pos = end
    return spans


@lru_cache(maxsize=None)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def open_at_end(text: str, language_id: str) -> Span | None:
    """The comment or string still open at the end of ``text`` (None: in code)."""
    spans = scan(text, language_id)
    if spans and not spans[-1].closed and spans[-1].end == len(text):
        return spans[-1]
    return None


# The last text read by ``open_at_end_of`` per language, with a line start in it that
# is in code: the next text that begins the same (typing on, or another filter with
# the same prefix) is read on from there. A memo only: same answers as ``open_at_end``.
_RESUME: dict[str, tuple[str, int]] = {}


def open_at_end_of(text: str, language_id: str) -> Span | None:
    """``open_at_end`` for a prefix read again and again as the user types: the scan
    resumes from the last line start known to be in code."""
    start = 0
    memo = _RESUME.get(language_id)
    if memo is not None and memo[1] <= len(text) and text.startswith(memo[0][: memo[1]]):
        start = memo[1]
    spans = scan(text[start:] if start else text, language_id)
    last = spans[-1] if spans and not spans[-1].closed and spans[-1].end == len(text) - start else None
    # a line start after every span that reaches it: code
    safe_end = spans[-1].end + start if spans else start
    nl = text.rfind("\n", safe_end)
    if last is None and nl >= 0:
        _RESUME[language_id] = (text, nl + 1)
    elif last is not None:
        line_start = text.rfind("\n", start, last.start + start) + 1
        if line_start > start and (len(spans) < 2 or spans[-2].end + start <= line_start):
            _RESUME[language_id] = (text, line_start)
    if last is None:
        return None
    return last._replace(start=last.start + start, end=last.end + start)


def mask(text: str, language_id: str, open_span: Span | None = None) -> str:
    """``text`` with every comment and string blanked (newlines kept), so that what
    is left is code: brackets in a string or a comment no longer count."""
    return masked_and_open(text, language_id, open_span)[0]


@lru_cache(maxsize=32)
def masked_and_open(text: str, language_id: str, open_span: Span | None = None) -> tuple[str, Span | None]:
    """``mask`` and ``open_at_end`` from one scan. Kept for the last few texts: the
    filters of one completion read the same prefix and suffix windows."""
    spans = scan(text, language_id, open_span)
    last = spans[-1] if spans and not spans[-1].closed and spans[-1].end == len(text) else None
    return _blanked(text, spans), last


def _blanked(text: str, spans: list[Span]) -> str:
    if not spans:
        return text
    out: list[str] = []
    pos = 0
    for span in spans:
        out.append(text[pos : span.start])
        out.append("\n".join(" " * len(part) for part in text[span.start : span.end].split("\n")))
        pos = span.end
    out.append(text[pos:])
    return "".join(out)


def closing_line(text: str, language_id: str, open_span: Span) -> int:
    """The line of ``text`` where ``open_span`` (left open before ``text``) ends; the
    number of lines when it does not end in ``text``."""
    spans = scan(text, language_id, open_span)
    if spans and spans[0].closed:
        return text.count("\n", 0, spans[0].end)
    return text.count("\n") + 1


BLANK, CODE, TEXT = "blank", "code", "text"


def line_kinds(text: str, language_id: str, open_span: Span | None = None) -> list[str]:
    """For each line of ``text`` (split at ``\\n``): BLANK, COMMENT (nothing but
    comments: a line comment, a block comment or a line of one), TEXT (begins inside a
    long string opened on an earlier line: its indentation is the string's text) or CODE."""
    spans = scan(text, language_id, open_span)
    kinds: list[str] = []
    start = 0
    i = 0  # first span that may reach the current line
    for line in text.split("\n"):
        end = start + len(line)
        while i < len(spans) and spans[i].end < start:
            i += 1
        if not line.strip():
            kinds.append(BLANK)
        else:
            j, pos, kind = i, start, COMMENT
            first = True
            while pos < end:
                span = spans[j] if j < len(spans) else None
                if span is None or span.start >= end:
                    gap = line[pos - start :]
                else:
                    gap = line[pos - start : max(pos, span.start) - start]
                if gap.strip():
                    kind = CODE
                    break
                if span is None or span.start >= end:
                    break
                if span.kind in (STRING, LONG_STRING):
                    kind = TEXT if first and (span.start < start or (span.start == 0 and open_span is not None)) else CODE
                    break
                first = False
                pos = max(pos, span.end)
                j += 1
            kinds.append(kind)
        start = end + 1
    return kinds
