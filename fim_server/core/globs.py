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
"""

from __future__ import annotations

import fnmatch
import re


def glob_regex(glob: str, *, escapes: bool, git_brackets: bool) -> str:
    out = []
    i = 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        ch = glob[i]
        if escapes and ch == "\\" and i + 1 < len(glob):
            out.append(re.escape(glob[i + 1]))
            i += 2
            continue
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = glob.find("]", i + (2 if git_brackets else 1))
            if end < 0:
                out.append(re.escape(ch))
            else:
                out.append(_git_class(glob[i + 1 : end]) if git_brackets else _fnmatch_class(glob[i : end + 1]))
                i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


def _git_class(body: str) -> str:
    if body.startswith("!"):
        body = "^" + body[1:]
    return "[" + body.replace("\\", "\\\\") + "]"


def _fnmatch_class(bracket: str) -> str:
    return fnmatch.translate(bracket)[4:-3]  # "(?s:" class ")\Z"
