"""The repository context's speed-ups choose exactly what the straightforward code
chose: each faster part against a plain reference (the code it replaced) on real
and generated text, and a chooser whose caches are warm against fresh ones."""

from __future__ import annotations

import random
import re
import sysconfig
from pathlib import Path

import pytest

from fim_server.core.repo import definitions as defs, kept, members, uses as uses_module
from fim_server.core.repo.index import RepoIndex, build_entry
from fim_server.core.repo.selection import STAGES, Chooser, Cursor
from fim_server.core.repo.uses import Uses

STDLIB = Path(sysconfig.get_paths()["stdlib"])
REAL = [STDLIB / "asyncio" / "base_events.py", STDLIB / "email" / "message.py", STDLIB / "json" / "decoder.py"]
TOKENS = ["x", "xy", "obj", "self", "self.", ".", " ", "  ", "\n", "\n    ", " = ", "=", "==", ": ", ":", ",", "(", ")",
          "()", "Foo", "Bar", "mod.", "await ", "new ", "Optional[", "]", "isinstance(", "isinstance( ", "$a", "_b",
          "x.y", "obj.run(", "obj.run().stop", "a.bc.d", "1", "#", "é"]


def _generated(rng: random.Random, n: int = 60) -> str:
    return "".join(rng.choice(TOKENS) for _ in range(n))


def _samples():
    rng = random.Random(7)
    texts = [_generated(rng, rng.randint(1, 80)) for _ in range(400)]
    for path in REAL:
        text = path.read_text()
        lines = text.split("\n")
        for start in range(0, len(lines), 97):
            texts.append("\n".join(lines[start : start + 60]))
    return texts


SAMPLES = _samples()
OWNERS = ["x", "xy", "obj", "a", "y", "run", "Foo", "$a", "_b", "msg", "waiter", "loop", "self", "s"]


def reference_declared(block: str, owner: str) -> list[str]:
    """``members.declared`` as first written: three patterns compiled per owner."""
    lines, i = [], block.find(owner)
    while i >= 0:
        start, end = block.rfind("\n", 0, i) + 1, block.find("\n", i)
        end = len(block) if end < 0 else end
        lines.append(block[start:end])
        i = block.find(owner, end)
    text = "\n".join(lines)
    o = re.escape(owner)
    found = re.findall(rf"(?<![\w$]){o}\s*(?::[^=\n]*)?=\s*(?:await\s+|new\s+)?(?:[\w$]+\.)*([A-Z][\w$]*)\s*\(", text)
    found += re.findall(rf"(?<![\w$.]){o}\??\s*:\s*(?:Optional\[)?(?:[\w$]+\.)*([A-Z][\w$]*)", text)
    found += re.findall(rf"isinstance\(\s*(?:self\.)?{o}\s*,\s*(?:[\w$]+\.)*([A-Z][\w$]*)", text)
    return list(dict.fromkeys(found))


def test_declared_matches_the_per_owner_patterns():
    checked = 0
    for text in SAMPLES:
        owners = set(OWNERS) | set(re.findall(r"[A-Za-z_$][\w$]*", text)[:20])
        for owner in owners:
            assert members.declared(text, owner) == reference_declared(text, owner), (text, owner)
            checked += bool(reference_declared(text, owner))
    assert checked > 20  # the samples do declare classes
    for path in REAL:  # names in many words (found by a pattern of their own) and rarer ones
        text = path.read_text()
        for owner in ("e", "s", "t", "a", "f", "msg", "loop", "sock", "waiter", "exc", "value"):
            assert members.declared(text, owner) == reference_declared(text, owner), (path, owner)
    assert text.count("e") > members.MANY


def test_declared_finds_each_form():
    block = "w = Foo(1)\nself.w = mod.Bar()\nw: Optional[Baz] = None\nif isinstance(self.w, pkg.Qux): pass\nxw = Nope()\n"
    assert members.declared(block, "w") == ["Foo", "Bar", "Baz", "Qux"]


def reference_attributes(uses: Uses, owner: str) -> list[tuple[int, str]]:
    best: dict[str, int] = {}
    block = uses.block
    row = previous = 0
    for m in re.finditer(re.escape(owner) + r"\.([A-Za-z_$][\w$]*)", block):
        start = m.start()
        if start and re.match(r"[\w$.]", block[start - 1]):
            continue
        row += block.count("\n", previous, start)
        previous = start
        d = uses.cursor - row if row <= uses.cursor else (row - uses.cursor) * 3
        if best.get(m.group(1), 1 << 30) > d:
            best[m.group(1)] = d
    return sorted((d, n) for n, d in best.items())


# no space after the dot (prose is not a member use); a line's trailing comment is no code
_OWNER = re.compile(r"([A-Za-z_$][\w$]*)\s*\.[A-Za-z_$]")
_CALLED = re.compile(r"(?<![\w$])(?=([A-Za-z_$][\w$]*)(?:\([^()]*\))?\s*\.([A-Za-z_$][\w$]*))")
_COMMENT = re.compile(r"(?:#|//)[^'\"`\n]*$")
_IDENT = re.compile(r"[A-Za-z_$][\w$]*")


def reference_near_names(uses: Uses) -> tuple:
    """``near``, ``receivers`` and ``member_names`` as first written (per line, plain patterns)."""
    near: dict[str, int] = {}
    receivers: dict[str, int] = {}
    called: dict[str, dict[str, int]] = {}
    for i, line in enumerate(uses._near.split("\n")):
        row = uses._near_first + i
        d = uses.cursor - row if row <= uses.cursor else (row - uses.cursor) * 3
        for name in _IDENT.findall(line):
            if len(name) > 2 and near.get(name, 1 << 30) > d:
                near[name] = d
        for name in _OWNER.findall(_COMMENT.sub("", line)):
            if name not in ("self", "this", "cls") and receivers.get(name, 1 << 30) > d:
                receivers[name] = d
        for owner, name in _CALLED.findall(_COMMENT.sub("", line)):
            names = called.setdefault(owner, {})
            if names.get(name, 1 << 30) > d:
                names[name] = d
    return (sorted((d, n) for n, d in near.items() if n not in uses.local),
            [n for _, n in sorted((d, n) for n, d in receivers.items())], called)


def test_uses_match_the_plain_patterns():
    index = RepoIndex()
    for text in SAMPLES:
        lines = text.count("\n") + 1
        for line in {0, lines // 2, lines - 1}:
            uses = Uses(Cursor("", "python", text, line, ""), index)
            assert (uses.near(), uses.receivers(), uses.member_names()) == reference_near_names(uses), (text, line)
            for owner in OWNERS:
                assert uses.attributes(owner) == reference_attributes(uses, owner), (text, owner)
    uses_module._LINE_NAMES.clear()  # and again without the names kept per line
    text = SAMPLES[-1]
    uses = Uses(Cursor("", "python", text, 20, ""), index)
    assert (uses.near(), uses.receivers(), uses.member_names()) == reference_near_names(uses)


def test_line_patterns_match_the_plain_ones_on_every_line():
    for path in REAL:
        for line in path.read_text().split("\n"):
            assert uses_module._OWNER.findall(line) == _OWNER.findall(line), line
            assert uses_module._CALLED.findall(line) == _CALLED.findall(line), line


def test_rendered_definitions_are_kept_per_entry_and_never_stale():
    text = (STDLIB / "json" / "decoder.py").read_text()
    first = build_entry("/w/decoder.py", "python", text, {})
    lines = text.split("\n")
    expected = [defs.render(lines, d) for d in first.definitions]
    assert [first.rendered(i) for i in range(len(expected))] == expected
    assert [first.rendered(i) for i in range(len(expected))] == expected  # kept
    changed = text.replace("def ", "def renamed_", 3)
    second = build_entry("/w/decoder.py", "python", changed, {})  # the file changed: a new entry
    lines = changed.split("\n")
    assert [second.rendered(i) for i in range(len(second.definitions))] == [defs.render(lines, d) for d in second.definitions]
    del first  # its id may be reused by a new entry: never its texts
    for _ in range(20):
        third = build_entry("/w/other.py", "python", changed.replace("renamed_", "again_"), {})
        assert third.rendered(0) == defs.render(third.text.split("\n"), third.definitions[0])


@pytest.mark.parametrize("package", ["email", "json"])
def test_a_warm_chooser_picks_what_fresh_ones_pick(package):
    """Many cursors in a row through one chooser (its caches filled) against a new
    chooser and emptied module caches for each: the same picks."""
    from fim_server.core.repo.index import Indexer

    index = RepoIndex([str(STDLIB / package)])
    Indexer(index, lambda path, language: True).run_now()
    warm = Chooser(index)
    rng = random.Random(3)
    files = sorted(p for p, e in index.files.items() if e.definitions)
    checked = 0
    for _ in range(40):
        entry = index.files[rng.choice(files)]
        lines = entry.text.split("\n")
        line = rng.randrange(len(lines))
        text = "\n".join(lines[:line] + [lines[line][: len(lines[line]) // 2]] + lines[line + 1 :])
        cur = Cursor(entry.path, "python", text, line, "\n".join(lines[max(0, line - 10) : line + 3]),
                     lines[line][: len(lines[line]) // 2])
        for stages in (("imports",), ("imports", "near"), STAGES):
            warm.clear_choice()
            got = warm.choose(cur, 1500, lambda uri, language: True, stages)
            kept.clear()
            uses_module._LINE_NAMES.clear()
            index._memo.clear()
            assert Chooser(index).choose(cur, 1500, lambda uri, language: True, stages) == got
            checked += bool(got)
        if _ % 10 == 9:  # the index changes: a file renames its definitions, another leaves
            other = index.files[rng.choice(files)]
            index.put(build_entry(other.path, "python", other.text.replace("def ", "def changed_"), {}))
            index.remove(index.files[rng.choice(files)].path)
            files = sorted(p for p, e in index.files.items() if e.definitions)
    assert checked > 60


def test_python_imports_are_found_where_the_whole_pattern_finds_them():
    from fim_server.core.repo import imports

    rng = random.Random(11)
    parts = ["from", "import", " ", "\t", "\n", "a", ".b", "(", ")", ",", " as ", "#", ";", "x\n", "from . import (y,\n z)"]
    texts = ["".join(rng.choice(parts) for _ in range(rng.randint(1, 60))) for _ in range(3000)]
    texts += [p.read_text() for package in ("asyncio", "email", "importlib") for p in (STDLIB / package).rglob("*.py")]
    for text in texts:
        text = "\n" + text
        for pattern, word in ((imports._PY_FROM, "from"), (imports._PY_IMPORT, "import")):
            assert imports._line_matches(pattern, text, word) == pattern.findall(text), text


def test_uses_block_and_cursor_offset_as_from_every_line():
    text = "\n".join(f"line{i} = {i}" for i in range(1200))
    for line in (0, 1, 399, 400, 401, 700, 1199, 1250):
        uses = Uses(Cursor("", "python", text, line, ""), RepoIndex())
        lines = text.split("\n")
        first = max(0, line - uses_module.USE_LINES)
        assert uses.block == "\n".join(lines[first : line + uses_module.USE_LINES + 1])
        assert uses._cursor_offset == sum(len(x) + 1 for x in lines[first:line])


def test_what_the_index_keeps_goes_when_it_changes(tmp_path):
    """Resolved imports and a name's classes are kept while the index stays the
    same: a changed class shows its new methods, a moved module resolves anew."""
    from test_repo_index import indexed

    index = indexed(tmp_path, {"events.py": "class EventLoop:\n    def call_soon(self):\n        pass\n\n"
                                            "    def call_later(self):\n        pass\n",
                               "tools.py": "def helper():\n    pass\n"})
    text = "import tools\n\n\ndef f(event_loop):\n    tools.helper()\n    event_loop.\n"
    cur = Cursor(index.roots[0] + "/app.py", "python", text, 5, text, "    event_loop.")
    chooser = Chooser(index)
    shown = "\n".join(p.text for p in chooser.choose(cur, 2000, lambda u, l: True, ["imports", "near"]))
    assert "call_later" in shown and "def helper" in shown
    index.put(build_entry(index.roots[0] + "/events.py", "python",
                          "class EventLoop:\n    def run_forever(self):\n        pass\n", {}))
    index.remove(index.roots[0] + "/tools.py")
    index.put(build_entry(index.roots[0] + "/tools/__init__.py", "python", "def helper2():\n    pass\n", {}))
    chooser.clear_choice()
    text = text.replace("helper", "helper2")
    cur = Cursor(cur.path, "python", text, 5, text, "    event_loop.")
    shown = "\n".join(p.text for p in chooser.choose(cur, 2000, lambda u, l: True, ["imports", "near"]))
    assert "run_forever" in shown and "call_later" not in shown and "def helper2" in shown


@pytest.mark.parametrize("module, name, plain", [
    ("relevance", "MEMBER_USE", r"(?<=[\w$)\]])\.([A-Za-z_$][\w$]*)"),
    ("inherited", "_SELF_MEMBER", r"(?<![\w$.])(?:self|this)\.([A-Za-z_$][\w$]*)"),
])
def test_member_patterns_find_what_the_plain_ones_find(module, name, plain):
    import importlib

    fast = getattr(importlib.import_module(f"fim_server.core.repo.{module}"), name)
    plain = re.compile(plain)
    rng = random.Random(5)
    parts = ["self", "this", ".", "x", "$", "a.self", " ", "\n", "selfish", "thisx.", "s", "t", ")", "]", "(", "é", "_y"]
    texts = ["".join(rng.choice(parts) for _ in range(rng.randint(1, 14))) for _ in range(20000)]
    texts += [path.read_text() for path in REAL]
    for text in texts:
        assert fast.findall(text) == plain.findall(text), text


def reference_among(words, names) -> dict[str, int]:
    """``Words.among`` as first written: every name's shared words counted."""
    from collections import Counter

    from fim_server.core.repo.relevance import MAX_SHARING, parts

    shared = {name: parts(name) & words.words for name in names}
    counts = Counter(word for found in shared.values() for word in found)
    return {name: sum(1 for word in found if counts[word] <= MAX_SHARING) + (name in words.calls)
            for name, found in shared.items()}


def test_among_scores_as_the_plain_count():
    from fim_server.core.repo.relevance import Words

    rng = random.Random(13)
    names = sorted({d.name for path in REAL for d in build_entry(str(path), "python", path.read_text(), {}).definitions})
    scored = 0
    for text in SAMPLES[-40:]:
        lines = text.split("\n")
        at = len("\n".join(lines[: len(lines) // 2])) + 1
        words = Words(text, at)
        for size in (0, 1, 5, 30, 200):
            chosen = [rng.choice(names) for _ in range(size)] + rng.sample(sorted(words.calls), min(3, len(words.calls)))
            got = words.among(iter(chosen))  # a generator, names repeated
            assert got == reference_among(words, chosen), (text, chosen)
            assert list(got) == list(dict.fromkeys(chosen))
            scored += sum(got.values())
    assert scored > 100


def test_names_kept_per_line_are_those_of_the_near_text():
    """The names the lines near the cursor define and their words, kept per line,
    are what the patterns find in the near text as a whole."""
    from fim_server.core.repo.relevance import NEAR_AFTER, NEAR_BEFORE, Words

    index = RepoIndex()
    for text in SAMPLES + ["x = 1\n" * 50, "", "\n\n"]:
        lines = text.count("\n") + 1
        for line in sorted({0, 1, lines // 2, lines - 2, lines - 1} - {-1}):
            for cleared in (True, False):
                if cleared:
                    uses_module._LINE_NAMES.clear()
                uses = Uses(Cursor("", "python", text, line, ""), index)
                near = "\n" + uses._near
                local = set(uses_module._DEFINES.findall("\n" + text)) | set(uses_module._DEFINES.findall(near))
                assert uses.local == local | set(uses_module._LOCAL_ASSIGN.findall(near)), (text, line)
                plain = Words(uses.block, uses.cursor_offset)
                assert uses.near_words(NEAR_BEFORE, NEAR_AFTER) == plain.words, (text, line)


def test_a_classes_top_methods_are_the_plainly_sorted_first():
    """``members._top_methods`` against every method scored by ``Words.among`` and sorted."""
    from fim_server.core.repo.relevance import Words

    index = RepoIndex()
    for path in REAL:
        index.put(build_entry(str(path), "python", path.read_text(), {}))
    rng = random.Random(17)
    checked = 0
    for entry in list(index.files.values()):
        classes = [i for i, d in enumerate(entry.definitions) if d.kind == "class"]
        lines = entry.text.split("\n")
        for i in classes:
            defs = entry.definitions
            names = [defs[j].name for j in members.class_methods(entry, i)]
            for _ in range(8):
                line = rng.randrange(len(lines))
                block = "\n".join(lines[max(0, line - 60) : line + 60])
                words = Words(block, len("\n".join(lines[max(0, line - 60) : line])) + 1 if line else 0)
                local = set(rng.sample(names, min(len(names), rng.choice([0, 1, 5])))) | {"unrelated"}
                methods = [j for j in members.class_methods(entry, i)
                           if not defs[j].name.startswith("__") and defs[j].name not in local]
                fit = words.among(defs[j].name for j in methods)
                plain = sorted((-fit[defs[j].name], defs[j].name.startswith("_"),
                                -index.lexical.frequency(defs[j].name), defs[j].name, j) for j in methods)
                expected = [(rank, name, j) for rank, _, _, name, j in plain[: members.MAX_VOTED_MEMBERS]]
                assert members._top_methods(index, entry, i, local, words) == expected, (entry.path, i, line)
                checked += any(rank for rank, _, _ in expected)
    assert checked > 10


def reference_inherited(index, cur, uses, words):
    """``inherited.inherited_members`` as first written: every base method scored and sorted."""
    from fim_server.core.repo import inherited

    if uses.nearest("self") is None and uses.nearest("this") is None:
        return []
    bases = inherited.enclosing_bases(index, cur)
    if not bases:
        return []
    called = set(inherited._SELF_MEMBER.findall(uses.block)) - uses.local
    found, seen_classes = [], set()
    for depth in range(inherited.MAX_DEPTH):
        nxt = []
        for base in bases:
            if base in seen_classes or not base.isidentifier():
                continue
            seen_classes.add(base)
            classes = [(e, i) for e, i in index.named(base) if e.definitions[i].kind in ("class", "interface")]
            classes.sort(key=lambda item: (item[0].path == cur.path, item[0].path, item[1]))
            for entry, i in classes[:1]:
                for j in members.class_methods(entry, i) if entry.path != cur.path else ():
                    if not entry.definitions[j].name.startswith("__"):
                        found.append(((depth, entry.definitions[j].name), entry, j))
                head = entry.rendered(i)[0].split("\n")
                nxt += inherited.bases_of(inherited.CLASS_LINE.match(next((x.lstrip() for x in head if "class" in x), "")))
        bases = nxt
        if not bases:
            break
    fit = words.among(name for (_, name), _, _ in found)
    found = [((name not in called, -fit[name], depth, -index.lexical.frequency(name), name), entry, j)
             for (depth, name), entry, j in found]
    found.sort(key=lambda item: (item[0], item[1].path, item[2]))
    out, names = [], set()
    for _, entry, j in found:
        name = entry.definitions[j].name
        if name not in names and name not in uses.local:
            names.add(name)
            out.append((entry, j))
    return out[: inherited.MAX_INHERITED]


def indexed(package: str) -> RepoIndex:
    """The standard library's ``package``, indexed."""
    from fim_server.core.repo.index import Indexer

    index = RepoIndex([str(STDLIB / package)])
    Indexer(index, lambda path, language: True).run_now()
    return index


def random_cursors(index: RepoIndex, rng: random.Random, count: int, only=lambda entry: True):
    """(cursor, its uses, its words) at ``count`` random lines of the files ``only`` keeps."""
    from fim_server.core.repo.relevance import Words

    files = sorted(p for p, e in index.files.items() if only(e))
    for _ in range(count):
        entry = index.files[rng.choice(files)]
        lines = entry.text.split("\n")
        line = rng.randrange(len(lines))
        cur = Cursor(entry.path, "python", entry.text, line, "", lines[line])
        uses = Uses(cur, index)
        yield cur, uses, Words(uses.block, uses.cursor_offset)


@pytest.mark.parametrize("package", ["email", "asyncio"])
def test_inherited_methods_are_the_plainly_sorted_first(package):
    from fim_server.core.repo.inherited import inherited_members

    index = indexed(package)
    checked = 0
    with_class = lambda entry: any(d.kind == "class" for d in entry.definitions)
    for cur, uses, words in random_cursors(index, random.Random(19), 150, with_class):
        got = inherited_members(index, cur, uses, words)
        assert got == reference_inherited(index, cur, uses, words), (cur.path, cur.line)
        checked += len(got) > 3
    assert checked > 10


@pytest.mark.parametrize("package", ["asyncio", "email"])
def test_owner_members_are_the_plainly_sorted_first(package):
    """``suggested.owner_members`` against every suggested method scored and sorted."""
    from fim_server.core.repo.suggested import MAX_OWNERS, PER_OWNER, owner_members, suggested_members

    index = indexed(package)
    chooser = Chooser(index)
    rng = random.Random(23)
    checked = 0
    for cur, uses, words in random_cursors(index, rng, 150):
        modules = set(rng.sample(uses.receivers(), min(1, len(uses.receivers()))))
        expected, seen = [], set()
        for owner in [o for o in uses.receivers() if o not in modules][:MAX_OWNERS]:
            found = sorted(suggested_members(index, words, chooser._classes_named, owner, parameters=False),
                           key=lambda item: (item[0], item[1].path, item[2]))
            taken = 0
            for _, e, j in found:
                name = e.definitions[j].name
                if name not in seen and name not in uses.local and taken < PER_OWNER:
                    seen.add(name)
                    expected.append((e, j))
                    taken += 1
        assert owner_members(index, uses, modules, words, chooser._classes_named) == expected, (cur.path, cur.line)
        checked += len(expected) > 3
    assert checked > 10


@pytest.mark.parametrize("package", ["asyncio", "email"])
def test_module_names_are_the_plainly_sorted_first(package):
    """``offered.module_names`` against every name of each module scored and sorted."""
    from fim_server.core.repo.imports import MODULE
    from fim_server.core.repo.offered import MAX_MODULES, MAX_NAMES, module_names
    from fim_server.core.repo.qualified import member_uses

    index = indexed(package)
    chooser = Chooser(index)
    checked = 0
    for cur, uses, words in random_cursors(index, random.Random(29), 120):
        links = chooser._links(cur)
        popularity = lambda name: -index.lexical.frequency(name)
        modules = sorted({(uses.nearest(l.local) or 1 << 20, l.path) for l in links if l.remote is MODULE})
        turns = []
        for rank, (_, path) in enumerate(modules[:MAX_MODULES]):
            module = index.files.get(path)
            ranked = [(popularity(d.name), d.name, module, i) for i, d in enumerate(module.definitions if module else ())
                      if d.kind in ("function", "class", "constant") and not d.name.startswith("__")]
            ranked += chooser._passed_on(module, popularity)
            fit = words.among(item[1] for item in ranked)
            reached = member_uses(index, path, cur.path)
            ranked.sort(key=lambda item: (0 if fit[item[1]] >= 2 else 1 if reached[item[1]] else 2, -fit[item[1]],
                                          -reached[item[1]], *item[:2]))
            turns += [((j, rank), item[2], item[3]) for j, item in enumerate(ranked[:MAX_NAMES])]
        expected = [(e, i) for _, e, i in sorted(turns, key=lambda turn: turn[0])]
        assert module_names(index, words, cur.path, uses, links, chooser._passed_on) == expected, (cur.path, cur.line)
        checked += len(expected) > 5
    assert checked > 10


def test_what_is_kept_per_text_stays_bounded():
    kept.clear()
    big = "x" * 100_000
    for n in range(kept.OF_TEXT_KEPT * 2):
        assert kept.of_text(("t", str(n), big if n % 50 == 0 else ""), lambda: (n,)) == (n,)
        assert len(kept._OF_TEXT) <= kept.OF_TEXT_KEPT and kept._of_text_chars <= kept.OF_TEXT_CHARS
    assert kept.of_text(("t", "again", big), lambda: ("first",)) == ("first",)
    assert kept.of_text(("t", "again", big), lambda: ("second",)) == ("first",)  # kept
    kept.clear()
    assert kept.of_text(("t", "again", big), lambda: ("third",)) == ("third",)


def test_what_is_kept_per_text_is_forgotten_with_it():
    """Nothing but the bounded table holds a key or its value: once it forgets them
    (``clear``, or past its bounds), they are gone (a cache around ``of_text`` kept
    4,096 keys, texts and all, beyond OF_TEXT_CHARS)."""
    import gc
    import weakref

    class Marker:
        pass

    kept.clear()
    key, value = Marker(), Marker()
    assert kept.of_text(("t", key), lambda: (value,)) == (value,)
    refs = weakref.ref(key), weakref.ref(value)
    kept.clear()
    del key, value
    gc.collect()
    assert refs[0]() is None and refs[1]() is None
