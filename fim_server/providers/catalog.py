"""What each provider uses when the user did not say (address, model), and the one
place that decides which API key a request carries.

The key rule: ``apiKey`` from the settings always wins. Without it, a provider's
own environment variable (``DEEPSEEK_API_KEY``, ...) is read only when ``baseUrl``
is that provider's own host, so a key made for one service never goes to another
(a self-hosted server, a folder's settings, a proxy): those get ``apiKey`` or no key.

This module imports nothing from the package, so settings, providers, the log
redactor and the command line can all use it.
"""

from __future__ import annotations

from dataclasses import dataclass
import os
from typing import Mapping
from urllib.parse import urlsplit

LOOPBACK = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class ProviderDefaults:
    """What a provider uses when the user did not say: address, model, key variable."""

    base_url: str
    model: str
    key_env: str | None  # the environment variable read when apiKey is not set
    key_required: bool  # hosted APIs need a key; local servers usually do not
    key_hosts: tuple[str, ...]  # the hosts the variable is sent to (https, or http for loopback)
    description: str  # one line for the settings UI

    def env_key_allowed(self, base_url: str) -> bool:
        """Whether the provider's variable may go to ``base_url``: its own host, over
        https (or plain http to this machine, where local servers listen)."""
        try:
            parts = urlsplit(base_url)
            host = (parts.hostname or "").lower()
        except ValueError:
            return False
        if host not in self.key_hosts:
            return False
        return parts.scheme == "https" or (parts.scheme == "http" and host in LOOPBACK)

    def hosts_text(self) -> str:
        return ", ".join(self.key_hosts)


PROVIDER_DEFAULTS: dict[str, ProviderDefaults] = {
    "deepseek": ProviderDefaults(
        "https://api.deepseek.com/beta", "deepseek-v4-flash", "DEEPSEEK_API_KEY", True, ("api.deepseek.com",),
        "DeepSeek's FIM API (POST /beta/completions); needs a key and an account with balance.",
    ),
    "openai": ProviderDefaults(
        "http://127.0.0.1:8000/v1", "Qwen/Qwen2.5-Coder-1.5B", "OPENAI_API_KEY", False, ("api.openai.com",),
        "An OpenAI-compatible /completions server (vLLM, SGLang, llama-cpp-python, LM Studio) "
        "serving a FIM-trained base model.",
    ),
    "ollama": ProviderDefaults(
        "http://127.0.0.1:11434", "qwen2.5-coder:1.5b-base", "OLLAMA_API_KEY", False, ("ollama.com", *LOOPBACK),
        "Ollama (POST /api/generate) with a model whose template supports insert.",
    ),
    "llamacpp": ProviderDefaults(
        "http://127.0.0.1:8080", "default", "LLAMA_API_KEY", False, LOOPBACK,
        "llama.cpp's llama-server (POST /infill) running a FIM model.",
    ),
    "codestral": ProviderDefaults(
        "https://api.mistral.ai/v1", "codestral-latest", "MISTRAL_API_KEY", True,
        ("api.mistral.ai", "codestral.mistral.ai"),
        "Mistral's Codestral FIM API (POST /fim/completions); needs a key.",
    ),
}

PROVIDERS = tuple(PROVIDER_DEFAULTS)

# every variable a key may come from: the log redactor masks all of their values
KEY_VARIABLES: tuple[str, ...] = tuple(d.key_env for d in PROVIDER_DEFAULTS.values() if d.key_env)


def defaults_for(provider: str) -> ProviderDefaults:
    return PROVIDER_DEFAULTS.get(provider, PROVIDER_DEFAULTS["deepseek"])


def resolve_api_key(
    provider: str, base_url: str, api_key: str | None, environ: Mapping[str, str] | None = None
) -> tuple[str | None, str]:
    """The key a request to ``base_url`` carries and where it came from, in words:
    ``fimServer.apiKey``, ``$VARIABLE``, or why there is none."""
    if api_key:
        return api_key, "fimServer.apiKey"
    defaults = defaults_for(provider)
    name = defaults.key_env
    if not name:
        return None, "no key setting"
    env = os.environ if environ is None else environ
    if not defaults.env_key_allowed(base_url):
        if env.get(name):
            return None, f"${name} is set but is sent only to {defaults.hosts_text()}, not to this baseUrl"
        return None, f"${name} is read only for {defaults.hosts_text()}"
    value = env.get(name) or None
    return value, (f"${name}" if value else f"${name} is not set")


def key_hint(provider: str, base_url: str) -> str:
    """How to give this provider a key at this address, in words (for messages)."""
    defaults = defaults_for(provider)
    name = defaults.key_env
    if not name:
        return "set fimServer.apiKey"
    if defaults.env_key_allowed(base_url):
        return f"set {name} or fimServer.apiKey"
    return f"set fimServer.apiKey ({name} is sent only to {defaults.hosts_text()})"


def environment_keys(environ: Mapping[str, str] | None = None) -> list[str]:
    """The values of every provider's key variable that is set (for the redactor)."""
    env = os.environ if environ is None else environ
    return [env[name] for name in KEY_VARIABLES if env.get(name)]
