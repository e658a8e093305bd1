"""Typed settings with defaults; camelCase names on the wire (section ``fimServer``).

``parse_settings`` never raises: a value of the wrong type or out of range is
reported in plain words and replaced by the default, and the rest still applies.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
import math
import os
from typing import Any, Callable, Mapping

SECTION = "fimServer"
PROVIDERS = ("deepseek",)


@dataclass(frozen=True)
class Settings:
    enabled: bool = True
    provider: str = "deepseek"
    base_url: str = "https://api.deepseek.com/beta"
    api_key: str | None = None  # None: read DEEPSEEK_API_KEY from the environment
    model: str = "deepseek-v4-flash"
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
    # typing-replay optimisations (bench/README.md has the before/after figures)
    adaptive_debounce: bool = True
    stream_early_stop: bool = True
    inflight_reuse: bool = True
    forward_cache: bool = True
    speculative_next: bool = True
    prompt_anchor_lines: int = 32

    def resolved_api_key(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The key from the settings, else from the provider's environment variable."""
        if self.api_key:
            return self.api_key
        env = os.environ if environ is None else environ
        return env.get("DEEPSEEK_API_KEY") or None


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


VALIDATORS: dict[str, Callable[[Any], Any]] = {
    "enabled": _boolean,
    "provider": _choice(PROVIDERS),
    "base_url": _url,
    "api_key": _optional_text,
    "model": _text,
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
    """The settings as wire names, the key masked (for logs and doctor output)."""
    out: dict[str, Any] = {}
    for f in fields(Settings):
        value = getattr(settings, f.name)
        if f.name == "api_key":
            value = mask(value) if value else None
        out[_camel(f.name)] = list(value) if isinstance(value, tuple) else value
    return out


def mask(secret: str | None) -> str:
    if not secret:
        return "(none)"
    if len(secret) <= 8:
        return "****"
    return secret[:3] + "…" + secret[-4:]
