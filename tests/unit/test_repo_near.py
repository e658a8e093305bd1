"""core/repo: the near stage's evidence beyond the names written near the cursor:
members ranked by the words near the cursor and the file's own calls, methods
inherited through several bases, exception classes after ``raise``/``except``,
the members the file calls, and which receivers vote for a class."""

from __future__ import annotations

from fim_server.core.repo.called import called_members
from fim_server.core.repo.inherited import inherited_members
from fim_server.core.repo.raising import exception_classes, expects_exception
from fim_server.core.repo.relevance import Words, parts
from fim_server.core.repo.selection import Chooser, Cursor
from fim_server.core.repo.uses import Uses

from test_repo_index import indexed

ALL = lambda uri, language: True  # noqa: E731


def names(found) -> list[str]:
    return [entry.definitions[i].name for entry, i in found]


def cursor_at(index, name: str, text: str, marker: str = "@") -> Cursor:
    """A cursor where ``marker`` is in ``text`` (the marker removed)."""
    at = text.index(marker)
    text = text[:at] + text[at + 1 :]
    line = text.count("\n", 0, at)
    prefix = text[text.rfind("\n", 0, at) + 1 : at]
    return Cursor(index.roots[0] + "/" + name, "python", text, line, text, prefix)


def shown(picks) -> str:
    return "\n".join(p.text for p in picks)


def test_words_near_the_cursor_rank_names_sharing_them():
    assert parts("get_default_type") == {"default", "type"}  # "get" tells members apart too little
    assert parts("MissingHeaderBodySeparatorDefect") == {"missing", "header", "body", "separator", "defect"}
    text = "x = msg.get_payload()\n" + "\n" * 40 + "def dump(msg, include_default=False):\n    print(msg)\n    \n"
    text += "x = 1\n" * 40 + "far_away_word = 2\n"
    words = Words(text, text.index("    \n"))
    assert words.shared("get_default_type") == 1 and words.shared("get_content_type") == 0
    assert words.shared("far_away_word") == 0  # 40 lines below: not near
    assert words.score("get_payload") == 1  # the code calls ``.get_payload`` (40 lines up; shares no word)
    assert words.calls["get_payload"] == 1



def test_a_near_word_most_candidates_share_tells_none_apart():
    text = "def bind(self):\n    running = None\n    # the event loop\n    \n"
    words = Words(text, text.index("    \n"))
    names = ["get_event_loop", "new_event_loop", "set_event_loop", "get_event_loop_policy", "_get_running_loop"]
    fit = words.among(names)
    # "event" and "loop" are in four or five of the names: only "running" counts
    assert fit == {"get_event_loop": 0, "new_event_loop": 0, "set_event_loop": 0, "get_event_loop_policy": 0,
                   "_get_running_loop": 1}
    assert words.among(["get_event_loop", "Other"]) == {"get_event_loop": 2, "Other": 0}


def test_inherited_methods_through_bases_of_the_same_file_private_ones_and_called_first(tmp_path):
    index = indexed(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/mixins.py": "class LoopBound:\n    def _get_loop(self):\n        pass\n\n    def _other(self):\n        pass\n",
        "pkg/base.py": "from pkg import mixins\n\n\nclass Base(mixins.LoopBound):\n    def close(self):\n        pass\n\n"
                       "    def set_boundary(self, boundary):\n        pass\n\n    def popular(self):\n        pass\n",
        "app.py": "from pkg import base\n\n\nclass Middle(base.Base):\n    def own(self):\n        pass\n\n\n"
                  "class Queue(Middle):\n    def get(self):\n        return self._get_loop()\n\n"
                  "    def put(self, boundary):\n        self.x = 1\n        \n",
    })
    text = index.files[index.roots[0] + "/app.py"].text
    line = text.split("\n").index("        self.x = 1") + 1
    cur = Cursor(index.roots[0] + "/app.py", "python", text, line, text, "        ")
    uses = Uses(cur, index)
    found = names(inherited_members(index, cur, uses, Words(uses.block, uses.cursor_offset)))
    # Queue -> Middle (this file: followed, not shown) -> Base -> LoopBound, three levels up
    assert set(found) == {"_get_loop", "_other", "close", "set_boundary", "popular"} and "own" not in found
    assert found[0] == "_get_loop"  # the file calls it on self
    assert found[1] == "set_boundary"  # shares "boundary" with the code near the cursor


ERRORS = {
    "pkg/__init__.py": "",
    "pkg/errors.py": "class MessageError(Exception):\n    pass\n\n\nclass CharsetError(MessageError):\n    pass\n\n\n"
                     "class BoundaryDefect(ValueError):\n    pass\n\n\nclass Helper:\n    pass\n",
}


def test_exception_classes_after_raise_or_except_or_a_try_block(tmp_path):
    index = indexed(tmp_path, ERRORS)
    text = "from pkg import errors\n\n\ndef f(input_charset):\n    try:\n        input_charset.encode()\n    " \
           "except UnicodeError:\n        raise @\n"
    cur = cursor_at(index, "app.py", text)
    links = Chooser(index)._links(cur)
    uses = Uses(cur, index)
    found = names(exception_classes(index, cur, uses, links, Words(uses.block, uses.cursor_offset)))
    assert found[0] == "CharsetError" and set(found) == {"CharsetError", "MessageError", "BoundaryDefect"}
    def expects(text: str) -> bool:
        cur = cursor_at(index, "app.py", text)
        return expects_exception(cur, Uses(cur, index))

    assert expects("try:\n    f()\n@\n")  # the line after a try block
    assert expects("    except (errors.@")
    assert not expects("def f():\n    x = 1\n    @\n")
    assert not expects("try:\n" + "    f()\n" * 9 + "@\n")  # too far below the try
    # and they reach the prompt, one line each
    picks = Chooser(index).choose(cur, 1500, ALL, ["near"])
    assert "class CharsetError(MessageError):" in shown(picks) and "class Helper:" not in shown(picks)


def test_members_the_file_calls_elsewhere_are_shown(tmp_path):
    index = indexed(tmp_path, {
        "proactor.py": "class Proactor:\n    def recv(self, sock, n):\n        pass\n\n"
                       "    def recv_into(self, sock, buf):\n        pass\n\n    def append(self, item):\n        pass\n",
    } | {f"closing{k}.py": f"class C{k}:\n    def close(self):\n        pass\n" for k in range(5)})
    text = ("class Loop:\n    def a(self, sock, n):\n        return self._proactor.recv_into(sock, n)\n\n"
            "    def b(self, items):\n        items.append(1)\n        self._sock.close()\n" + "\n" * 60 +
            "    def c(self, sock, n):\n        return @\n")
    cur = cursor_at(index, "loop.py", text)
    uses = Uses(cur, index)
    found = names(called_members(index, uses, Words(uses.block, uses.cursor_offset), lambda found: found[0]))
    # recv_into: called 60 lines up; append: the list's method; close: defined in five files (too common to tell)
    assert found == ["recv_into"]
    assert "def recv_into(self, sock, buf):" in shown(Chooser(index).choose(cur, 1500, ALL, ["near"]))


def test_modules_and_prose_are_not_receivers_of_a_class(tmp_path):
    index = indexed(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/strings.py": "class FancyString:\n    def By(self):\n        pass\n\n    def shout(self):\n        pass\n",
        "pkg/signals.py": "class Signal:\n    def getsignal(self):\n        pass\n\n    def wave(self):\n        pass\n",
    })
    text = ("import signal\n\n\ndef f(boundary):\n    \"\"\"The boundary string.  By default none.\"\"\"\n"
            "    signal.getsignal(2)\n    @\n")
    cur = cursor_at(index, "app.py", text)
    chooser = Chooser(index)
    picks = chooser.choose(cur, 1500, ALL, ["near"])
    # ``string.  By`` is prose; ``signal`` is the module imported, not a Signal
    assert "def By(self):" not in shown(picks) and "def wave(self):" not in shown(picks)
    assert "signal" in chooser.modules


def test_a_method_name_is_shown_once_by_its_signature(tmp_path):
    index = indexed(tmp_path, {
        "loops.py": "class AbstractLoop:\n    def call_soon(self, callback):\n        pass\n",
        "sched.py": "class Scheduler:\n    def call_soon(self, callback):\n        pass\n\n    def later(self):\n        pass\n",
    })
    # ``loop`` votes for Scheduler (``later``), and its name suggests AbstractLoop: both define call_soon
    text = "def f(loop):\n    loop.call_soon(g)\n    loop.later()\n    @\n"
    picks = Chooser(index).choose(cursor_at(index, "app.py", text), 1500, ALL, ["near"])
    assert "def later(self):" in shown(picks)
    assert shown(picks).count("def call_soon(self, callback):") == 1


def test_a_function_nested_in_a_method_does_not_end_the_class(tmp_path):
    from fim_server.core.repo.members import class_methods

    index = indexed(tmp_path, {"proactor.py": (
        "class Proactor:\n    def recv(self, sock):\n        def finish_recv(key):\n            pass\n        return 1\n\n"
        "    def recv_into(self, sock, buf):\n        pass\n\n\ndef after():\n    pass\n")})
    entry = index.files[index.roots[0] + "/proactor.py"]
    assert [entry.definitions[j].name for j in class_methods(entry, 0)] == ["recv", "recv_into"]


def test_an_attribute_used_anywhere_in_the_block_votes_for_its_class(tmp_path):
    index = indexed(tmp_path, {"loops.py": "class EventLoop:\n    def create_task(self, coro):\n        pass\n\n"
                                            "    def create_future(self):\n        pass\n"})
    text = ("class Group:\n    def spawn(self, coro):\n        return self._engine.create_task(coro)\n"
            + "\n" * 60 + "    def wait(self):\n        @\n")
    cur = cursor_at(index, "group.py", text)
    picks = Chooser(index).choose(cur, 1500, ALL, ["near"])
    # ``_engine`` is named nowhere near the cursor, nor like a class: its use 60 lines up votes
    assert "def create_future(self):" in shown(picks)


def test_after_owner_dot_a_method_whose_parameters_the_code_near_holds_comes_first(tmp_path):
    methods = "".join(f"    def m{k:02d}(self, item):\n        pass\n\n" for k in range(14))
    index = indexed(tmp_path, {"loops.py": "class EventLoop:\n" + methods +
                               "    def run_in_executor(self, executor, func, *args):\n        pass\n"})
    chooser = Chooser(index)

    def members(text: str) -> list[str]:  # what ``loop.`` before the cursor lists (the words near it as chosen)
        cur = cursor_at(index, "threads.py", text)
        chooser.choose(cur, 1500, ALL, ["near"])
        return names(chooser._receiver(cur, []))

    # the loop's fifteenth method by name: past the twelve shown for ``loop.``
    assert "run_in_executor" not in members("def to_thread(job):\n    return loop.@\n")
    # ``func`` near the cursor is what ``run_in_executor`` takes
    text = "def to_thread(func):\n    func_call = partial(func)\n    return loop.@\n"
    assert members(text)[0] == "run_in_executor"
    assert "def run_in_executor(self, executor, func, *args):" in shown(chooser.choose(
        cursor_at(index, "threads.py", text), 1500, ALL, ["near"]))
    # a word most of the methods' parameters share (``item``) tells none apart
    assert members("def to_thread(item):\n    return loop.@\n")[0] == "m00"


def test_parameter_words_are_the_names_after_the_first_bracket():
    from fim_server.core.repo.suggested import parameter_words

    class Entry:
        def rendered(self, j):
            return ["def run_in_executor(self, executor, func, *args, **call_kwargs):\n    pass", "async def get(cls):",
                    "class Loop:"][j], 0

    assert parameter_words(Entry(), 0) == {"executor", "func", "call"}
    assert parameter_words(Entry(), 1) == frozenset() and parameter_words(Entry(), 2) == frozenset()


def test_a_receiver_named_by_the_start_of_a_class_word_suggests_that_class(tmp_path):
    index = indexed(tmp_path, {"futures.py": "class Future:\n    def set_result(self, result):\n        pass\n",
                               "tasks.py": "class Task:\n    def get_coro(self):\n        pass\n"})
    chooser = Chooser(index)
    assert names(chooser._classes_named("fut")) == ["Future"] and names(chooser._classes_named("_fut")) == ["Future"]
    assert names(chooser._classes_named("task")) == ["Task"]  # a whole word first: ``task`` is no start of another
    assert chooser._classes_named("fu") == []  # two letters say too little
    text = "def finish(value):\n    fut = make()\n    fut.@\n"
    assert "def set_result(self, result):" in shown(chooser.choose(cursor_at(index, "app.py", text), 1500, ALL, ["near"]))


def test_in_turns_takes_a_few_of_each_kind_at_a_time_and_makes_each_when_first_asked():
    from fim_server.core.repo.near import TURN, in_turns

    taken, made = [], []

    def tier(name, n):
        def make():
            made.append(name)
            return [(name, k) for k in range(n)]
        return make

    in_turns([tier("a", 10), tier("b", 1), tier("c", 6)], lambda *item: taken.append(item) or True, lambda: len(taken) < 50)
    assert taken[:TURN] == [("a", k) for k in range(TURN)] and taken[TURN] == ("b", 0)
    assert taken[TURN + 1 : 2 * TURN + 1] == [("c", k) for k in range(TURN)]
    assert sorted(taken) == sorted([("a", k) for k in range(10)] + [("b", 0)] + [("c", k) for k in range(6)])
    taken.clear(), made.clear()
    in_turns([tier("a", 10), tier("b", 10)], lambda *item: taken.append(item) or True, lambda: len(taken) < TURN)
    assert made == ["a"] and len(taken) == TURN  # no room left: the second kind is never made


def test_the_kinds_of_near_evidence_take_turns_within_the_budget(tmp_path):
    methods = "".join(f"    def method_number_{k:02d}(self, first_argument, second_argument):\n        pass\n\n" for k in range(16))
    index = indexed(tmp_path, {"pkg/__init__.py": "", "pkg/loops.py": "class EventLoop:\n" + methods,
                               "pkg/tasks.py": "def all_tasks(loop=None):\n    pass\n"})
    text = ("from pkg import tasks\n\n\ndef shutdown(loop):\n    loop.method_number_00(1, 2)\n"
            "    loop.method_number_01(1, 2)\n    @\n")
    picks = shown(Chooser(index).choose(cursor_at(index, "app.py", text), 600, ALL, ["imports", "near"]))
    # the loop's likely class has sixteen methods, more than the budget holds: they no longer crowd out
    # the name of the module imported whole
    assert "def all_tasks(loop=None):" in picks and "def method_number_02(" in picks
