"""Typed settings with defaults; camelCase names on the wire (section ``fimServer``).

``parse_settings`` never raises: a value of the wrong type or out of range is
reported in plain words and replaced by the default, and the rest still applies.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
import math
import os
from typing import Any, Callable, Mapping

from fim_server.providers.templates import TEMPLATE_NAMES

SECTION = "fimServer"
PROVIDERS = ("deepseek", "openai", "ollama", "llamacpp", "codestral")


@dataclass(frozen=True)
class ProviderDefaults:
    """What a provider uses when the user did not say: address, model, key variable."""

    base_url: str
    model: str
    key_env: str | None  # the environment variable read when apiKey is not set
    key_required: bool  # hosted APIs need a key; local servers usually do not


PROVIDER_DEFAULTS: dict[str, ProviderDefaults] = {
    "deepseek": ProviderDefaults("https://api.deepseek.com/beta", "deepseek-v4-flash", "DEEPSEEK_API_KEY", True),
    "openai": ProviderDefaults("http://127.0.0.1:8000/v1", "Qwen/Qwen2.5-Coder-1.5B", "OPENAI_API_KEY", False),
    "ollama": ProviderDefaults("http://127.0.0.1:11434", "qwen2.5-coder:1.5b-base", "OLLAMA_API_KEY", False),
    "llamacpp": ProviderDefaults("http://127.0.0.1:8080", "default", "LLAMA_API_KEY", False),
    "codestral": ProviderDefaults("https://api.mistral.ai/v1", "codestral-latest", "MISTRAL_API_KEY", True),
}


@dataclass(frozen=True)
class Settings:
    enabled: bool = True
    provider: str = "deepseek"
    base_url: str | None = None  # None: the provider's default (PROVIDER_DEFAULTS)
    api_key: str | None = None  # None: read the provider's key variable (DEEPSEEK_API_KEY, ...)
    model: str | None = None  # None: the provider's default model
    template: str = "auto"  # FIM template for raw prompts: auto (from the model name) or a family
    max_tokens: int = 256
    temperature: float = 0.0
    stream: bool = True
    debounce_ms: int = 150
    timeout_ms: int = 5000
    max_prefix_chars: int = 8000
    max_suffix_chars: int = 2000
    stop: tuple[str, ...] = ()
    cache_size: int = 512
    cache_ttl_seconds: int = 600
    single_line_mid_line: bool = True
    completion_fallback: str = "auto"  # textDocument/completion: auto = only for clients without inline completion
    disabled_languages: tuple[str, ...] = field(default=())
    exclude_globs: tuple[str, ...] = ()  # never sent, on top of privacy.DEFAULT_EXCLUDE_GLOBS
    ca_bundle: str | None = None  # a PEM file of CA certificates for TLS verification
    fatal_retry_seconds: int = 300  # after a 401/402: one probe call this often (0: only after a settings change)
    disabled_filters: tuple[str, ...] = ()  # names from postprocess.OPTIONAL
    syntax_check: bool = True  # tree-sitter check of the completed windows
    workspace_context: bool = True  # snippets from other open documents and recent edits
    context_budget_chars: int = 1500  # how much of the prompt those snippets may take

    # typing-replay optimisations (bench/README.md has the before/after figures)
    adaptive_debounce: bool = True
    stream_early_stop: bool = True
    inflight_reuse: bool = True
    forward_cache: bool = True
    speculative_next: bool = True
    prompt_anchor_lines: int = 32

    @property
    def defaults(self) -> ProviderDefaults:
        return PROVIDER_DEFAULTS.get(self.provider, PROVIDER_DEFAULTS["deepseek"])

    def resolved_base_url(self) -> str:
        """``baseUrl`` as set, else the provider's default."""
        return (self.base_url or self.defaults.base_url).rstrip("/")

    def resolved_model(self) -> str:
        """``model`` as set, else the provider's default."""
        return self.model or self.defaults.model

    def resolved_api_key(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The key from the settings, else from the provider's environment variable."""
        if self.api_key:
            return self.api_key
        env = os.environ if environ is None else environ
        name = self.defaults.key_env
        return (env.get(name) or None) if name else None

    def key_hint(self) -> str:
        """How to give this provider a key, in words (for messages)."""
        name = self.defaults.key_env
        return f"set {name} or fimServer.apiKey" if name else "set fimServer.apiKey"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


# setting name -> (validator returning the value or raising ValueError with the reason)
def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError("must be true or false")


def _integer(lo: int, hi: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or int(value) != value
        ):
            raise ValueError(f"must be a whole number from {lo} to {hi}")
        if not lo <= value <= hi:
            raise ValueError(f"must be from {lo} to {hi}")
        return int(value)

    return check


def _number(lo: float, hi: float) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"must be a number from {lo} to {hi}")
        if not lo <= value <= hi:
            raise ValueError(f"must be from {lo} to {hi}")
        return float(value)

    return check


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty string")
    return value.strip()


def _optional_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return value.strip()


def _url(value: Any) -> str:
    text = _text(value)
    if not text.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return text.rstrip("/")


def _ca_bundle(value: Any) -> str | None:
    path = _optional_text(value)
    if path is not None and not os.path.isfile(os.path.expanduser(path)):
        raise ValueError("must be the path of a readable PEM file")
    return os.path.expanduser(path) if path else None


def _choice(options: tuple[str, ...]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in options:
            raise ValueError("must be one of " + ", ".join(repr(o) for o in options))
        return value

    return check


def _strings(limit: int) -> Callable[[Any], tuple[str, ...]]:
    def check(value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
            raise ValueError("must be a list of non-empty strings")
        if len(value) > limit:
            raise ValueError(f"may hold at most {limit} strings")
        return tuple(value)

    return check


def _filter_names(value: Any) -> tuple[str, ...]:
    from fim_server.core.postprocess import OPTIONAL

    names = _strings(len(OPTIONAL))(value)
    unknown = [n for n in names if n not in OPTIONAL]
    if unknown:
        raise ValueError("names unknown filters " + ", ".join(map(repr, unknown)) + "; known: " + ", ".join(OPTIONAL))
    return names


VALIDATORS: dict[str, Callable[[Any], Any]] = {
    "enabled": _boolean,
    "provider": _choice(PROVIDERS),
    "base_url": _url,
    "api_key": _optional_text,
    "model": _text,
    "template": _choice(("auto", *TEMPLATE_NAMES)),
    "max_tokens": _integer(1, 4096),
    "temperature": _number(0.0, 2.0),
    "stream": _boolean,
    "debounce_ms": _integer(0, 5000),
    "timeout_ms": _integer(100, 120_000),
    "max_prefix_chars": _integer(0, 400_000),
    "max_suffix_chars": _integer(0, 400_000),
    "stop": _strings(12),  # DeepSeek takes 16 stop strings; the server adds a few itself
    "cache_size": _integer(0, 100_000),
    "cache_ttl_seconds": _integer(0, 86_400),
    "single_line_mid_line": _boolean,
    "completion_fallback": _choice(("auto", "always", "never")),
    "disabled_languages": _strings(1000),
    "exclude_globs": _strings(1000),
    "ca_bundle": _ca_bundle,
    "fatal_retry_seconds": _integer(0, 86_400),
    "disabled_filters": _filter_names,
    "syntax_check": _boolean,
    "workspace_context": _boolean,
    "context_budget_chars": _integer(0, 100_000),
    "adaptive_debounce": _boolean,
    "stream_early_stop": _boolean,
    "inflight_reuse": _boolean,
    "forward_cache": _boolean,
    "speculative_next": _boolean,
    "prompt_anchor_lines": _integer(1, 1024),
}

WIRE_NAMES: dict[str, str] = {_camel(f.name): f.name for f in fields(Settings)}
SECRET_NAMES = {"apiKey"}


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
    defaults = Settings()
    for wire, value in raw.items():
        name = WIRE_NAMES.get(wire)
        if name is None:
            problems.append(f"unknown setting {SECTION}.{wire} is ignored")
            continue
        if value is None and name != "api_key":
            changes[name] = getattr(defaults, name)
            continue
        try:
            changes[name] = VALIDATORS[name](value)
        except ValueError as exc:
            default = getattr(defaults, name)
            shown = "<hidden>" if wire in SECRET_NAMES else repr(value)
            problems.append(f"{SECTION}.{wire} {exc} (got {shown}); using the default {default!r}")
            changes[name] = default
    return replace(base, **changes), problems


def describe(settings: Settings) -> dict[str, Any]:
    """The settings as wire names, the key masked, provider defaults filled in (for logs and doctor)."""
    out: dict[str, Any] = {}
    for f in fields(Settings):
        value = getattr(settings, f.name)
        if f.name == "api_key":
            value = mask(value) if value else None
        elif f.name == "base_url":
            value = settings.resolved_base_url()
        elif f.name == "model":
            value = settings.resolved_model()
        out[_camel(f.name)] = list(value) if isinstance(value, tuple) else value
    return out


def mask(secret: str | None) -> str:
    if not secret:
        return "(none)"
    if len(secret) <= 8:
        return "****"
    return secret[:3] + "…" + secret[-4:]
