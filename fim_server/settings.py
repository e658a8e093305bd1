"""Every fim-server setting, declared once: name, type, default, range or choices,
description, VS Code scope and the clients that show it (section ``fimServer``,
camelCase names on the wire).

Validation, ``describe``, the VS Code ``contributes.configuration``, the Neovim
plugin's list and the README table all come from the declarations below; after
adding or changing one run ``python -m fim_server.tools.gen_settings``.

``parse_settings`` never raises: a value of the wrong type or out of range is
reported in plain words and replaced by its default, and the rest still applies.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
import math
import os
import json
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

from fim_server.providers.catalog import PROVIDER_DEFAULTS, PROVIDERS, ProviderDefaults, defaults_for
from fim_server.providers.catalog import key_hint as _key_hint, resolve_api_key
from fim_server.providers.templates import TEMPLATE_NAMES

__all__ = [
    "SECTION", "PROVIDERS", "PROVIDER_DEFAULTS", "ProviderDefaults", "Spec", "Settings", "SPECS",
    "CLIENT_SPECS", "DISPLAY_ORDER", "WIRE_NAMES", "SECRET_NAMES", "parse_settings", "describe", "mask",
]

SECTION = "fimServer"
SCOPES = ("application", "machine", "machine-overridable", "window", "resource", "language-overridable")
CLIENTS = ("vscode", "neovim")
FIRST = ("provider", "model", "baseUrl", "enabled")  # shown first in VS Code's settings UI


def _filter_names() -> tuple[str, ...]:
    from fim_server.core.postprocess import OPTIONAL  # lazily: postprocess is below settings' callers

    return tuple(OPTIONAL)


@dataclass(frozen=True)
class Spec:
    """One setting. ``kind`` is derived from the field's type unless given:
    boolean, integer, number, text, optional_text, url, file, choice, strings."""

    description: str
    kind: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | Callable[[], tuple[str, ...]] = ()  # for choice, or the items of strings
    choice_descriptions: tuple[str, ...] = ()
    max_items: int | None = None
    scope: str = "window"
    clients: tuple[str, ...] = CLIENTS
    shown_default: str | None = None  # the README's default column, where the default depends on the provider
    secret: bool = False  # never shown in messages
    name: str = ""  # the wire name (camelCase)
    attr: str = ""  # the Settings field ("" for settings only a client reads)
    default: Any = None

    def options(self) -> tuple[str, ...]:
        return self.choices() if callable(self.choices) else self.choices


def setting(default: Any, description: str, **spec: Any) -> Any:
    return field(default=default, metadata={"spec": Spec(description, **spec)})


@dataclass(frozen=True)
class Settings:
    enabled: bool = setting(True, "Offer completions (off keeps the server running). In VS Code it can be set per "
                            "language, for example `\"[markdown]\": {\"fimServer.enabled\": false}`.",
                            scope="language-overridable")
    provider: str = setting("deepseek", "The FIM API to ask (README: Providers).", choices=PROVIDERS,
                            choice_descriptions=tuple(d.description for d in PROVIDER_DEFAULTS.values()))
    base_url: str | None = setting(None, "The provider's API base URL; unset or null means the provider's default "
                                   "(README: Providers; the default shown in VS Code is DeepSeek's). A URL with a user "
                                   "name or password is refused: give the key in `apiKey`.",
                                   kind="url", shown_default="the provider's")
    api_key: str | None = setting(None, "The provider's API key, never logged. Unset: the provider's environment "
                                  "variable, read only when `baseUrl` is that provider's own host (README: API keys). "
                                  "VS Code keeps the key in secret storage (command *fim-server: Set API key*).",
                                  secret=True, clients=("neovim",), shown_default="the provider's variable, own host only")
    model: str | None = setting(None, "The model name sent to the provider; unset or null means the provider's "
                                "default (the default shown in VS Code is DeepSeek's). A name the API rejects "
                                "gives a message saying so.", kind="text", shown_default="the provider's")
    template: str = setting("auto", "FIM template family for raw prompts: `auto` (from the model name) or a family. "
                            "With llamacpp it also picks the cache-friendly layout (cursor line last, checked with "
                            "the server's /tokenize); with ollama a named family (not codellama) sends a raw prompt in that layout "
                            "(README: Providers).", choices=("auto", *TEMPLATE_NAMES))
    max_tokens: int = setting(256, "Most tokens per completion.", minimum=1, maximum=4096)
    temperature: float = setting(0.0, "Sampling temperature.", minimum=0.0, maximum=2.0)
    stream: bool = setting(True, "Stream the provider's answer (server-sent events).")
    debounce_ms: int = setting(150, "Wait this long after the last keystroke before asking the provider "
                               "(automatic triggers only; 0: no wait).", minimum=0, maximum=5000)
    timeout_ms: int = setting(5000, "Give up on a provider call after this long.", minimum=100, maximum=120_000)
    max_prefix_chars: int = setting(8000, "Budget of the text before the cursor sent as the prompt, cut at a "
                                    "line start.", minimum=0, maximum=400_000)
    max_suffix_chars: int = setting(2000, "Budget of the text after the cursor sent as the suffix, cut at a "
                                    "line end.", minimum=0, maximum=400_000)
    # DeepSeek takes 16 stop strings; the server adds a few itself
    stop: tuple[str, ...] = setting((), "Extra stop strings.", max_items=12)
    cache_size: int = setting(512, "Answers kept in memory (0 turns the cache off).", minimum=0, maximum=100_000)
    cache_ttl_seconds: int = setting(600, "How long a cached answer stays valid, in seconds.", minimum=0,
                                     maximum=86_400)
    single_line_mid_line: bool = setting(True, "With code after the cursor on its line, show one line only.")
    completion_fallback: str = setting(
        "auto", "Also answer `textDocument/completion` (the completion menu).", choices=("auto", "always", "never"),
        choice_descriptions=("Only for editors without inline completion.", "For every editor.", "Never."))
    disabled_languages: tuple[str, ...] = setting((), "Language ids the server never completes, for example "
                                                  "`[\"markdown\", \"plaintext\"]`.", max_items=1000)
    exclude_globs: tuple[str, ...] = setting(
        (), "Files never sent, added to the built-in list of secret files (SECURITY.md); `*` stays inside a folder, "
        "`**` spans folders; a glob without `/` matches the file name, one with `/` the end of the path.",
        max_items=1000)
    ca_bundle: str | None = setting(None, "A PEM file of CA certificates to verify the provider's TLS certificate "
                                    "with (a company proxy's CA, say).", kind="file", shown_default="none (system trust)")
    fatal_retry_seconds: int = setting(300, "After a rejected key (401) or an empty balance (402), one trial request "
                                       "this often, so completions resume once fixed (0: only after a settings "
                                       "change).", minimum=0, maximum=86_400)
    disabled_filters: tuple[str, ...] = setting((), "Cleaning filters to turn off, by name (README: Completion "
                                                "quality).", choices=_filter_names)
    syntax_check: bool = setting(True, "Check completions with tree-sitter (trim or drop those that add parse "
                                 "errors); languages without an installed grammar pass unchecked.")
    workspace_context: bool = setting(True, "Put snippets of other open documents and recently edited regions "
                                      "first in the prompt.")
    context_budget_chars: int = setting(1500, "Most characters of the prompt those snippets may take (0: none).",
                                        minimum=0, maximum=100_000)
    repo_context: bool = setting(True, "Index the workspace folders in memory (in the background; `.gitignore`, "
                                 "`excludeGlobs` and the built-in secret files are never read) and put definitions "
                                 "of the names the file imports and uses near the cursor, then similar code of other "
                                 "files, in the prompt (within `contextBudgetChars`; needs `workspaceContext`).")
    repo_context_max_files: int = setting(10_000, "Most files the workspace index reads (nearest the folders' tops "
                                          "first).", minimum=0, maximum=200_000)
    # typing-replay optimisations (bench/README.md has the before/after figures)
    adaptive_debounce: bool = setting(True, "Debounce from your own typing rhythm (a little over the 90th "
                                      "percentile of your recent gaps between keys), the character typed (longer "
                                      "mid-word, shorter at a line end) and the provider's recent latency; "
                                      "`debounceMs` is the starting value, the wait stays between `debounceMs` less "
                                      "200 ms and twice `debounceMs` (at least 400 ms), so 2000 waits about 2 s; 0 "
                                      "still turns debouncing off.")
    stream_early_stop: bool = setting(True, "Where one line is shown (code after the cursor), answer as soon as the "
                                      "streamed first line is complete and close the stream.")
    inflight_reuse: bool = setting(True, "When you type on while a call runs and what you typed matches what it has "
                                   "streamed so far, wait for that call instead of starting another.")
    forward_cache: bool = setting(True, "Remember the last 32 suggestions per document, so typing into an older "
                                  "one (also after backspacing and typing again) is answered from memory.")
    speculative_next: bool = setting(True, "While you type through (or accept) a suggestion, ask for what follows "
                                     "it in the background, so the next ghost text is ready when the cursor gets "
                                     "there.")
    prompt_anchor_lines: int = setting(32, "The prompt window's first line moves only in steps of this many lines, "
                                       "so consecutive prompts share their beginning and the provider's prefix "
                                       "cache serves it (1: the window slides every line).", minimum=1, maximum=1024)

    @property
    def defaults(self) -> ProviderDefaults:
        return defaults_for(self.provider)

    def resolved_base_url(self) -> str:
        """``baseUrl`` as set, else the provider's default."""
        return (self.base_url or self.defaults.base_url).rstrip("/")

    def resolved_model(self) -> str:
        """``model`` as set, else the provider's default."""
        return self.model or self.defaults.model

    def resolved_api_key(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The key a request carries: ``apiKey``, else the provider's variable for its own host only."""
        return resolve_api_key(self.provider, self.resolved_base_url(), self.api_key, environ)[0]

    def api_key_source(self, environ: Mapping[str, str] | None = None) -> str:
        """Where the key comes from, or why there is none, in words (for doctor)."""
        return resolve_api_key(self.provider, self.resolved_base_url(), self.api_key, environ)[1]

    def key_hint(self) -> str:
        """How to give this provider a key, in words (for messages)."""
        return _key_hint(self.provider, self.resolved_base_url())


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


_KINDS = {"bool": "boolean", "int": "integer", "float": "number", "str": "text", "str | None": "optional_text",
          "tuple[str, ...]": "strings"}


def _declare(f: Any) -> Spec:
    spec: Spec = f.metadata["spec"]
    kind = spec.kind or ("choice" if spec.choices and f.type == "str" else _KINDS[str(f.type)])
    return replace(spec, kind=kind, name=_camel(f.name), attr=f.name, default=f.default)


# the server's settings, in declaration order
SPECS: tuple[Spec, ...] = tuple(_declare(f) for f in fields(Settings))

# settings only an editor client reads (the server never sees them); programs are machine scope,
# so a folder's settings cannot choose what runs
CLIENT_SPECS: tuple[Spec, ...] = (
    Spec("The fim-server program: a full path or a name on PATH. Empty: one found on PATH, in ~/.local/bin, the "
         "pipx or uv tool folders or the workspace's .venv (trusted workspaces only), else the server this extension "
         "carries, installed into a private venv. Read from your user (or remote machine) settings only, never from "
         "a folder.", kind="text", scope="machine", clients=("vscode",), name="serverPath", default=""),
    Spec("Extra command-line arguments for the server (for example `[\"--verbose\"]`). Read from your user (or "
         "remote machine) settings only.", kind="strings", scope="machine", clients=("vscode",), name="serverArgs",
         default=()),
)

DISPLAY_ORDER: tuple[Spec, ...] = tuple(
    sorted(SPECS + CLIENT_SPECS, key=lambda s: FIRST.index(s.name) if s.name in FIRST else len(FIRST))
)

WIRE_NAMES: dict[str, str] = {s.name: s.attr for s in SPECS}
SECRET_NAMES = {s.name for s in SPECS if s.secret}
_BY_WIRE: dict[str, Spec] = {s.name: s for s in SPECS}


# -- validation, one rule per kind ---------------------------------------------------------------
class _Hidden(ValueError):
    """A bad value that must not be shown (it holds a secret)."""


def _boolean(spec: Spec, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError("must be true or false")


def _range_text(spec: Spec) -> str:
    return f"from {spec.minimum:g} to {spec.maximum:g}"


def _in_range(spec: Spec, value: int | float) -> None:
    # int and float compare exactly in Python, however many digits the int has
    if not spec.minimum <= value <= spec.maximum:
        raise ValueError(f"must be {_range_text(spec)}")


def _integer(spec: Spec, value: Any) -> int:
    whole = isinstance(value, int) or (isinstance(value, float) and math.isfinite(value) and value.is_integer())
    if isinstance(value, bool) or not whole:
        raise ValueError(f"must be a whole number {_range_text(spec)}")
    _in_range(spec, value)
    return int(value)


def _number(spec: Spec, value: Any) -> float:
    finite = isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))
    if isinstance(value, bool) or not finite:
        raise ValueError(f"must be a number {_range_text(spec)}")
    _in_range(spec, value)
    return float(value)


def _text(spec: Spec, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty string")
    return value.strip()


def _optional_text(spec: Spec, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return value.strip()


def _url(spec: Spec, value: Any) -> str:
    text = _text(spec, value)
    if not text.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    try:
        parts = urlsplit(text)
        parts.port  # raises for a port that is not a number
    except ValueError:
        raise ValueError("is not a valid URL") from None
    if "@" in parts.netloc:
        # httpx would send it as Basic auth instead of the key, and it would show in messages and logs
        raise _Hidden("must not hold a user name or password (give the key in apiKey)")
    return text.rstrip("/")


def _file(spec: Spec, value: Any) -> str | None:
    path = _optional_text(spec, value)
    if path is not None and not os.path.isfile(os.path.expanduser(path)):
        raise ValueError("must be the path of a readable PEM file")
    return os.path.expanduser(path) if path else None


def _choice(spec: Spec, value: Any) -> str:
    options = spec.options()
    if not isinstance(value, str) or value not in options:
        raise ValueError("must be one of " + ", ".join(repr(o) for o in options))
    return value


def _strings(spec: Spec, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
        raise ValueError("must be a list of non-empty strings")
    options = spec.options()
    limit = spec.max_items if spec.max_items is not None else len(options)
    if len(value) > limit:
        raise ValueError(f"may hold at most {limit} strings")
    unknown = [v for v in value if options and v not in options]
    if unknown:
        raise ValueError("names unknown values " + ", ".join(map(_show, unknown)) + "; known: " + ", ".join(options))
    return tuple(value)


CHECKS: dict[str, Callable[[Spec, Any], Any]] = {
    "boolean": _boolean, "integer": _integer, "number": _number, "text": _text, "optional_text": _optional_text,
    "url": _url, "file": _file, "choice": _choice, "strings": _strings,
}


def _show(value: Any, limit: int = 60) -> str:
    """A value for a message: its repr, cut short (a 400-digit number or a long text stays readable)."""
    try:
        text = repr(value) if not isinstance(value, int) or abs(value) < 10**limit else f"a {len(str(abs(value)))}-digit number"
    except Exception:  # a value whose repr fails (or is too long to make) is still reported
        text = f"a {type(value).__name__}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _unwrap(raw: Any) -> Any:
    """Accept both ``{"fimServer": {...}}`` and the bare section (null: nothing)."""
    if isinstance(raw, Mapping) and SECTION in raw and (raw[SECTION] is None or isinstance(raw[SECTION], Mapping)):
        return raw[SECTION]
    return raw


def parse_settings(raw: Any, base: Settings | None = None) -> tuple[Settings, list[str]]:
    """Apply the values in ``raw`` over ``base`` (default: the defaults).

    Returns the new settings and one plain sentence per problem. A bad value keeps
    the default, never the previous value, so a setting does not depend on history.
    """
    base = base or Settings()
    problems: list[str] = []
    raw = _unwrap(raw)
    if raw is None:
        return base, problems
    if not isinstance(raw, Mapping):
        return base, [f"{SECTION} settings must be an object, not {type(raw).__name__}; using the defaults"]
    changes: dict[str, Any] = {}
    for wire, value in raw.items():
        spec = _BY_WIRE.get(wire) if isinstance(wire, str) else None
        if spec is None:
            name = wire if isinstance(wire, str) and len(wire) <= 60 else _show(wire)
            problems.append(f"unknown setting {SECTION}.{name} is ignored")
            continue
        if value is None and spec.kind != "optional_text":
            changes[spec.attr] = spec.default
            continue
        try:
            changes[spec.attr] = CHECKS[spec.kind](spec, value)
        except Exception as exc:  # one bad value falls back alone, whatever it is
            reason = str(exc) if isinstance(exc, ValueError) else "is not a usable value"
            shown = "<hidden>" if spec.secret or isinstance(exc, _Hidden) else _show(value)
            default = repr(spec.default) if spec.shown_default is None else f"({spec.shown_default})"
            problems.append(f"{SECTION}.{wire} {reason} (got {shown}); using the default {default}")
            changes[spec.attr] = spec.default
    return replace(base, **changes), problems


def describe(settings: Settings) -> dict[str, Any]:
    """The settings as wire names, the key masked, provider defaults filled in (for logs and doctor)."""
    out: dict[str, Any] = {}
    for spec in SPECS:
        value = getattr(settings, spec.attr)
        if spec.secret:
            value = mask(value) if value else None
        elif spec.attr == "base_url":
            value = settings.resolved_base_url()
        elif spec.attr == "model":
            value = settings.resolved_model()
        out[spec.name] = list(value) if isinstance(value, tuple) else value
    return out


def mask(secret: str | None) -> str:
    if not secret:
        return "(none)"
    if len(secret) <= 8:
        return "****"
    return secret[:3] + "…" + secret[-4:]


def set_items(items: list[str]) -> dict[str, Any]:
    """``--set NAME=VALUE`` items as settings: a value that reads as JSON is taken
    as JSON (``true``, ``400``, ``["a"]``), any other as a string. Raises
    ``ValueError`` for an item without ``=`` or a name."""
    out: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"--set needs NAME=VALUE, got {item!r}")
        try:
            out[name] = json.loads(value)
        except ValueError:
            out[name] = value
    return out

