"""The editor clients expose exactly the server's settings (config.py), by the
same wire names, so the mapping stays 1:1 when settings are added."""

from __future__ import annotations

import json
import re

from fim_server.settings import WIRE_NAMES, Settings, describe

from .tools import NEOVIM_DIR, VSCODE_DIR

EXTENSION_ONLY = {"serverPath", "serverArgs"}


def test_vscode_contributes_every_server_setting_except_the_key():
    package = json.loads((VSCODE_DIR / "package.json").read_text())
    props = package["contributes"]["configuration"]["properties"]
    names = {name.removeprefix("fimServer.") for name in props}
    assert names - EXTENSION_ONLY == set(WIRE_NAMES) - {"apiKey"}
    assert "fimServer.apiKey" not in props  # the key lives in secret storage
    defaults = describe(Settings())
    for wire in set(WIRE_NAMES) - {"apiKey"}:
        assert props[f"fimServer.{wire}"]["default"] == defaults[wire], wire


def test_vscode_sends_every_server_setting():
    source = (VSCODE_DIR / "src" / "settings.ts").read_text()
    listed = set(re.findall(r'^\s+"(\w+)",$', source.split("SERVER_SETTINGS")[1].split("]")[0], re.M))
    assert listed == set(WIRE_NAMES) - {"apiKey"}


def test_neovim_passes_every_server_setting():
    source = (NEOVIM_DIR / "lua" / "fim" / "init.lua").read_text()
    block = source.split("M.server_settings = {")[1].split("}")[0]
    assert set(re.findall(r'"(\w+)"', block)) == set(WIRE_NAMES)
