"""Which client is talking to the server, so a message names the fix that exists in
it: VS Code's extension has the *Set API key* command, the Neovim plugin takes
``apiKey`` in ``setup()``, other editors have the environment variable or the
``fimServer.apiKey`` setting.

The client is known from ``initialize``: ``initializationOptions.client`` when
our own clients send it (``"vscode"``, ``"neovim-plugin"``), else
``clientInfo.name``.
"""

from __future__ import annotations

from typing import Any

from fim_server.settings import Settings

VSCODE = "vscode"
NEOVIM_PLUGIN = "neovim-plugin"
OTHER = "other"

# clientInfo names of VS Code and its builds; a VS Code client of fim-server is our extension
VSCODE_NAMES = {"visual studio code", "visual studio code - insiders", "code - oss", "code-server", "vscodium"}


def client_kind(client_info: Any, initialization_options: Any) -> str:
    said = initialization_options.get("client") if isinstance(initialization_options, dict) else None
    if said in (VSCODE, NEOVIM_PLUGIN):
        return said
    name = str(getattr(client_info, "name", "") or "").strip().lower()
    return VSCODE if name in VSCODE_NAMES else OTHER


def key_hint(settings: Settings, kind: str) -> str:
    """How to give the provider a key, in the words of the client in use. The
    provider's variable is named only where the server would send it (its own host)."""
    defaults = settings.defaults
    env = defaults.key_env
    env_ok = bool(env) and defaults.env_key_allowed(settings.resolved_base_url())
    note = "" if env_ok or not env else f" ({env} is sent only to {defaults.hosts_text()})"
    if kind == VSCODE:
        return 'run the command "fim-server: Set API key"' + (f" (or set {env} where VS Code starts)" if env_ok else note)
    if kind == NEOVIM_PLUGIN:
        return 'give apiKey in require("fim").setup()' + (f" or set {env} in Neovim's environment" if env_ok else note)
    return settings.key_hint()


def for_client(message: str, settings: Settings, kind: str) -> str:
    """``message`` with the generic key hint (``Settings.key_hint``) in the client's words."""
    generic = settings.key_hint()
    if kind == OTHER or generic not in message:
        return message
    return message.replace(generic, key_hint(settings, kind))
