"""The VS Code extension's files agree with the server's: one version, the same
provider table. The extension in code-server is tested end to end in
test_vscode_install.py (the .vsix alone: first run, key, ghost text, Tab, menu,
stats) and test_vscode_folder.py (a folder's settings cannot redirect the key or
start a program)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import fim_server
from fim_server.providers.catalog import LOOPBACK
from fim_server.settings import PROVIDER_DEFAULTS

from .tools import ROOT, VSCODE_DIR


def test_the_extension_has_the_servers_version():
    """One version: fim_server.__version__ (pyproject reads it); the release command
    copies it into package.json and its lock file and checks that they agree."""
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "release.py"), "--check"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    package = json.loads((VSCODE_DIR / "package.json").read_text())
    assert package["version"] == fim_server.__version__
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject and 'attr = "fim_server.__version__"' in pyproject
    cli = subprocess.run([sys.executable, "-m", "fim_server", "--version"], capture_output=True, text=True, cwd=ROOT)
    assert cli.stdout.strip() == f"fim-server {fim_server.__version__}"


def test_the_extension_knows_each_providers_address_and_key_variable():
    """providers.ts repeats PROVIDER_DEFAULTS (the extension decides where a key may
    go before the server runs): the two tables agree."""
    source = (VSCODE_DIR / "src" / "providers.ts").read_text()
    for name, defaults in PROVIDER_DEFAULTS.items():
        line = re.search(rf"^\s+{name}: \{{(.*)\}},$", source, re.M)
        assert line, name
        assert f'baseUrl: "{defaults.base_url}"' in line.group(1), name
        assert f'keyEnv: "{defaults.key_env}"' in line.group(1), name
        assert f"keyRequired: {str(defaults.key_required).lower()}" in line.group(1), name
        hosts = re.search(r"keyHosts: (\[[^\]]*\]|LOOPBACK)", line.group(1)).group(1)
        loopback = json.dumps(list(LOOPBACK))[1:-1]
        hosts = f"[{loopback}]" if hosts == "LOOPBACK" else hosts.replace("...LOOPBACK", loopback)
        assert tuple(json.loads(hosts)) == defaults.key_hosts, name  # the environment's key goes where the server sends it


def test_untrusted_folders_get_limited_support_and_cannot_set_programs_hosts_or_certificates():
    """Issue 18: Restricted Mode keeps the extension on, with the settings that pick
    a program, a host or a certificate taken from the user only; the same three that
    guard.ts asks about in a trusted folder."""
    package = json.loads((VSCODE_DIR / "package.json").read_text())
    trust = package["capabilities"]["untrustedWorkspaces"]
    assert trust["supported"] == "limited"
    guarded = re.search(r"export const GUARDED = \[(.*?)\];", (VSCODE_DIR / "src" / "guard.ts").read_text()).group(1)
    asked = {f"fimServer.{name}" for name in re.findall(r'"(\w+)"', guarded)}
    assert asked == {"fimServer.provider", "fimServer.baseUrl", "fimServer.caBundle"}
    assert set(trust["restrictedConfigurations"]) == asked | {"fimServer.serverPath", "fimServer.serverArgs"}
    props = package["contributes"]["configuration"]["properties"]
    assert props["fimServer.serverPath"]["scope"] == props["fimServer.serverArgs"]["scope"] == "machine"
    assert props["fimServer.serverPath"]["default"] == ""  # unset: look for one, else install the carried wheel
