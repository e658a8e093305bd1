"""core/repo/qualified: how often the files name a module's members through the
module (``tasks.all_tasks``), kept by the index file by file, and the order it
gives the names of a module imported whole in the chooser."""

from __future__ import annotations

from fim_server.core.repo.imports import imports_of
from fim_server.core.repo.index import Indexer, build_entry
from fim_server.core.repo.qualified import member_uses, module_key, qualified_uses
from fim_server.core.repo.kept import shown_path
from fim_server.core.repo.selection import HEADER_COST, Chooser, Cursor

from test_repo_index import indexed, write


def uses(language: str, text: str) -> dict:
    return dict(qualified_uses(text, imports_of(language, text)))


def test_counts_members_named_through_an_imported_module():
    text = ("from . import tasks\nimport asyncio.events\nimport os.path as osp\nfrom .handles import Handle, helper\n"
            "def f(x):\n    tasks.all_tasks(); tasks.all_tasks(); x.tasks.gather(); mytasks.sleep()\n"
            "    asyncio.events.get_running_loop(); osp.join(); Handle.cancel(); tasks.\n")
    assert uses("python", text) == {
        ("tasks", "all_tasks"): 2,  # not ``x.tasks.gather`` (another object's attribute), not ``mytasks.sleep``
        ("events", "get_running_loop"): 1,  # ``import a.b`` is used as ``a.b.name``
        ("path", "join"): 1,  # by the module's last part, whatever the alias
    }  # ``Handle.cancel``: a class imported by name is no module


def test_counts_in_typescript_and_go_by_the_last_part_of_the_path():
    ts = "import * as rx from './internal/rx.js';\nimport { map } from './operators/index';\nrx.pipe(map(f)); rx.pipe();\n"
    assert uses("typescript", ts) == {("rx", "pipe"): 2}
    go = 'package x\n\nimport (\n\t"github.com/acme/strutil"\n\tfm "fmt"\n)\n\nfunc f() { strutil.Join(); fm.Println() }\n'
    assert uses("go", go) == {("strutil", "Join"): 1, ("fmt", "Println"): 1}


def test_module_key_of_a_package_is_its_folder():
    assert module_key("/r/pkg/tasks.py") == "tasks"
    assert module_key("/r/pkg/__init__.py") == "pkg"
    assert module_key("/r/src/operators/index.ts") == "operators"


TASKS = "def all_tasks(loop=None):\n    pass\n\n\ndef gather(*aws):\n    pass\n\n\ndef sleep(delay):\n    pass\n"


def test_the_index_keeps_the_counts_file_by_file_and_leaves_out_the_file_asked_for(tmp_path):
    index = indexed(tmp_path, {
        "pkg/__init__.py": "", "pkg/tasks.py": TASKS,
        "pkg/runner.py": "from . import tasks\n\ndef run(loop):\n    return tasks.all_tasks(loop), tasks.sleep(1)\n",
        "pkg/other.py": "from pkg import tasks\n\ndef stop(loop):\n    tasks.all_tasks(loop)\n",
        "pkg/app.py": "from pkg import tasks\n\ndef main():\n    tasks.gather(); tasks.gather(); tasks.gather()\n",
    })
    root = index.roots[0]
    tasks_py = root + "/pkg/tasks.py"
    with index.lock:
        assert member_uses(index, tasks_py) == {"all_tasks": 2, "sleep": 1, "gather": 3}
        # what the file being typed in writes itself is no evidence from other files
        assert member_uses(index, tasks_py, root + "/pkg/app.py") == {"all_tasks": 2, "sleep": 1}
    # a file changed: its old counts go, its new ones come; a file removed: its counts go
    index.put(build_entry(root + "/pkg/runner.py", "python", "from . import tasks\n\ntasks.gather()\n", {}))
    with index.lock:
        assert member_uses(index, tasks_py) == {"all_tasks": 1, "gather": 4}
    index.remove(root + "/pkg/other.py")
    index.remove(root + "/pkg/app.py")
    with index.lock:
        assert member_uses(index, tasks_py) == {"gather": 1}
    index.remove(root + "/pkg/runner.py")
    assert index.qualified == {}


# ``gather`` and ``sleep`` are the most used words of the repository; other files
# reach for ``all_tasks`` through the module
FILES = {
    "pkg/__init__.py": "",
    "pkg/tasks.py": TASKS,
    **{f"pkg/words{i}.py": "def use(gather, sleep):\n    gather(sleep)\n" for i in range(4)},
    "pkg/runner.py": "from . import tasks\n\n\ndef stop(loop):\n    for t in tasks.all_tasks(loop):\n        t.cancel()\n",
    "pkg/server.py": "from pkg import tasks\n\n\ndef close(loop):\n    return len(tasks.all_tasks(loop))\n",
}
FILLER = "".join(f"X{i} = {i}\n" for i in range(16))  # the import's words are not near the cursor
APP = "from pkg import tasks\n" + FILLER + "\n\ndef shutdown(loop):\n    \n"


def room_for(index, lines: dict[str, list[str]]) -> int:
    """A budget with room for these one-line definitions of these files, and less
    than a line more."""
    return sum(len(shown_path(index.roots[0] + "/" + path, tuple(index.roots))) + HEADER_COST + sum(len(line) + 1 for line in found)
               for path, found in lines.items()) + 8


def picked(index, text: str, budget: int) -> str:
    cur = Cursor(index.roots[0] + "/app.py", "python", text, text.count("\n") - 1, text)
    return "\n".join(p.text for p in Chooser(index).choose(cur, budget, lambda uri, lang: True, ["imports"]))


def test_a_module_imported_whole_offers_first_the_names_other_files_reach_through_it(tmp_path):
    index = indexed(tmp_path, FILES)
    texts = picked(index, APP, room_for(index, {"pkg/tasks.py": ["def all_tasks(loop=None):"]}))
    assert "def all_tasks(loop=None):" in texts and "gather" not in texts and "sleep" not in texts


def test_without_such_uses_the_most_used_name_comes_first(tmp_path):
    index = indexed(tmp_path, {name: text for name, text in FILES.items() if name not in ("pkg/runner.py", "pkg/server.py")})
    texts = picked(index, APP, room_for(index, {"pkg/tasks.py": ["def gather(*aws):"]}))
    assert "def gather(*aws):" in texts and "all_tasks" not in texts


def test_the_modules_imported_whole_take_turns(tmp_path):
    files = dict(FILES)
    files["pkg/events.py"] = "def get_running_loop():\n    pass\n\n\ndef new_event_loop():\n    pass\n"
    files["pkg/runner.py"] = files["pkg/runner.py"].replace("from . import tasks", "from . import tasks, events") + (
        "    events.get_running_loop()\n")
    index = indexed(tmp_path, files)
    app = "from pkg import tasks\nfrom pkg import events\n" + FILLER + "\n\ndef shutdown(loop):\n    \n"
    texts = picked(index, app, room_for(index, {"pkg/tasks.py": ["def all_tasks(loop=None):"],
                                                "pkg/events.py": ["def get_running_loop():"]}))
    # each module's first name before either module's second
    assert "def all_tasks(loop=None):" in texts and "def get_running_loop():" in texts
    assert "gather" not in texts and "new_event_loop" not in texts


def test_indexer_counts_what_it_reads_from_disk(tmp_path):
    write(tmp_path, {"m.py": "def f():\n    pass\n", "a.py": "import m\nm.f()\nm.f()\n"})
    from fim_server.core.repo.index import RepoIndex

    index = RepoIndex([str(tmp_path)])
    Indexer(index, lambda p, l: True).run_now()
    with index.lock:
        assert member_uses(index, index.roots[0] + "/m.py") == {"f": 2}


def test_a_name_sharing_two_words_with_the_code_near_the_cursor_comes_before_the_reached_ones(tmp_path):
    files = dict(FILES)
    files["pkg/tasks.py"] = TASKS + "\n\ndef cancel_pending(loop):\n    pass\n"
    index = indexed(tmp_path, files)
    app = APP.replace("def shutdown(loop):\n", "def shutdown(loop):\n    # cancel whatever is pending\n")
    texts = picked(index, app, room_for(index, {"pkg/tasks.py": ["def cancel_pending(loop):"]}))
    assert "def cancel_pending(loop):" in texts and "all_tasks" not in texts
    # one shared word is not enough to come before what other files reach for
    texts = picked(index, app.replace("whatever is pending", "whatever"), room_for(index, {"pkg/tasks.py": ["def all_tasks(loop=None):"]}))
    assert "def all_tasks(loop=None):" in texts and "cancel_pending" not in texts
