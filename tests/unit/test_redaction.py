"""fim_server.redaction: known keys in every escaped form, values of key-named
settings with any quoting, tokens shaped like keys, a cut that never leaves half
a key, and the masking of secret-looking lines in document text."""

from __future__ import annotations

import json

import pytest

from fim_server.lsp.log import Redactor
from fim_server.redaction import cut, mask_content, redact, redact_and_cut

CANARY = "sk-canary-7f3a9c2e5b1d"
PLAIN_KEY = "Zq8canaryPLAINsecret4417"  # no known shape: found only because it is known


@pytest.mark.parametrize(
    "key",
    [
        "sk-canary-in'ner-quote-41",
        'sk-canary-in"ner-quote-42',
        "\"sk-canary-pasted-with-quotes-43\"",
        "'canary pasted single 44'",
        "canary'both\"quotes-45",
    ],
)
@pytest.mark.parametrize("dump", [json.dumps, repr, str])
def test_key_setting_with_quotes_is_masked_in_any_dump(key, dump):
    # what pygls logs before the server has read the key: the initialize
    # parameters (attrs repr of a dict) and the raw JSON it sent or received
    text = "Language server initialized InitializeParams(initialization_options=" + dump({"apiKey": key, "model": "m"}) + ")"
    out = Redactor().redact(text)  # nothing known yet: the fallback patterns alone
    core = key.strip("\"'")
    for piece in (core, core[:8], core[-8:]):
        assert piece not in out, out
    assert "'model'" in out or '"model"' in out


def test_known_key_in_escaped_forms():
    key = 'Zq8can"ary\\PLAIN\u2019key'
    redactor = Redactor()
    redactor.add(key)
    for text in (key, json.dumps(key), repr(key), repr(key.encode())):
        assert "PLAIN" not in redactor.redact(f"error: {text} rejected")


@pytest.mark.parametrize(
    "text",
    [
        f"error: DeepSeek is unavailable (500: invalid token {CANARY})",
        "AKIAIOSFODNN7EXAMPLE in the body",
        "github token ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "Authorization: Bearer abc.def-ghi_jkl",
        "DEEPSEEK_API_KEY=c4n4ryvalue99 python x.py",
        "postgres://admin:c4n4ryvalue99@db.example/x",
    ],
)
def test_anything_shaped_like_a_key_is_masked(text):
    out = redact(text)
    for secret in (CANARY, "AKIAIOSFODNN7EXAMPLE", "ghp_abcdef", "abc.def-ghi_jkl", "c4n4ryvalue99"):
        assert secret not in out
    assert "***" in out


def test_ordinary_text_is_left_alone():
    text = "max_tokens=256, prompt_tokens: 10; the keyboard: ok; monkey = 3; sha 9f86d081884c7d659a2feaa0c55ad015"
    assert redact(text) == text


def test_redact_before_cut_never_leaves_the_start_of_a_key():
    for pad in range(170, 200):
        text = "x" * pad + " " + PLAIN_KEY + " trailing words"
        out = redact_and_cut(text, 200, [PLAIN_KEY])
        assert PLAIN_KEY[:5] not in out
        # even unknown: a long token the cut would split is dropped whole (a
        # whole one stays, for the known-key pass of whatever shows it)
        short = cut(text, 200)
        assert PLAIN_KEY in short or PLAIN_KEY[:6] not in short
    assert len(cut("word " * 100, 200)) <= 201


def test_mask_content_private_key_blocks_whole_and_cut_by_the_window():
    body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nbase64bodyCANARYline\n"
    whole = f"x = 1\nKEY = '''-----BEGIN PRIVATE KEY-----\n{body}-----END PRIVATE KEY-----'''\ny = 2\n"
    begin_only = f"x = 1\n-----BEGIN RSA PRIVATE KEY-----\n{body}"
    end_only = f"{body}-----END OPENSSH PRIVATE KEY-----\ny = 2\n"
    for text in (whole, begin_only, end_only):
        out = mask_content(text)
        assert "CANARY" not in out and "MIIEvQ" not in out
    assert mask_content(whole).startswith("x = 1\n") and mask_content(whole).endswith("y = 2\n")
    assert mask_content(end_only).endswith("\ny = 2\n")


def test_mask_content_keys_and_secret_assignments():
    text = (
        f'client = OpenAI(api_key="{CANARY}")\n'
        "aws_key = 'AKIAIOSFODNN7EXAMPLE'\n"
        'password = "correcthorsebattery"\n'
        '"client_secret": "c4n4ry-client-secret",\n'
        "DSN = 'postgres://app:c4n4ryPw@db/app'\n"
        f"known = '{PLAIN_KEY}'\n"
    )
    out = mask_content(text, [PLAIN_KEY])
    for secret in (CANARY, "AKIAIOSFODNN7EXAMPLE", "correcthorsebattery", "c4n4ry-client-secret", "c4n4ryPw", PLAIN_KEY):
        assert secret not in out
    assert out.count("\n") == text.count("\n")


def test_mask_content_leaves_code_alone():
    code = (
        'sort_key = "created_at_field"\ntoken = get_token()\npassword = os.environ["DB_PASSWORD"]\n'
        'url = "https://example.com/a:b@c"\nname = "abcdefghijk"\n'
    )
    assert mask_content(code) == code
