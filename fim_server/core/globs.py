"""Globs as regular expressions over ``/``-separated paths, for the two kinds the
server reads: the privacy exclusions (``core/privacy``) and ``.gitignore`` rules
(``core/repo/walker``).

Both: ``**/`` is any number of folders (none too), any other ``**`` is anything,
``*`` and ``?`` stay within one folder. They differ in two things, the options:

- ``escapes``: git reads ``\\x`` as the character ``x``; an exclusion glob keeps a
  backslash as itself (paths are compared with ``/`` separators).
- ``git_brackets``: git's classes (``[!a]`` and ``[^a]`` negate, a ``]`` first in the
  class is itself, the rest taken as written, a backslash as itself); otherwise
  ``fnmatch``'s (``[!a]`` negates, ``^`` is a plain character, empty ranges match
  nothing), the class ending at the first ``]``.

The pattern has no anchors or flags: the caller adds ``\\Z`` and chooses them
(case-insensitive for the exclusions, ``re.DOTALL`` for git).

A glob with several stars, turned into a regular expression, makes Python's
backtracking engine try every way of splitting the text between the stars: a
``.gitignore`` line or a ``files.exclude`` glob such as ``*a*a*a*a*a*a*b`` (both come
with a repository someone else wrote) against a long file name takes minutes, and
the match holds the interpreter lock all the while, so the whole server stops.
``compile_glob`` keeps the regular expression where it cannot go wrong (at most two
stars, at most one of them spanning folders) and otherwise follows every state of
the pattern at once, one step per character (``StateMatcher``).
"""

from __future__ import annotations

import fnmatch
import re
from typing import Sequence


# Tokens, as the glob translators produce them:
LIT = "lit"  # (LIT, text): these characters
CLASS = "class"  # (CLASS, regex source of one bracket class)
ONE = "one"  # ``?``: one character but ``/``
STAR = "star"  # ``*``: any characters but ``/``
ANY = "any"  # ``**``: any characters
FOLDERS = "folders"  # ``**/``: nothing, or anything ending in ``/``

Token = tuple


def regex_source(tokens: Sequence[Token]) -> str:
    out = []
    for token in tokens:
        kind = token[0]
        if kind == LIT:
            out.append(re.escape(token[1]))
        elif kind == CLASS:
            out.append(token[1])
        elif kind == ONE:
            out.append("[^/]")
        elif kind == STAR:
            out.append("[^/]*")
        elif kind == ANY:
            out.append(".*")
        elif kind == FOLDERS:
            out.append("(?:.*/)?")
        else:
            raise ValueError(f"unknown glob token {token!r}")
    return "".join(out)


def risky(tokens: Sequence[Token]) -> bool:
    """Whether a backtracking engine could take more than about the square of the
    text's length: three or more stars, or two that may both span folders."""
    stars = [t[0] for t in tokens if t[0] in (STAR, ANY, FOLDERS)]
    return len(stars) > 2 or sum(1 for s in stars if s != STAR) > 1


class StateMatcher:
    """Matches a whole text against the tokens by following every state at once."""

    __slots__ = ("_steps", "_flags", "pattern")

    def __init__(self, tokens: Sequence[Token], flags: int = 0, source: str = "") -> None:
        steps = []  # one per character the tokens consume, or a star
        for token in tokens:
            if token[0] == LIT:
                for ch in token[1]:
                    same = {ch, ch.lower(), ch.upper(), ch.swapcase()} if flags & re.IGNORECASE else {ch}
                    steps.append((LIT, frozenset(c for c in same if len(c) == 1)))
            elif token[0] == CLASS:
                steps.append((CLASS, re.compile(token[1], flags | re.DOTALL)))
            elif token[0] == FOLDERS:  # nothing (jump past), or any characters then "/"
                steps += [(FOLDERS, len(steps) + 3), (ANY, None), (LIT, frozenset("/"))]
            else:
                steps.append((token[0], None))
        self._steps = tuple(steps)
        self._flags = flags
        self.pattern = source  # the regular expression it stands for, for messages

    def _closure(self, states: set[int]) -> set[int]:
        steps = self._steps
        todo = list(states)
        while todo:
            i = todo.pop()
            if i >= len(steps) or steps[i][0] not in (STAR, ANY, FOLDERS):
                continue
            for j in (i + 1, steps[i][1]) if steps[i][0] == FOLDERS else (i + 1,):
                if j not in states:
                    states.add(j)
                    todo.append(j)
        return states

    def match(self, text: str) -> bool:
        steps, end = self._steps, len(self._steps)
        states = self._closure({0})
        for ch in text:
            nxt: set[int] = set()
            for i in states:
                if i == end:
                    continue
                kind, arg = steps[i]
                if kind == LIT:
                    if ch in arg:
                        nxt.add(i + 1)
                elif kind == CLASS:
                    if arg.match(ch):
                        nxt.add(i + 1)
                elif kind == ONE:
                    if ch != "/":
                        nxt.add(i + 1)
                elif kind == STAR:
                    if ch != "/":
                        nxt.add(i)
                elif kind == ANY:
                    nxt.add(i)
                # a FOLDERS step consumes nothing: its closure went on to the steps after it
            if not nxt:
                return False
            states = self._closure(nxt)
        return end in states


def compile_tokens(tokens: Sequence[Token], flags: int = 0):
    """An object with ``match(text)`` (true when the whole text matches) for the
    glob's tokens: a compiled regular expression where backtracking stays cheap,
    a ``StateMatcher`` otherwise. Raises ``re.error`` for a bad bracket class."""
    source = regex_source(tokens) + r"\Z"
    compiled = re.compile(source, flags | re.DOTALL)
    return StateMatcher(tokens, flags, source) if risky(tokens) else compiled


def glob_tokens(glob: str, *, escapes: bool, git_brackets: bool) -> list[Token]:
    """The glob as tokens (below), literal characters run together."""
    out: list[Token] = []

    def literal(text: str) -> None:
        if out and out[-1][0] == LIT:
            out[-1] = (LIT, out[-1][1] + text)
        else:
            out.append((LIT, text))

    i = 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append((FOLDERS,))
            i += 3
            continue
        if glob.startswith("**", i):
            out.append((ANY,))
            i += 2
            continue
        ch = glob[i]
        if escapes and ch == "\\" and i + 1 < len(glob):
            literal(glob[i + 1])
            i += 2
            continue
        if ch == "*":
            out.append((STAR,))
        elif ch == "?":
            out.append((ONE,))
        elif ch == "[":
            end = glob.find("]", i + (2 if git_brackets else 1))
            if end < 0:
                literal(ch)
            else:
                out.append((CLASS, _git_class(glob[i + 1 : end]) if git_brackets else _fnmatch_class(glob[i : end + 1])))
                i = end
        else:
            literal(ch)
        i += 1
    return out


def glob_regex(glob: str, *, escapes: bool, git_brackets: bool) -> str:
    """The glob as a regular expression (no anchors, no flags)."""
    return regex_source(glob_tokens(glob, escapes=escapes, git_brackets=git_brackets))


def compile_glob(glob: str, *, escapes: bool, git_brackets: bool, flags: int = 0):
    """An object whose ``match(text)`` is true when the whole text matches the glob
    (``re.DOTALL`` always: a newline in a file name is one more character). Raises
    ``re.error`` for a class the regular expression engine refuses."""
    return compile_tokens(glob_tokens(glob, escapes=escapes, git_brackets=git_brackets), flags)


def _git_class(body: str) -> str:
    if body.startswith("!"):
        body = "^" + body[1:]
    return "[" + body.replace("\\", "\\\\") + "]"


def _fnmatch_class(bracket: str) -> str:
    return fnmatch.translate(bracket)[4:-3]  # "(?s:" class ")\Z"
