"""lsp/client.py: the client in use decides which fix a key message names."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from fim_server.lsp.client import NEOVIM_PLUGIN, OTHER, VSCODE, client_kind, for_client, key_hint
from fim_server.settings import Settings


@pytest.mark.parametrize(
    "name, options, kind",
    [
        ("Visual Studio Code", None, VSCODE),
        ("code-server", {"model": "x"}, VSCODE),
        ("Neovim", {"fimServer": {}, "client": "neovim-plugin"}, NEOVIM_PLUGIN),
        ("Neovim", {"debounceMs": 100}, OTHER),  # vim.lsp.config by hand: no setup() to point at
        ("helix", None, OTHER),
        (None, {"client": "vscode"}, VSCODE),
        ("Neovim", {"client": "something else"}, OTHER),
    ],
)
def test_client_kind_from_initialization_options_then_client_info(name, options, kind):
    info = SimpleNamespace(name=name) if name else None
    assert client_kind(info, options) == kind


def test_each_client_gets_its_own_fix_in_the_key_message():
    settings = Settings()
    message = f"No DeepSeek API key: {settings.key_hint()}."
    vscode = for_client(message, settings, VSCODE)
    assert "Set API key" in vscode and "fimServer.apiKey" not in vscode
    neovim = for_client(message, settings, NEOVIM_PLUGIN)
    assert 'apiKey in require("fim").setup()' in neovim and "DEEPSEEK_API_KEY" in neovim and "fimServer.apiKey" not in neovim
    assert for_client(message, settings, OTHER) == message  # the variable or the setting
    assert for_client("rate limited", settings, VSCODE) == "rate limited"


def test_the_hint_follows_the_provider():
    settings = Settings(provider="codestral")
    assert "MISTRAL_API_KEY" in key_hint(settings, NEOVIM_PLUGIN)
