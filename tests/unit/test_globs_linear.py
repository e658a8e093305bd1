"""The glob matcher that cannot backtrack: the same answers as the regular
expression on every pattern, and no hang on the patterns that hang ``re``."""

import random
import re
import threading

import pytest

from fim_server.core.globs import ANY, CLASS, FOLDERS, LIT, ONE, STAR, StateMatcher, compile_tokens, regex_source, risky

PIECES = [(LIT, "a"), (LIT, "b"), (LIT, "/"), (LIT, "A"), (STAR,), (ANY,), (FOLDERS,), (ONE,), (CLASS, "[ab]"), (CLASS, "[^a/]")]


@pytest.mark.parametrize("flags", [0, re.IGNORECASE])
def test_state_matcher_agrees_with_the_regular_expression(flags):
    rng = random.Random(14)
    for _ in range(1200):
        tokens = [rng.choice(PIECES) for _ in range(rng.randint(0, 6))]
        regex = re.compile(regex_source(tokens) + r"\Z", flags | re.DOTALL)
        nfa = StateMatcher(tokens, flags)
        for _ in range(8):
            text = "".join(rng.choice("aAb/\n") for _ in range(rng.randint(0, 9)))
            assert bool(nfa.match(text)) == bool(regex.match(text)), (tokens, text)


def test_only_patterns_with_many_stars_leave_the_regular_expression():
    assert not risky([(STAR,), (LIT, ".pyc")])
    assert not risky([(FOLDERS,), (STAR,), (LIT, ".log")])
    assert not risky([(STAR,), (LIT, "secret"), (STAR,)])
    assert risky([(STAR,), (LIT, "a"), (STAR,), (LIT, "a"), (STAR,), (LIT, "b")])
    assert risky([(FOLDERS,), (LIT, "a/"), (ANY,)])
    assert isinstance(compile_tokens([(STAR,), (LIT, ".py")]), re.Pattern)
    assert isinstance(compile_tokens([(STAR,), (LIT, "a")] * 7), StateMatcher)


def test_a_hostile_pattern_is_answered_at_once():
    """``*a*a*a*a*a*a*a*a*b`` against 250 a's: minutes for ``re``; here it must end
    (the thread is given a generous minute so a busy machine does not fail it)."""
    tokens = [(STAR,), (LIT, "a")] * 8 + [(STAR,), (LIT, "b")]
    matcher = compile_tokens(tokens)
    result = []
    worker = threading.Thread(target=lambda: result.append(matcher.match("a" * 250)), daemon=True)
    worker.start()
    worker.join(60)
    assert result == [False]
    assert compile_tokens(tokens).match("a" * 20 + "b")


def _within_a_minute(call):
    result = []
    worker = threading.Thread(target=lambda: result.append(call()), daemon=True)
    worker.start()
    worker.join(60)
    assert result, "the match did not end within a minute"
    return result[0]


def test_a_hostile_gitignore_line_does_not_stop_the_walk():
    from fim_server.core.repo.walker import parse_gitignore

    (rule,) = parse_gitignore("*a" * 9 + "*b\n")
    assert _within_a_minute(lambda: rule.pattern.match("a" * 250)) is False
    assert rule.pattern.match("xa" * 9 + "yb") and not rule.pattern.match("xa" * 8 + "yb")


def test_a_hostile_exclusion_glob_does_not_stop_the_privacy_check():
    """A ``files.exclude`` or ``excludeGlobs`` from a repository's own settings file
    goes through the same matcher as the exclusions."""
    from fim_server.core.privacy import matching_glob

    glob = "**/" + "*a" * 9 + "*b"
    uri = "file:///w/" + "/".join(["a" * 200] * 6)
    assert _within_a_minute(lambda: matching_glob(uri, [glob])) is None
    assert matching_glob("file:///w/x/" + "a" * 9 + "b", [glob]) == glob
