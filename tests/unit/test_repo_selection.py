"""core/repo/selection and the workspace: what of the index reaches a prompt, in
which order of evidence, within the budget, stable while typing in one place."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from fim_server.core.context import cursor_context
from fim_server.core.repo.selection import Chooser, Cursor
from fim_server.core.workspace import Workspace
from fim_server.core.privacy import uri_path
from fim_server.settings import Settings

from test_repo_index import indexed, write

FILES = {
    "pkg/__init__.py": "",
    "pkg/geometry.py": "def area(width: float, height: float) -> float:\n    \"\"\"Width times height.\"\"\"\n"
                       "    return width * height\n\n\ndef perimeter(width, height):\n    return 2 * (width + height)\n",
    "pkg/colors.py": "class Palette:\n    def brightest(self):\n        pass\n\n\nPRIMARY = ('red', 'green', 'blue')\n",
    "pkg/noise.py": "def unrelated_helper():\n    return 42\n",
}
APP = "from pkg.geometry import area\nfrom pkg import colors\n\n\ndef report(w, h):\n    p = colors.Palette()\n    a = area(w, h)\n    return \n"


def cursor(index, text=APP, line=7, around="") -> Cursor:
    return Cursor(index.roots[0] + "/app.py", "python", text, line, around or text)


def test_imports_then_near_identifiers_then_lexical(tmp_path):
    index = indexed(tmp_path, FILES)
    chooser = Chooser(index)
    picks = chooser.choose(cursor(index), 2000, lambda uri, lang: True, ["imports"])
    texts = "\n".join(p.text for p in picks)
    assert "def area(width: float, height: float) -> float:" in texts  # imported and used
    assert "class Palette:" in texts  # used as colors.Palette
    assert "perimeter" not in texts and "unrelated_helper" not in texts  # imported module, but not used
    # by path, not by rank; named by their path in the workspace folder (the shorter header leaves room)
    assert [p.path for p in picks] == ["pkg/colors.py", "pkg/geometry.py"]


def test_near_identifiers_found_without_an_import(tmp_path):
    index = indexed(tmp_path, FILES)
    text = "def f(w, h):\n    return perimeter(w, h) + unrelated_helper()\n"
    picks = Chooser(index).choose(cursor(index, text, 1), 2000, lambda uri, lang: True, ["imports", "near"])
    texts = "\n".join(p.text for p in picks)
    assert "def perimeter(width, height):" in texts and "def unrelated_helper():" in texts


def test_budget_and_exclusions_are_respected(tmp_path):
    index = indexed(tmp_path, FILES)
    refused = []

    def may_send(uri, language):
        if uri.endswith("geometry.py"):
            refused.append(uri)
            return False
        return True

    picks = Chooser(index).choose(cursor(index), 2000, may_send, ["imports", "near", "lexical"])
    assert refused and not any("geometry" in p.path or "def area" in p.text for p in picks)
    small = Chooser(index).choose(cursor(index), 60, lambda u, l: True, ["imports", "near", "lexical"])
    assert sum(len(p.text) + len(p.path) + 16 for p in small) <= 60


def test_choice_stays_while_typing_in_one_place(tmp_path):
    index = indexed(tmp_path, FILES)
    chooser = Chooser(index)
    first = chooser.choose(cursor(index, around=APP), 2000, lambda u, l: True)
    typed = APP.replace("return \n", "return a\n")
    again = chooser.choose(cursor(index, typed, around=typed), 2000, lambda u, l: True)
    assert again is first  # the same choice, not just an equal one


def test_workspace_puts_index_definitions_first_in_the_context(tmp_path):
    write(tmp_path, FILES)
    workspace = Workspace()
    workspace.start_index([str(tmp_path)], lambda p, l: True, 100, background=False)
    uri = (tmp_path / "app.py").as_uri()
    doc = workspace.open(uri, APP, 1, "python")
    settings = Settings()
    ctx = cursor_context(doc, 7, 11, settings)
    with_index = workspace.with_snippets(ctx, settings, lambda uri: True)
    assert with_index.snippets and with_index.snippets[0][0] == "pkg/colors.py"
    assert any("def area(" in text for _, text in with_index.snippets)
    without = workspace.with_snippets(ctx, replace(settings, repo_context=False), lambda uri: True)
    assert not any("def area(" in text for _, text in without.snippets)
    workspace.stop_index()
    assert workspace.repo is None


def test_members_of_the_owner_before_the_cursor(tmp_path):
    index = indexed(tmp_path, FILES | {"pkg/loops.py": "class EventLoop:\n    def call_soon(self, callback):\n        pass\n\n"
                                                        "    def run_forever(self):\n        pass\n"})
    chooser = Chooser(index)
    text = "from pkg import colors\n\n\ndef f():\n    return colors.\n"
    module = chooser.choose(Cursor(index.roots[0] + "/app.py", "python", text, 4, "return colors.", "    return colors."),
                            2000, lambda u, l: True, ["near"])
    assert "class Palette:" in "\n".join(p.text for p in module) and "PRIMARY = " in "\n".join(p.text for p in module)
    text = "def g(self):\n    self._loop.run\n"
    method = chooser.choose(Cursor(index.roots[0] + "/app.py", "python", text, 1, "self._loop.run", "    self._loop.run"),
                            2000, lambda u, l: True, ["near"])
    # the methods of ...Loop: the one starting with "run" (right after the dot), and the others ("_loop." is near)
    assert method[0].text.split("\n") == ["def call_soon(self, callback):", "def run_forever(self):"]
    text = "def g(self):\n    self._loop.run\n    return 1\n"
    only = Chooser(index)._receiver(Cursor(index.roots[0] + "/app.py", "python", text, 1, "", "    self._loop.run"), [])
    assert [entry.definitions[i].name for entry, i in only] == ["run_forever"]


def test_recall_mode_counts_cross_file_names_reaching_the_prompt(tmp_path):
    from fim_server.tools.eval import recall

    files = {"pkg/__init__.py": "", "pkg/geometry.py": FILES["pkg/geometry.py"]}
    for n in range(6):
        files[f"app{n}.py"] = ("from pkg.geometry import area, perimeter\n\n\n" + "".join(
            f"def report_{k}(w, h):\n    first = area(w, h)\n    second = perimeter(w, h)\n    return first + second\n\n\n"
            for k in range(6)))
    write(tmp_path, files)
    result = recall.measure(tmp_path, Settings(), samples=20, seed=0)
    rows = {row["config"]: row["all"] for row in result["rows"]}
    assert result["holes"] > 0
    assert rows["open documents only"] == 0.0  # only the hole's file is open
    assert rows["+ imports"] > 0.5 and rows["+ lexical similarity"] >= rows["+ imports"]
    # each hole missed with every stage on is listed once, with the names that missed
    assert len(result["misses"]) == round((1 - rows["+ lexical similarity"]) * result["holes"])
    assert all(set(m["missed"]) <= set(m["names"]) and m["missed"] for m in result["misses"])


def test_recall_lists_the_names_that_missed(tmp_path):
    from fim_server.tools.eval import recall

    files = {"pkg/__init__.py": "", "pkg/geometry.py": FILES["pkg/geometry.py"]}
    for n in range(4):  # nothing in these files points at ``perimeter``'s file: no import, no use near
        files[f"app{n}.py"] = "".join(f"def report_{k}(w, h):\n    return perimeter(w, h)\n\n\n" for k in range(6))
    write(tmp_path, files)
    settings = replace(Settings(), context_budget_chars=40)  # too little room for any definition
    result = recall.measure(tmp_path, settings, samples=10, seed=0)
    assert result["holes"] > 0 and len(result["misses"]) == result["holes"]
    miss = result["misses"][0]
    assert miss["missed"] == ["perimeter"] and miss["path"].startswith("app") and "perimeter" in miss["truth"]
    assert "area" in recall.code_names("x = area(1, 2)  # perimeter\n", 0, 30, "python")
    assert "perimeter" not in recall.code_names("x = area(1, 2)  # perimeter\n", 0, 30, "python")


def test_methods_of_base_classes_in_other_files_near_self(tmp_path):
    index = indexed(tmp_path, FILES | {
        "pkg/base.py": "class Message:\n    def add_header(self, name, value):\n        pass\n\n"
                       "    def get_payload(self, decode=False):\n        pass\n",
        "mime.py": "from pkg import base\n\n\nclass MIMEText(base.Message):\n    def __init__(self, text):\n"
                   "        self.text = text\n        \n",
    })
    path = index.roots[0] + "/mime.py"
    text = index.files[path].text
    picks = Chooser(index).choose(Cursor(path, "python", text, 6, text), 2000, lambda u, l: True, ["near"])
    shown = "\n".join(p.text for p in picks)
    assert "def add_header(self, name, value):" in shown and "def get_payload(self, decode=False):" in shown


def test_uses_nearest_whole_names_above_counting_more_than_below(tmp_path):
    from fim_server.core.repo.index import RepoIndex
    from fim_server.core.repo.uses import Uses

    text = "alpha = 1\nalphabet = 2\nobj.alpha\n\n# cursor\n\nalpha\n"
    uses = Uses(Cursor("", "python", text, 4, ""), RepoIndex())
    assert uses.nearest("alpha") == 4  # line 0 (obj.alpha is an attribute, alphabet another name); below: 2 * 3
    assert uses.nearest("alphabet") == 3
    assert uses.nearest("") is None and uses.nearest("missing") is None
    assert uses.attributes("obj") == [(2, "alpha")]


def test_only_definitions_of_the_cursors_language_family(tmp_path):
    """A Go file naming ``utf8`` gets no Python ``def utf8``; TypeScript gets a
    JavaScript module's function (one family), C++ a C header's."""
    index = indexed(tmp_path, {
        "py/codec.py": "def utf8(data):\n    return data.decode('utf-8')\n\n\ndef render_widget(w):\n    return w\n",
        "js/widgets.js": "export function render_widget(w) {\n  return w;\n}\n",
        "c/widget.h": "int render_widget(int w);\n",
    })
    def names(language, path, text):
        cur = Cursor(index.roots[0] + path, language, text, 1, text)
        picks = Chooser(index).choose(cur, 2000, lambda uri, lang: True, ["imports", "near", "lexical"])
        return {p.file.rsplit("/", 2)[-2] for p in picks}

    assert names("go", "/main.go", "func f(b []byte) string {\n\treturn utf8(b) + render_widget(1)\n}\n") == set()
    assert names("typescript", "/app.ts", "function f() {\n  return render_widget(1);\n}\n") == {"js"}
    assert names("cpp", "/app.cpp", "int f() {\n  return render_widget(1);\n}\n") == {"c"}
    assert names("python", "/app.py", "def f(b):\n    return utf8(b) + render_widget(1)\n") == {"py"}


def test_a_nested_function_is_neither_a_modules_name_nor_the_definition_of_a_name_near_the_cursor(tmp_path):
    index = indexed(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/tasks.py": "def gather(*aws):\n    def _on_done(fut):\n        pass\n    return _on_done\n",
        "pkg/helpers.py": "def _on_done(fut):\n    return fut\n",
    })
    text = "from pkg import tasks\n\n\ndef main(fut):\n    _on_done(fut)\n    \n"
    picks = Chooser(index).choose(cursor(index, text, 5), 2000, lambda uri, lang: True, ["imports", "near"])
    texts = "\n".join(f"{p.path}: {p.text}" for p in picks)
    assert "def gather(*aws):" in texts  # the module's own name
    assert "tasks.py: def _on_done" not in texts and "\n    def _on_done" not in texts
    assert "helpers.py: def _on_done(fut):" in texts  # the one another file can call


def test_recall_chooses_with_the_hole_out_of_the_index_as_an_editor_would(tmp_path, monkeypatch):
    """The index holds the open document's text (without the answer) while the
    context is chosen, and the disk text again after: the answer's own uses of a
    name never rank it."""
    from fim_server.core.workspace import Workspace
    from fim_server.tools.eval import recall

    files = {"pkg/__init__.py": "", "pkg/geometry.py": FILES["pkg/geometry.py"]}
    for n in range(3):
        files[f"app{n}.py"] = "from pkg.geometry import area\n\n\n" + "".join(
            f"def report_{k}(w, h):\n    return area(w, h) + {k}\n\n\n" for k in range(4))
    write(tmp_path, files)
    seen = []
    snippets = Workspace.snippets

    def spy(self, ctx, settings, *args):
        entry = self.repo.files[uri_path(ctx.uri)]
        seen.append((entry.from_editor, entry.text == self.documents.get(ctx.uri).source))
        return snippets(self, ctx, settings, *args)

    monkeypatch.setattr(Workspace, "snippets", spy)
    closed = []
    stop = Workspace.stop_index

    def check_then_stop(self):
        closed.extend(not e.from_editor and e.text == Path(p).read_text()
                      for p, e in (self.repo.files.items() if self.repo is not None else ()))
        return stop(self)

    monkeypatch.setattr(Workspace, "stop_index", check_then_stop)
    result = recall.measure(tmp_path, Settings(), samples=6, seed=0)
    assert result["holes"] > 0 and seen
    assert all(from_editor and same for from_editor, same in seen)  # the document as typed, answer out
    assert closed and all(closed)  # every file back to its disk text


def test_recall_never_lists_a_folder_the_exclusions_hide(tmp_path, monkeypatch):
    """``eval --recall`` indexes as the server does: a folder an exclusion glob hides
    whole (``private/**``) is never listed, let alone read."""
    import os

    from fim_server.tools.eval import recall

    files = {"pkg/__init__.py": "", "pkg/geometry.py": FILES["pkg/geometry.py"],
             "private/keys.py": "def leak():\n    return 'c4n4ry'\n", "private/deeper/more.py": "X = 1\n"}
    for n in range(3):
        files[f"app{n}.py"] = "from pkg.geometry import area\n\n\n" + "".join(
            f"def report_{k}(w, h):\n    return area(w, h) + {k}\n\n\n" for k in range(4))
    write(tmp_path, files)
    listed, scandir = [], os.scandir

    def spy(path="."):
        listed.append(os.path.abspath(os.fsdecode(path)))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", spy)
    result = recall.measure(tmp_path, replace(Settings(), exclude_globs=["private/**"]), samples=4, seed=0)
    assert result["holes"] > 0 and str(tmp_path) in listed
    assert not [p for p in listed if "private" in p]
