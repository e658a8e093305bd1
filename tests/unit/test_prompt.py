"""The request built from a cursor context: stops and windows."""

from __future__ import annotations

import pytest

from cursor import ctx_at
from fim_server.core.prompt import build_request
from fim_server.settings import Settings


# -- build_request -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, settings, stop",
    [
        ("x = █\n", Settings(), ()),
        ("f(█)\n", Settings(), ("\n",)),  # mid-line: one line only
        ("x = █   \n", Settings(), ()),  # only whitespace after the cursor
        ("f(█)\n", Settings(stop=("\n",)), ("\n",)),  # no duplicate
        ("f(█)\n", Settings(stop=("###", "\n\n")), ("###", "\n\n", "\n")),  # user stops kept, first
        ("x = █\n", Settings(stop=("###",)), ("###",)),
        ("x = █\n", Settings(stop=("a", "b", "a")), ("a", "b")),
        ("f(█)\n", Settings(single_line_mid_line=False), ()),
        ("f(█)\n", Settings(single_line_mid_line=False, stop=("x",)), ("x",)),
    ],
)
def test_build_request_stops(text, settings, stop):
    assert build_request(ctx_at(text), settings).stop == stop


@pytest.mark.parametrize(
    "text, language, stop",
    [
        # at a comment's end the answer may start on the next line (issue 16): no stop
        ("    # the first part█\n", "python", ()),
        ("// the cache of results█\n", "typescript", ()),
        ("/// Returns the sum.█\n", "rust", ()),
        # in a string that ends on its line: one line
        ('s = "abc█\n', "python", ("\n",)),
        ('s := "abc█\n', "go", ("\n",)),
        # in a string that may span lines: no stop
        ("s := `abc█\n", "go", ()),
    ],
)
def test_build_request_stops_by_language(text, language, stop):
    request = build_request(ctx_at(text, language_id=language), Settings())
    assert request.stop == stop
    assert request.first_line_only is bool(stop)


@pytest.mark.parametrize(
    "text, budgets, prompt, suffix",
    [
        ("def f():\n    █pass\nx = 1\n", {}, "def f():\n    ", "pass\nx = 1\n"),
        ("a\r\nb█c\r\nd", {}, "a\r\nb", "c\r\nd"),
        ("中文😀█𝄞", {}, "中文😀", "𝄞"),
        ("ab\ncd\nef█gh\nij\nkl\n", {"max_prefix_chars": 5, "max_suffix_chars": 6}, "cd\nef", "gh\nij\n"),
    ],
)
def test_build_request_windows(text, budgets, prompt, suffix):
    settings = Settings(max_tokens=77, temperature=0.3, stream=False)
    request = build_request(ctx_at(text, **budgets), settings)
    assert request.prompt == prompt
    assert request.suffix == suffix
    assert (request.max_tokens, request.temperature, request.stream) == (77, 0.3, False)


def test_build_request_masks_secret_looking_lines_before_they_leave():
    from dataclasses import replace

    text = (
        'import boto3\nKEY = "AKIAIOSFODNN7EXAMPLE"\nclient = OpenAI(api_key="sk-canary-prefix-0001")\n'
        "x = █\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAACANARY\n"
    )
    settings = Settings(api_key="Zq8canaryPLAINsecret4417")
    ctx = replace(ctx_at(text), snippets=(("other.py", "TOKEN = 'Zq8canaryPLAINsecret4417'\nok = 1\n"),))
    request = build_request(ctx, settings)
    sent = request.prompt + request.suffix + "".join(t for _, t in request.extra)
    for secret in ("AKIAIOSFODNN7EXAMPLE", "sk-canary-prefix", "CANARY", "Zq8canaryPLAIN"):
        assert secret not in sent
    assert request.prompt.endswith("x = ") and "import boto3\n" in request.prompt and "ok = 1" in sent
