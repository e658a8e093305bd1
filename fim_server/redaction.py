"""Secrets masked in text: the one home of what "shaped like a key" means.

Two uses, one set of patterns:

* ``redact(text, secrets)``: for everything the server or the command line shows
  or writes (logs, messages, status, error answers, CLI output, report files).
  Known secrets (the configured keys, also in their escaped forms), values of
  key-named settings (``"apiKey": "..."`` with any quoting, escaped quotes
  included), bearer tokens, and tokens shaped like keys (``sk-...``, ``AKIA...``,
  ``ghp_...``, private key blocks) become ``***``.
* ``mask_content(text, secrets)``: for document text before it leaves the machine
  in a provider request. Lines that look like secrets inside ordinary files
  (private key blocks, cloud and API keys of known shapes, passwords in URLs,
  string values assigned to secret-named variables, the configured keys) are
  replaced by ``***``; the rest of the text is unchanged.

``cut(text, limit)`` shortens text for a message without leaving the first part
of a long token (a key cut in two would escape both rules above).

No imports from the package: every floor (lsp, core, providers, tools) may use it.
"""

from __future__ import annotations

import re
from typing import Iterable

MASK = "***"

# Tokens whose shape alone says "secret". Each starts with a literal, so a search
# over a long prompt is quick.
_SHAPES: tuple[tuple[str, str], ...] = (  # (a literal every match holds, the pattern)
    ("sk-", r"sk-[A-Za-z0-9_\-]{8,}"),  # OpenAI, DeepSeek, Anthropic (sk-ant-...), many others
    ("k_", r"[sr]k_(?:live|test)_[A-Za-z0-9]{8,}"),  # Stripe
    ("AKIA", r"AKIA[0-9A-Z]{16}"),  # AWS access key ids
    ("ASIA", r"ASIA[0-9A-Z]{16}"),
    ("AIza", r"AIza[0-9A-Za-z_\-]{30,}"),  # Google API keys
    ("_", r"gh[pousr]_[A-Za-z0-9]{20,}"),  # GitHub tokens
    ("github_pat_", r"github_pat_[A-Za-z0-9_]{20,}"),
    ("glpat-", r"glpat-[A-Za-z0-9_\-]{16,}"),  # GitLab
    ("xox", r"xox[abprs]-[A-Za-z0-9\-]{10,}"),  # Slack
    ("hf_", r"hf_[A-Za-z0-9]{20,}"),  # Hugging Face
    ("npm_", r"npm_[A-Za-z0-9]{30,}"),
    ("pypi-", r"pypi-[A-Za-z0-9_\-]{30,}"),
    ("eyJ", r"eyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"),  # JWTs
)
KEY_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = tuple((lit, re.compile(p)) for lit, p in _SHAPES)


def _mask_shapes(text: str) -> str:
    for literal, shape in KEY_SHAPES:
        if literal in text:
            text = shape.sub(MASK, text)
    return text


# A private key block, whole or cut by a window edge (BEGIN without END masks to
# the end of the text, END without BEGIN from its start).
_KEY_BLOCK = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z)",
    re.DOTALL,
)
_KEY_BLOCK_BEGIN = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
_KEY_BLOCK_END = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")

# name = value, where the name says secret. The value is a quoted string (either
# quote, backslash escapes inside, possibly unterminated) or a bare word.
_SECRET_NAME = (
    r"(?:api[_\-]?key|apikey|x[_\-]api[_\-]key|secret[_\-]?key|client[_\-]?secret|secret|password|passwd|pwd"
    r"|access[_\-]?token|auth[_\-]?token|refresh[_\-]?token|token|private[_\-]?key|access[_\-]?key(?:[_\-]?id)?"
    r"|aws[_\-]secret[_\-]access[_\-]key|authorization)"
)
_ANY_SECRET_NAME = rf"(?:{_SECRET_NAME}|[a-z0-9_\-]*[_\-](?:key|secret|token|password))"  # STRIPE_SECRET_KEY, sort_key
_QUOTED = r"""(?:"(?:[^"\\\n]|\\.)*(?:"|$)|'(?:[^'\\\n]|\\.)*(?:'|$))"""
# Found in an ASCII lower-case copy of the text (same length, quick to search):
# the end of a secret-looking name and its separator; then the whole name is
# checked (_NAME_BEFORE) and the value read from the original text.
_NAME_END = re.compile(r"""(?:key|key_id|keyid|key-id|secret|passwd|password|pwd|token|authorization)(?=["']?[ \t]*(?:=>|[:=]))""")
_SEPARATOR = re.compile(r"""["']?[ \t]*(?:=>|[:=])[ \t]*""")
_VALUE = re.compile(rf"""{_QUOTED}|[^\s"',;}})\]&]+""", re.MULTILINE)
_SCHEME_WORD = re.compile(r"(?:bearer|basic|token)[ \t]+")
_SCHEME_VALUE = re.compile(r"[A-Za-z0-9._~+/=\-]{6,}")
# In document text only a quoted value of 8 or more characters is masked
# (``password = "hunter22hunter"``), not ``token = get_token()``. Found from the
# assignment (quick to search for), then the name before it is checked.
_ASSIGNED_LITERAL = re.compile(r"""[:=]>?[ \t]*("[^"\s\\]{8,}"|'[^'\s\\]{8,}')""")
_NAME_BEFORE = re.compile(rf"""(?<![A-Za-z0-9])["']?{_ANY_SECRET_NAME}(?:["']?[ \t]*)?\Z""", re.IGNORECASE)
_STRONG_NAME_BEFORE = re.compile(rf"""(?<![A-Za-z0-9_\-])["']?{_SECRET_NAME}["']?[ \t]*\Z""", re.IGNORECASE)
_RANDOM_LOOKING = re.compile(r"(?=.*\d)(?=.*[A-Za-z]).{12,}")
_URL_PASSWORD = re.compile(r"(://[^/\s:@\"']*:)([^/\s@\"']+)(@)")
_URL_USERINFO = re.compile(r"(://)[^/\s\"'@]+@")
_LONG_TOKEN = re.compile(r"[A-Za-z0-9_\-+/=.~]{6,}\Z")


def _known(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, MASK)
    return text


def secret_forms(secret: str | None) -> list[str]:
    """A secret as it may appear in text: itself, its ``repr`` and JSON escapes,
    and without the quotes a pasted value may carry."""
    if not secret or len(secret) < 4:
        return []
    import json

    forms = {secret, repr(secret)[1:-1], repr(secret.encode("utf-8", "replace"))[2:-1], json.dumps(secret)[1:-1]}
    stripped = secret.strip().strip("\"'\u2018\u2019\u201c\u201d").strip()
    if len(stripped) >= 4:
        forms |= {stripped, json.dumps(stripped)[1:-1], repr(stripped)[1:-1]}
    return sorted(forms, key=len, reverse=True)  # longest first: no half-masked forms


def _mask_key_blocks(text: str) -> str:
    if "PRIVATE KEY" not in text:
        return text
    end = _KEY_BLOCK_END.search(text)
    if end is not None and not _KEY_BLOCK_BEGIN.search(text, 0, end.start()):
        text = MASK + text[end.end() :]  # the text starts inside a key block
    return _KEY_BLOCK.sub(MASK, text)


def _ascii_lower(text: str) -> str:
    return text.encode("ascii", "replace").decode("ascii").lower()


def _mask_named(text: str) -> str:
    """``name = value`` / ``"name": "value"`` with a secret-looking name: value masked."""
    low = _ascii_lower(text)
    out: list[str] = []
    done = 0
    for found in _NAME_END.finditer(low):
        if found.start() < done or not _NAME_BEFORE.search(text, max(0, found.start() - 48), found.end()):
            continue
        sep = _SEPARATOR.match(text, found.end())
        value = _VALUE.match(text, sep.end()) if sep else None
        if value is None:
            continue
        raw = value.group(0)
        close = raw[-1] if raw[:1] in "\"'" and len(raw) > 1 and raw[-1] == raw[0] else ""
        out += [text[done : value.start()], (raw[0] + MASK + close) if raw[:1] in "\"'" else MASK]
        done = value.end()
    return "".join(out) + text[done:] if out else text


def _mask_schemes(text: str) -> str:
    """``Bearer <token>``, ``Basic <credentials>``, ``Token <token>``: token masked."""
    low = _ascii_lower(text)
    out: list[str] = []
    done = 0
    for found in _SCHEME_WORD.finditer(low):
        if found.start() < done or (found.start() and low[found.start() - 1].isalnum()):
            continue
        value = _SCHEME_VALUE.match(text, found.end())
        if value is not None:
            out += [text[done : value.start()], MASK]
            done = value.end()
    return "".join(out) + text[done:] if out else text


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Text with known secrets and anything shaped like a key replaced by ``***``."""
    if not text:
        return text
    text = _known(text, secrets)
    text = _mask_key_blocks(text)
    text = _mask_schemes(text)
    text = _mask_named(text)
    text = _URL_USERINFO.sub(r"\1" + MASK + "@", text)  # user name and password, as logs show them
    text = _mask_shapes(text)
    return text


def cut(text: str, limit: int) -> str:
    """At most ``limit`` characters; a token the cut would split, of the length a
    key has (6 to 160 characters before the cut), is dropped whole."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    if text[limit : limit + 1].strip():
        tail = _LONG_TOKEN.search(head)
        if tail is not None and len(tail.group(0)) <= 160:
            head = head[: tail.start()].rstrip()
    return head


def redact_and_cut(text: str, limit: int, secrets: Iterable[str] = ()) -> str:
    """Redact first, then cut: a cut never splits a secret before it is found."""
    return cut(redact(text, secrets), limit)


def mask_content(text: str, secrets: Iterable[str] = ()) -> str:
    """Document text with secret-looking parts replaced by ``***`` (see the module
    docstring); text without any is returned as it is."""
    if not text:
        return text
    text = _known(text, secrets)
    text = _mask_key_blocks(text)
    text = _mask_shapes(text)
    if "://" in text:
        text = _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + m.group(3), text)
    return _ASSIGNED_LITERAL.sub(_mask_assigned, text)


def _mask_assigned(match: re.Match[str]) -> str:
    text, start = match.string, match.start()
    if not _NAME_BEFORE.search(text, max(0, start - 48), start):
        return match.group(0)
    value = match.group(1)
    if not _STRONG_NAME_BEFORE.search(text, max(0, start - 48), start) and not _RANDOM_LOOKING.match(value[1:-1]):
        return match.group(0)  # sort_key = "created_at": a name ending in _key, a value that is no key
    return match.group(0)[: match.start(1) - start] + value[0] + MASK + value[0]


def known_secrets(settings=None, environ=None) -> list[str]:
    """Every key this process may hold: the settings' key and the key variable of
    each provider (``providers.catalog.KEY_VARIABLES``), in their forms."""
    from fim_server.providers.catalog import environment_keys  # here: providers import this module

    values = list(environment_keys(environ))
    if settings is not None:
        values.append(settings.api_key)
        values.append(settings.resolved_api_key(environ))
    forms: set[str] = set()
    for value in values:
        forms.update(secret_forms(value))
    return sorted(forms, key=len, reverse=True)
