"""core/repo: the members the repository calls on receivers named like the ones
near the cursor (``receivers.py``), the members the code most like the code
around the cursor calls (``similar.py``), and the lexical ranking both the near
stage and the lexical stage ask for (computed once per request)."""

from __future__ import annotations

from fim_server.core.repo import lexical
from fim_server.core.repo.receivers import PER_RECEIVER, called_on, likely_receivers, receiver_calls, receiver_members
from fim_server.core.repo.selection import Chooser
from fim_server.core.repo.similar import similar_calls

from test_repo_index import indexed
from test_repo_near import ALL, cursor_at, names, shown

LOOP = ("class BaseEventLoop:\n" + "".join(
    f"    def method_{k:02d}(self):\n        pass\n\n" for k in range(20)) +
    "    def call_at(self, when, callback):\n        pass\n\n    def create_future(self):\n        pass\n")


def _users(n: int) -> dict[str, str]:
    """Files calling ``call_at`` on loops named in three ways (``self._loop``, ``loop``, ``event_loop``)."""
    body = "def f{k}(self, loop, event_loop):\n    self._loop.call_at(1, None)\n    loop.call_at(2, None)\n" \
           "    event_loop.create_future()\n    event_loop.create_future()\n"
    return {f"user{k}.py": body.format(k=k) for k in range(n)}


def test_receiver_calls_count_by_the_receivers_last_word_not_on_self_nor_classes():
    text = ("self._loop.call_at(1)\nloop.call_at(2)\nevent_loop . call_soon (x)\nself.close()\n"
            "Future.cancel(f)\nloop.__repr__()\nnot_a_call.attribute\nmyloop.run()\n")
    assert receiver_calls(text) == {("loop", "call_at"): 2, ("loop", "call_soon"): 1, ("myloop", "run"): 1}


def test_the_index_keeps_the_counts_in_step_with_its_files(tmp_path):
    index = indexed(tmp_path, {"loops.py": LOOP} | _users(3))
    with index.lock:
        assert called_on(index, "loop") == [(6, "call_at"), (6, "create_future")]
    index.remove(index.roots[0] + "/user0.py")
    with index.lock:
        assert called_on(index, "loop") == [(4, "call_at"), (4, "create_future")]
    for k in (1, 2):
        index.remove(index.roots[0] + f"/user{k}.py")
    assert index.receivers == {}  # nothing left behind once the files are gone
    with index.lock:
        assert called_on(index, "loop") == []


def test_a_member_called_once_says_too_little(tmp_path):
    index = indexed(tmp_path, {"a.py": "def f(loop):\n    loop.rare_call()\n    loop.common()\n    loop.common()\n"})
    with index.lock:
        assert called_on(index, "loop") == [(2, "common")]


def test_likely_receivers_the_name_at_the_cursor_then_the_nearest_used_or_assigned():
    receivers = {"waiter": {"done": 3}, "task": {"cancel": 1}, "_proto": {}}
    order = ["_proto", "task", "waiter"]
    assigned = {"loop": 2, "events": 1, "self": 0}
    # ``return await loop`` ends with the receiver of the next call; modules and ``self`` are no receivers
    assert likely_receivers("    return await fut", receivers, order, assigned, {"events"}) == \
        ["fut", "_proto", "task", "loop", "waiter"]
    assert likely_receivers("    x = events.", receivers, order, assigned, {"events"})[0] == "_proto"


def test_receiver_members_the_most_called_of_each_receiver_word_once_each(tmp_path):
    many = "".join(f"    loop.m{k:02d}()\n" * (20 - k) for k in range(12))
    index = indexed(tmp_path, {"loops.py": "class EventLoop:\n" + "".join(
        f"    def m{k:02d}(self):\n        pass\n" for k in range(12)) + "    def done(self):\n        pass\n",
        "use.py": "def f(loop, waiter):\n" + many + "    waiter.done()\n    waiter.done()\n    waiter.m00()\n"
                  "    waiter.m00()\n"})
    first = lambda owner, name: next(iter(index.named(name)), None)  # noqa: E731
    with index.lock:
        found = names(receiver_members(index, ["_loop", "event_loop", "waiter"], {"m01"}, first))
    # ``_loop`` and ``event_loop`` are one word; m01 is the file's own; m00 is shown once; waiter's done after
    assert found == ["m00"] + [f"m{k:02d}" for k in range(2, PER_RECEIVER + 1)] + ["done"]


def test_a_receiver_assigned_just_above_brings_what_the_repository_calls_on_its_kind(tmp_path):
    index = indexed(tmp_path, {"pkg/__init__.py": "", "pkg/loops.py": LOOP, "pkg/events.py":
                               "def get_running_loop():\n    pass\n"} | {f"pkg/{k}" : v for k, v in _users(3).items()})
    text = ("from pkg import events\n\n\nasync def to_thread(func):\n    loop = events.get_running_loop()\n"
            "    return await loop@\n")
    picks = shown(Chooser(index).choose(cursor_at(index, "pkg/threads.py", text), 1500, ALL, ["near"]))
    # nothing in the file calls a method on ``loop`` (the class's twenty other methods give no vote):
    # the repository's calls on loops do
    assert "def call_at(self, when, callback):" in picks and "def create_future(self):" in picks
    without = indexed(tmp_path / "bare", {"pkg/__init__.py": "", "pkg/loops.py": LOOP,
                                          "pkg/events.py": "def get_running_loop():\n    pass\n"})
    assert "def call_at(" not in shown(Chooser(without).choose(cursor_at(without, "pkg/threads.py", text), 1500, ALL,
                                                               ["near"]))


def test_the_members_the_most_similar_code_calls_are_shown(tmp_path):
    protocol = "class DatagramProtocol:\n    def error_received(self, exc):\n        pass\n"
    transport = ("class Transport:\n    def _read_ready(self):\n        try:\n            data = self._sock.recvfrom(n)\n"
                 "        except OSError as exc:\n            self._protocol.error_received(exc)\n")
    index = indexed(tmp_path, {"protocols.py": protocol, "selector.py": transport,
                               "other.py": "def unrelated():\n    return 1\n"})
    text = ("class ProactorTransport:\n    def _loop_reading(self, fut):\n        try:\n"
            "            data = fut.result()\n        except OSError as exc:\n            @\n")
    cur = cursor_at(index, "proactor.py", text)
    with index.lock:
        target = lexical.words(cur.text)
        found = similar_calls(index, target, set(), set(),
                              lambda name: next(iter(index.named(name)), None))
    assert names(found) == ["error_received"]  # ``recvfrom`` is no definition of the repository
    assert "def error_received(self, exc):" in shown(Chooser(index).choose(cur, 1500, ALL, ["near"]))


def test_the_lexical_ranking_is_made_once_for_both_stages_and_again_after_a_change(tmp_path, monkeypatch):
    index = indexed(tmp_path, {f"m{k}.py": f"def handler_{k}(sock, transport_word):\n    sock.rare_word_{k % 2}()\n"
                               for k in range(6)})
    ranked = []
    rank = lexical.Lexical._rank
    monkeypatch.setattr(lexical.Lexical, "_rank", lambda self, q, many: ranked.append(q) or rank(self, q, many))
    query = {"rare_word_1", "transport_word"}
    first = index.lexical.search(query, set(), limit=4)
    skip = {first[0][1]}
    again = index.lexical.search(query, skip, limit=8)
    assert len(ranked) == 1  # the second question (more windows, other files left out) used the same ranking
    index.lexical._ranked = None
    assert index.lexical.search(query, skip, limit=8) == again and len(ranked) == 2  # what a fresh ranking gives
    index.remove(index.roots[0] + "/m1.py")
    index.lexical.search(query, set(), limit=4)
    assert len(ranked) == 3  # the windows changed: ranked anew
