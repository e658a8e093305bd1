"""The house rules of issue 11, checked on the package's own source: no module over
450 lines, no import cycle between modules, only ``lsp/`` imports pygls and
lsprotocol, and data flows down the floors (lsp -> core -> providers)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "fim_server"
FLOORS = {"lsp": 0, "core": 1, "providers": 2}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(("fim_server", *path.relative_to(PACKAGE).with_suffix("").parts))
        found[name.removesuffix(".__init__")] = path
    return found


def _imports(path: Path, modules: dict[str, Path], top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                names.add(full if full in modules else node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def _graph(top_level_only: bool) -> dict[str, set[str]]:
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        graph[name] = {
            target for target in _imports(path, modules, top_level_only)
            if target in modules and target != name and not name.startswith(target + ".")
        }
    return graph


def test_no_module_over_450_lines():
    long = {name: n for name, path in _modules().items() if (n := len(path.read_text(encoding="utf-8").splitlines())) > 450}
    assert long == {}


def test_no_import_cycle_at_module_level():
    graph = _graph(top_level_only=True)
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycles.append(trail[trail.index(target):] + [target])
            elif target not in state:
                visit(target, trail + [target])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_only_lsp_imports_pygls_and_lsprotocol():
    outside = []
    for name, path in _modules().items():
        roots = {imported.split(".")[0] for imported in _imports(path, {}, top_level_only=False)}
        if roots & {"pygls", "lsprotocol"} and not name.startswith("fim_server.lsp"):
            outside.append(name)
    assert outside == []


def _floor(module: str) -> int | None:
    parts = module.split(".")
    return FLOORS.get(parts[1]) if len(parts) > 1 else None


def test_data_flows_down_the_floors():
    upward = []
    for name, targets in _graph(top_level_only=False).items():
        floor = _floor(name)
        for target in targets:
            below = _floor(target)
            if floor is not None and below is not None and below < floor:
                upward.append((name, target))
    assert upward == []
