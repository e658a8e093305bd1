"""Glob matching pinned, pattern by pattern: the privacy exclusions
(``core/privacy.matching_glob``: case-insensitive, brackets as ``fnmatch`` reads
them, no backslash escapes) and ``.gitignore`` rules (``core/repo/walker``:
case-sensitive, backslash escapes, git's ``[!...]`` and ``[^...]``). A change to
either table changes which files are excluded (a secret file could leave the
machine) or indexed: change the table only on purpose."""

from __future__ import annotations

import pytest

from fim_server.core.privacy import matching_glob
from fim_server.core.repo.walker import parse_gitignore

PRIVACY = [
    # glob, path, excluded
    ("*.pem", "a/b/key.pem", True),
    ("*.pem", "key.PEM", True),  # case-insensitive
    ("*.pem", "key.pem.txt", False),
    (".env*", ".env", True),
    (".env*", "x/.ENV.prod", True),
    (".env*", "env", False),
    ("SECRETS.*", "x/secrets.yml", True),
    (".envs/**", "p/.envs/a/b", True),
    (".envs/**", ".envs", False),
    ("**/secret/*.txt", "a/secret/x.txt", True),
    ("**/secret/*.txt", "secret/x.txt", True),
    ("**/secret/*.txt", "a/secret/b/x.txt", False),  # * stays in one folder
    ("**", "a/b.txt", True),
    ("**.py", "a/b.py", True),
    ("a/**/b", "a/b", True),
    ("a/**/b", "z/a/x/y/b", True),  # a glob with / matches any tail of the path
    ("a/**/b", "ab", False),
    ("id_rsa?", "id_rsa1", True),
    ("id_rsa?", "id_rsa", False),
    ("x/a?b", "x/a/b", False),  # ? is not /
    ("x/a?b", "q/x/aXb", True),
    ("f[ab].py", "fa.py", True),
    ("f[ab].py", "FB.py", True),
    ("f[ab].py", "fc.py", False),
    ("f[!a].py", "fb.py", True),
    ("f[!a].py", "fa.py", False),
    ("f[^a].py", "f^.py", True),  # fnmatch: ^ is a plain character
    ("f[^a].py", "fb.py", False),
    ("f[a-c].py", "fb.py", True),
    ("f[z-a].py", "fz.py", False),  # an empty range matches nothing
    ("f[]a].py", "f].py", False),  # "[]" is the two characters
    ("f[]a].py", "f[]a].py", True),
    ("f[ab", "f[ab", True),  # an unclosed [ is itself
    ("f\\*.py", "f*.py", False),  # no escapes: a backslash is a separator in a path
    ("f\\*.py", "fx.py", False),
    ("build/", "a/build/x.py", False),  # a trailing / matches nothing
    ("build/", "a/build", False),
    ("/abs/secret.txt", "/abs/secret.txt", True),  # a leading / anchors at the root
    ("/abs/secret.txt", "/x/abs/secret.txt", False),
    (".aws/credentials", "/home/u/.aws/credentials", True),
    (".aws/credentials", "/home/u/.aws/credentials.bak", False),
    ("**", "a\nb", True),  # ** crosses a line break too (it did not before: ".ssh/**" missed ".ssh/a\nb")
    ("*", "a\nb", True),
]


@pytest.mark.parametrize("glob, path, excluded", PRIVACY)
def test_privacy_glob(glob, path, excluded):
    assert (matching_glob(path, [glob]) == glob) is excluded


GITIGNORE = [
    # line, the name or path it is matched against, matches
    ("*.log", "x.log", True),
    ("*.log", "X.LOG", False),  # case-sensitive
    ("*.log", "a/x.log", False),
    ("f\\*.py", "f*.py", True),  # backslash escapes
    ("f\\*.py", "fx.py", False),
    ("\\#x", "#x", True),
    ("\\!x", "!x", True),
    ("a\\\\b", "a\\b", True),
    ("x\\", "x\\", True),  # a trailing backslash is itself
    ("x\\ ", "x ", True),  # an escaped trailing space stays
    ("x.py  ", "x.py", True),
    ("docs/**", "docs/a/b", True),
    ("docs/**", "docs/", True),
    ("docs/**", "docs", False),
    ("**/cache", "cache", True),
    ("**/cache", "a/b/cache", True),
    ("a/**/b", "a/b", True),
    ("a/**/b", "a/x/y/b", True),
    ("a/**/b", "ab", False),
    ("**", "a/b", True),
    ("**", "a\nb", True),
    ("*", "a\nb", True),
    ("f?.py", "fa.py", True),
    ("f?.py", "f/.py", False),
    ("a?", "a\n", True),
    ("f[ab].py", "fb.py", True),
    ("f[ab].py", "fc.py", False),
    ("f[!a].py", "fa.py", False),
    ("f[!a].py", "fb.py", True),
    ("f[^a].py", "fa.py", False),  # git: ^ negates like !
    ("f[^a].py", "f^.py", True),
    ("f[]a].py", "f].py", True),  # a ] first in the class is itself
    ("f[]a].py", "fa.py", True),
    ("f[a-c].py", "fb.py", True),
    ("f[\\].py", "f\\.py", True),  # a backslash in a class is itself
    ("f[/].py", "f/.py", True),
    ("f[ab", "f[ab", True),
    ("README", "readme", False),
]


@pytest.mark.parametrize("line, subject, matches", GITIGNORE)
def test_gitignore_pattern(line, subject, matches):
    [rule] = parse_gitignore(line)
    assert bool(rule.pattern.match(subject)) is matches


@pytest.mark.parametrize(
    "line, anchored, dir_only, negated",
    [
        ("*.log", False, False, False),
        ("/top.py", True, False, False),
        ("a/b", True, False, False),
        ("**/cache", True, False, False),
        ("gen/", False, True, False),
        ("!keep.log", False, False, True),
        ("f[/].py", True, False, False),
    ],
)
def test_gitignore_rule_kind(line, anchored, dir_only, negated):
    [rule] = parse_gitignore(line)
    assert (rule.anchored, rule.dir_only, rule.negated) == (anchored, dir_only, negated)


def test_gitignore_skips_what_git_would_not_read():
    assert parse_gitignore("f[!].py\n# comment\n\n/\n") == []
