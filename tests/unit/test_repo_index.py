"""core/repo: the walker (gitignore, exclusions, limits), definitions per language,
imports and their resolution, the index's updates and lexical search."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fim_server.core.repo import definitions, walker
from fim_server.core.repo.imports import MODULE, imports_of, resolve
from fim_server.core.repo.index import Indexer, RepoIndex, build_entry


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


# -- gitignore ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "rules, path, is_dir, ignored",
    [
        ("*.log", "a/b/x.log", False, True),
        ("*.log\n!keep.log", "keep.log", False, False),
        ("/top.py", "top.py", False, True),
        ("/top.py", "sub/top.py", False, False),
        ("gen/", "gen", True, True),
        ("gen/", "gen", False, False),
        ("docs/**/*.py", "docs/a/b/c.py", False, True),
        ("docs/**/*.py", "src/docs.py", False, False),
        ("a/*.py", "a/b/c.py", False, False),
        ("**/cache", "x/y/cache", True, True),
        ("# comment\n\n", "x.py", False, False),
        ("f[ab].py", "fb.py", False, True),
        ("f?.py", "fab.py", False, False),
    ],
)
def test_gitignore_rules(tmp_path, rules, path, is_dir, ignored):
    (tmp_path / ".gitignore").write_text(rules)
    assert walker.Ignores().ignored(str(tmp_path / path), is_dir, str(tmp_path)) is ignored


def test_nested_gitignore_and_ignored_folder_contents(tmp_path):
    write(tmp_path, {".gitignore": "build-out/\n", "pkg/.gitignore": "local_*.py\n", "pkg/local_x.py": "x = 1\n"})
    ignores = walker.Ignores()
    assert ignores.ignored(str(tmp_path / "pkg/local_x.py"), False, str(tmp_path))
    assert ignores.ignored(str(tmp_path / "build-out/deep/a.py"), False, str(tmp_path))
    assert not ignores.ignored(str(tmp_path / "pkg/other.py"), False, str(tmp_path))


# -- the editor's files.exclude -----------------------------------------------------------------
@pytest.mark.parametrize(
    "path, globs, hidden",
    [
        ("/ws/scratch/tmpbuild/gen.py", ("**/tmpbuild",), True),  # a folder above the file
        ("/ws/scratch/tmpbuild/gen.py", ("scratch",), True),
        ("/ws/scratch/gen.py", ("scratch/*.py",), True),  # a tail of the path below the root
        ("/ws/scratch/gen.py", ("**/*.PY",), True),  # matched as the privacy exclusions: any case
        ("/ws/scratch/gen.py", ("gen.js", "other/**"), False),
        ("/ws/src/gen.py", ("ws",), False),  # the root's own name is not below the root
        ("/elsewhere/tmpbuild/gen.py", ("**/tmpbuild",), False),  # not under a root
        ("/ws2/tmpbuild/gen.py", ("**/tmpbuild",), True),  # the second root
        ("/ws/gen.py", (), False),
    ],
)
def test_hidden_by_editor_globs(path, globs, hidden):
    assert walker.hidden_by_globs(path, ["/ws/", "/ws2"], globs) is hidden


def test_walk_skips_ignored_excluded_vendored_big_and_unknown_files(tmp_path):
    write(tmp_path, {
        ".gitignore": "ignored.py\n",
        "main.py": "def main():\n    pass\n",
        "ignored.py": "SECRET = 1\n",
        "secret.py": "SECRET = 2\n",
        "node_modules/lib/index.js": "x\n",
        "venvish/pyvenv.cfg": "home = /usr\n",
        "venvish/lib/site.py": "x = 1\n",
        "build/out.py": "x = 1\n",
        ".hidden/h.py": "x = 1\n",
        "notes.txt": "text\n",
        "big.py": "x = 1\n" * 200_000,
        "pkg/mod.py": "def f():\n    return 1\n",
    })
    asked = []

    def may_read(path, language):
        asked.append(path)
        return not path.endswith("secret.py")

    found = [Path(p).relative_to(tmp_path).as_posix() for p, *_ in walker.walk([str(tmp_path)], may_read, 100)]
    assert found == ["main.py", "pkg/mod.py"]
    # ignored files and vendored folders are not even asked about (never opened)
    assert not any(p.endswith(("ignored.py", "index.js", "site.py")) for p in asked)


def test_walk_stops_at_the_limit_top_folders_first(tmp_path):
    write(tmp_path, {f"deep/a{i}.py": "x = 1\n" for i in range(5)} | {f"top{i}.py": "x = 1\n" for i in range(3)})
    found = [Path(p).name for p, *_ in walker.walk([str(tmp_path)], lambda p, l: True, 4)]
    assert found == ["top0.py", "top1.py", "top2.py", "a0.py"]


def test_read_text_refuses_binary_files(tmp_path):
    write(tmp_path, {"bin.py": b"x = 1\x00\x01\x02", "ok.py": "y = 2\r\n"})
    assert walker.read_text(str(tmp_path / "bin.py")) is None
    assert walker.read_text(str(tmp_path / "ok.py")) == "y = 2\n"


# -- definitions ---------------------------------------------------------------------------------
PY = '''"""Module."""
LIMIT = 10


class Shape:
    """A shape."""

    def area(self) -> float:
        """The area."""
        raise NotImplementedError

    def name(self):
        return "shape"


def scale(shape: Shape, factor: float) -> Shape:
    # Scales it.
    result = shape
    return result
'''


class Shown:
    """A definition with the text a prompt shows of it."""

    def __init__(self, source: str, d) -> None:
        self.name, self.kind = d.name, d.kind
        self.text, self.head = definitions.render(source.split("\n"), d)


def shown(language: str, source: str) -> list[Shown]:
    return [Shown(source, d) for d in definitions.extract(language, source)]


def test_python_definitions_with_signature_doc_and_body():
    found = {d.name: d for d in shown("python", PY)}
    assert set(found) == {"LIMIT", "Shape", "area", "name", "scale"}
    assert found["LIMIT"].kind == "constant" and found["LIMIT"].text == "LIMIT = 10"
    assert found["Shape"].kind == "class"
    assert found["Shape"].text.split("\n") == [
        "class Shape:", '    """A shape."""', "    def area(self) -> float:", "    def name(self):"]
    assert found["area"].kind == "method"
    assert found["area"].text.startswith('def area(self) -> float:\n    """The area."""')
    assert found["scale"].text.split("\n")[0] == "def scale(shape: Shape, factor: float) -> Shape:"
    assert "result = shape" in found["scale"].text
    # the head: the signature and the comment that opens the body
    assert found["scale"].text[: found["scale"].head] == "def scale(shape: Shape, factor: float) -> Shape:\n    # Scales it."


@pytest.mark.parametrize(
    "language, source, expected",
    [
        ("typescript", "export interface Shape {\n  area(): number;\n}\nexport const LIMIT = 3;\n"
         "export function scale(s: Shape): Shape {\n  return s;\n}\ntype Id = string;\nclass C { m(): void {} }\n",
         {("Shape", "interface"), ("LIMIT", "constant"), ("scale", "function"), ("Id", "type"), ("C", "class"), ("m", "method")}),
        ("javascript", "const a = 1;\nfunction f(x) { return x; }\nclass K { g() {} }\n",
         {("a", "constant"), ("f", "function"), ("K", "class"), ("g", "method")}),
        ("go", "package p\nconst Max = 3\ntype Point struct {\n\tX int\n}\nfunc Area(w int) int {\n\treturn w\n}\n"
         "func (p Point) Add(q Point) Point {\n\treturn p\n}\n",
         {("Max", "constant"), ("Point", "type"), ("Area", "function"), ("Add", "method")}),
        ("rust", "pub fn add(a: i32) -> i32 {\n    a\n}\npub struct S { x: i32 }\ntrait T { fn f(&self); }\nconst K: i32 = 3;\n",
         {("add", "function"), ("S", "type"), ("T", "interface"), ("f", "function"), ("K", "constant")}),
        ("c", "#define N 3\nstruct s { int a; };\nstatic int *make(int n) {\n  return 0;\n}\nint proto(void);\n",
         {("N", "constant"), ("s", "type"), ("make", "function"), ("proto", "function")}),
        ("cpp", "class A {\n public:\n  int f(int x);\n};\nint A::f(int x) { return x; }\n",
         {("A", "class"), ("f", "method")}),
        ("java", "public class T {\n  static final int N = 3;\n  int m;\n  public int get(int a) {\n    return a;\n  }\n}\n",
         {("T", "class"), ("N", "constant"), ("get", "method")}),
    ],
)
def test_definitions_of_every_shipped_language(language, source, expected):
    assert {(d.name, d.kind) for d in definitions.extract(language, source)} == expected


def test_a_function_defined_in_a_function_is_nested_not_top_level():
    py = ("def gather(*aws):\n    def _done(fut):\n        pass\n    return _done\n\n\n"
          "class Loop:\n    def run(self):\n        def finish():\n            pass\n\n    def stop(self):\n        pass\n")
    assert [(d.name, d.kind) for d in definitions.extract("python", py)] == [
        ("gather", "function"), ("_done", "nested"), ("Loop", "class"), ("run", "method"), ("finish", "nested"),
        ("stop", "method")]
    js = "function outer() {\n  function inner() {}\n  return inner;\n}\n"
    assert {(d.name, d.kind) for d in definitions.extract("javascript", js)} == {("outer", "function"), ("inner", "nested")}


def test_comment_above_is_the_doc_line():
    found = shown("go", "package p\n\n// Area of a rectangle.\nfunc Area(w, h int) int {\n\treturn w * h\n}\n")
    assert found[0].text.split("\n")[:2] == ["// Area of a rectangle.", "func Area(w, h int) int {"]


# -- imports -------------------------------------------------------------------------------------
def test_python_imports_read():
    found = imports_of("python", "import os, a.b as c\nfrom .x import (A,\n    B as D)\nfrom .. import y\n")
    assert ("os", (), "os", False) in found and ("a.b", (), "c", False) in found
    assert any(i.spec == ".x" and i.names == (("A", "A"), ("B", "D")) for i in found)
    assert any(i.spec == ".." and i.names == (("y", "y"),) for i in found)


def test_javascript_imports_read():
    found = imports_of("typescript", "import D, { a, b as c } from './m';\nimport * as ns from \"../n\";\n"
                       "const { q } = require('./r');\nexport * from './s';\n")
    by_spec = {i.spec: i for i in found}
    assert by_spec["./m"].names == (("a", "a"), ("b", "c"), ("default", "D"))
    assert by_spec["../n"].alias == "ns"
    assert by_spec["./r"].names == (("q", "q"),)
    assert by_spec["./s"].reexport


def indexed(root: Path, files: dict[str, str]) -> RepoIndex:
    write(root, files)
    index = RepoIndex([str(root)])
    Indexer(index, lambda p, l: True).run_now()
    return index


def test_resolution_python_src_layout_relative_and_package_named_folder(tmp_path):
    index = indexed(tmp_path, {
        "src/pkg/__init__.py": "", "src/pkg/core.py": "def run():\n    pass\n",
        "src/pkg/sub/util.py": "X = 1\n", "app.py": "",
    })
    app = index.roots[0] + "/app.py"
    util = index.roots[0] + "/src/pkg/sub/util.py"
    [imp] = imports_of("python", "from pkg.core import run\n")
    assert resolve(imp, app, "python", index) == [(index.roots[0] + "/src/pkg/core.py", "run", "run")]
    [imp] = imports_of("python", "from .. import core\n")
    assert resolve(imp, util, "python", index) == [(index.roots[0] + "/src/pkg/core.py", MODULE, "core")]


def test_resolution_javascript_index_files_and_reexports(tmp_path):
    index = indexed(tmp_path, {
        "lib/index.ts": "export * from './shapes';\n", "lib/shapes.ts": "export function area() { return 1; }\n",
        "main.ts": "",
    })
    [imp] = imports_of("typescript", "import { area } from './lib';\n")
    links = resolve(imp, index.roots[0] + "/main.ts", "typescript", index)
    assert (index.roots[0] + "/lib/shapes.ts", "area", "area") in links


def test_resolution_go_package_folder(tmp_path):
    index = indexed(tmp_path, {
        "go.mod": "module example.com/app\n", "geo/area.go": "package geo\nfunc Area() int { return 1 }\n",
        "geo/area_test.go": "package geo\n", "main.go": "package main\n",
    })
    [imp] = imports_of("go", 'package main\nimport (\n\t"fmt"\n\t"example.com/app/geo"\n)\n')[1:]
    assert resolve(imp, index.roots[0] + "/main.go", "go", index) == [(index.roots[0] + "/geo/area.go", MODULE, "geo")]


# -- the index -----------------------------------------------------------------------------------
def test_index_put_replace_remove_and_lexical_search(tmp_path):
    index = RepoIndex([str(tmp_path)])
    a = build_entry(str(tmp_path / "a.py"), "python", "def frobnicate(widget):\n    return widget\n", {})
    index.put(a)
    assert [e.path for e, _ in index.named("frobnicate")] == [a.path]
    hits = index.lexical.search({"frobnicate", "widget"}, set())
    assert hits and index.by_id[hits[0][1]].path == a.path
    index.put(build_entry(a.path, "python", "def other():\n    pass\n", {}))  # the file changed
    assert "frobnicate" not in index.names and "other" in index.names
    assert index.lexical.search({"frobnicate"}, set()) == []
    assert index.remove(a.path) and "other" not in index.names and len(index) == 0


def test_indexer_updates_from_editor_disk_and_deletion(tmp_path):
    write(tmp_path, {"a.py": "def from_disk():\n    pass\n"})
    index = RepoIndex([str(tmp_path)])
    indexer = Indexer(index, lambda p, l: True)
    indexer.start()
    try:
        indexer.drain()
        indexer.walked.wait(10)
        assert "from_disk" in index.names
        path = str(tmp_path / "a.py")
        indexer.edited(path, "python", "def live_text():\n    pass\n")
        indexer.changed(path)  # a watched-file event for an open document: the live text wins
        indexer.drain()
        assert "live_text" in index.names and "from_disk" not in index.names
        indexer.closed(path)  # closed unsaved: the disk counts again
        indexer.drain()
        assert "from_disk" in index.names
        os.remove(path)
        indexer.deleted(path)
        indexer.drain()
        assert len(index) == 0
    finally:
        indexer.stop()
        indexer.join(5)


def test_indexer_follows_workspace_folders(tmp_path):
    write(tmp_path / "one", {"a.py": "def in_one():\n    pass\n"})
    write(tmp_path / "two", {"b.py": "def in_two():\n    pass\n"})
    index = RepoIndex([str(tmp_path / "one")])
    indexer = Indexer(index, lambda p, l: True)
    indexer.start()
    try:
        indexer.walked.wait(10)
        indexer.drain()
        assert "in_one" in index.names and "in_two" not in index.names
        indexer.folders([str(tmp_path / "two")], [str(tmp_path / "one")])
        indexer.drain()
        assert "in_two" in index.names and "in_one" not in index.names
        assert index.roots == [(tmp_path / "two").as_posix()]
    finally:
        indexer.stop()
        indexer.join(5)


def test_an_excluded_file_is_not_indexed_from_the_editor_either(tmp_path):
    write(tmp_path, {"ok.py": "x = 1\n"})
    index = RepoIndex([str(tmp_path)])
    indexer = Indexer(index, lambda path, language: not path.endswith("secret_stuff.py"))
    indexer.start()
    try:
        indexer.walked.wait(10)
        indexer.edited(str(tmp_path / "secret_stuff.py"), "python", "def leaked():\n    pass\n")
        indexer.drain()
        assert "leaked" not in index.names
    finally:
        indexer.stop()
        indexer.join(5)


def test_the_home_folder_and_the_root_are_not_projects(tmp_path, monkeypatch):
    from fim_server.core.repo.walker import not_a_project

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home" / "proj").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "home")
    assert not_a_project("/") and not_a_project(str(tmp_path / "home")) and not_a_project(str(tmp_path / "link"))
    assert not not_a_project(str(tmp_path / "home" / "proj"))
