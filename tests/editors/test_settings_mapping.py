"""The editor clients and the README list exactly the settings declared in
fim_server/settings.py (names, defaults, ranges, choices, descriptions, scopes),
as `python -m fim_server.tools.gen_settings` writes them. No editor is started."""

from __future__ import annotations

import json
import re

from fim_server.settings import CLIENT_SPECS, DISPLAY_ORDER, PROVIDERS, SPECS, Settings, describe
from fim_server.tools import gen_settings

from .tools import NEOVIM_DIR, ROOT, VSCODE_DIR


def test_every_generated_file_matches_the_declaration():
    assert gen_settings.stale(ROOT) == [], "run: python -m fim_server.tools.gen_settings"


def test_check_mode_finds_a_changed_default(tmp_path):
    for path in (gen_settings.PACKAGE_JSON, gen_settings.SETTINGS_TS, gen_settings.SETTINGS_LUA, gen_settings.README):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text((ROOT / path).read_text(encoding="utf-8"), encoding="utf-8")
    assert gen_settings.main(["--check", "--root", str(tmp_path)]) == 0
    lua = tmp_path / gen_settings.SETTINGS_LUA
    lua.write_text(lua.read_text().replace("default = 256", "default = 255"))
    package = tmp_path / gen_settings.PACKAGE_JSON
    data = json.loads(package.read_text())
    data["contributes"]["configuration"]["properties"]["fimServer.maxTokens"]["maximum"] = 9999
    data["contributes"]["commands"] = []  # other parts of package.json are not the generator's
    package.write_text(json.dumps(data))
    assert gen_settings.stale(tmp_path) == [gen_settings.PACKAGE_JSON, gen_settings.SETTINGS_LUA]
    assert gen_settings.main(["--root", str(tmp_path)]) == 0
    assert gen_settings.stale(tmp_path) == []
    assert json.loads(package.read_text())["contributes"]["commands"] == []  # kept as it was


def _vscode_properties() -> dict:
    package = json.loads((VSCODE_DIR / "package.json").read_text())
    return package["contributes"]["configuration"]["properties"]


def test_vscode_contributes_every_setting_as_declared():
    props = _vscode_properties()
    declared = [s for s in DISPLAY_ORDER if "vscode" in s.clients]
    assert list(props) == [f"fimServer.{s.name}" for s in declared]
    assert "fimServer.apiKey" not in props  # the key lives in secret storage
    defaults = describe(Settings())
    for spec in declared:
        prop = props[f"fimServer.{spec.name}"]
        assert prop["markdownDescription"] == spec.description and prop["scope"] == spec.scope
        default = defaults[spec.name] if spec.attr else list(spec.default) if isinstance(spec.default, tuple) else spec.default
        assert prop["default"] == default, spec.name
        assert (prop.get("minimum"), prop.get("maximum")) == (spec.minimum, spec.maximum), spec.name
        enum = prop.get("enum", prop.get("items", {}).get("enum"))
        assert tuple(enum or ()) == spec.options(), spec.name


def test_vscode_shows_the_main_settings_first_and_describes_each_provider():
    props = _vscode_properties()
    first = sorted(props, key=lambda name: props[name]["order"])[:4]
    assert first == ["fimServer.provider", "fimServer.model", "fimServer.baseUrl", "fimServer.enabled"]
    provider = props["fimServer.provider"]
    assert provider["enum"] == list(PROVIDERS)
    assert len(provider["enumDescriptions"]) == len(PROVIDERS) and all(provider["enumDescriptions"])


def test_vscode_programs_are_machine_scope():
    props = _vscode_properties()
    assert props["fimServer.serverPath"]["scope"] == "machine"
    assert props["fimServer.serverArgs"]["scope"] == "machine"
    assert {s.name for s in CLIENT_SPECS} == {"serverPath", "serverArgs"}


def test_vscode_sends_every_server_setting():
    source = (VSCODE_DIR / "src" / "settings.ts").read_text()
    listed = re.findall(r'^\s+"(\w+)",$', source.split("SERVER_SETTINGS = [")[1].split("]")[0], re.M)
    assert listed == [s.name for s in DISPLAY_ORDER if s.attr and "vscode" in s.clients]


def test_neovim_passes_every_server_setting():
    source = (NEOVIM_DIR / "lua" / "fim" / "settings.lua").read_text()
    names = re.findall(r'name = "(\w+)"', source)
    assert names == [s.name for s in DISPLAY_ORDER if s.attr]  # apiKey included: Neovim has no secret store
    assert 'require("fim.settings")' in (NEOVIM_DIR / "lua" / "fim" / "init.lua").read_text()


def test_readme_table_lists_every_server_setting_with_its_default():
    readme = (ROOT / "README.md").read_text()
    table = readme.split(gen_settings.README_BEGIN)[1].split(gen_settings.README_END)[0]
    rows = re.findall(r"^\| `(\w+)` \| (.*?) \| (.*) \|$", table, re.M)
    assert [name for name, _, _ in rows] == [s.name for s in DISPLAY_ORDER if s.attr]
    by_name = {s.name: s for s in SPECS}
    for name, default, meaning in rows:
        spec = by_name[name]
        if spec.shown_default is None:
            assert json.loads(default.strip("`")) == (list(spec.default) if isinstance(spec.default, tuple) else spec.default)
        if spec.minimum is not None:
            assert f"From {spec.minimum:g} to {spec.maximum:g}." in meaning
        for option in spec.options():
            assert f"`{option}`" in meaning
