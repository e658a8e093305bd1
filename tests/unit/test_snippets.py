"""Snippets from other documents and recent edits: ranking, budget, stable order, exclusions."""

from __future__ import annotations

import pytest

from cursor import ctx_at
from fim_server.settings import Settings
from fim_server.core.documents import split_lines
from fim_server.core.prompt import build_request
from fim_server.providers.base import commented_blocks
from fim_server.core.snippets import RecentEdits, SnippetIndex, Source, display_path, similarity, words

HELPERS = "def parse_header(raw_bytes):\n    fields = raw_bytes.split(b':')\n    return fields\n"
UNRELATED = "class Colour:\n    red = 1\n    green = 2\n"
AROUND = "header = parse_header(raw_bytes)\nprint(fields)\n"


def src(uri: str, text: str, version: int = 1) -> Source:
    return Source(uri, version, split_lines(text))


def test_similar_document_wins_and_unrelated_is_left_out():
    index = SnippetIndex()
    out = index.collect("file:///a/main.py", AROUND, [src("file:///a/helpers.py", HELPERS), src("file:///a/colour.py", UNRELATED)], budget_chars=1000)
    assert [s.path for s in out] == ["a/helpers.py"]
    assert out[0].text == HELPERS


def test_budget_limits_the_snippets():
    index = SnippetIndex()
    sources = [src("file:///a/helpers.py", HELPERS)]
    assert index.collect("file:///a/main.py", AROUND, sources, budget_chars=len(HELPERS) // 2) == ()
    assert index.collect("file:///a/main.py", AROUND, sources, budget_chars=0) == ()


def test_excluded_documents_are_never_used():
    index = SnippetIndex()
    seen = []

    def may_send(uri: str) -> bool:
        seen.append(uri)
        return not uri.endswith("helpers.py")

    out = index.collect("file:///a/main.py", AROUND, [src("file:///a/helpers.py", HELPERS)], budget_chars=1000, may_send=may_send)
    assert out == () and seen == ["file:///a/helpers.py"]


def test_order_is_by_path_not_score_so_the_prompt_start_is_stable():
    index = SnippetIndex()
    a = src("file:///a/zz.py", "header = parse_header(raw_bytes)\nprint(fields)\n")  # most similar
    b = src("file:///a/aa.py", "fields = raw_bytes\n")
    out = index.collect("file:///a/main.py", AROUND, [a, b], budget_chars=1000)
    assert [s.path for s in out] == ["a/aa.py", "a/zz.py"]
    assert out[1].score > out[0].score


def test_recent_edit_in_the_current_document_outside_the_windows():
    lines = ["x = 0\n"] * 100
    lines[80] = "def parse_header(raw_bytes): return raw_bytes\n"
    index = SnippetIndex()
    recent = RecentEdits()
    recent.record("file:///a/main.py", 80)
    current = Source("file:///a/main.py", 1, lines)
    out = index.collect("file:///a/main.py", AROUND, [current], budget_chars=2000, recent=recent, skip_lines=(0, 40))
    assert len(out) == 1 and "parse_header" in out[0].text
    # inside the prompt's windows: nothing added twice
    assert index.collect("file:///a/main.py", AROUND, [current], budget_chars=2000, recent=recent, skip_lines=(60, 100)) == ()
    # without a recent edit there, the current document gives nothing
    assert index.collect("file:///a/main.py", AROUND, [current], budget_chars=2000, skip_lines=(0, 40)) == ()


def test_recent_edits_merge_nearby_lines_and_forget():
    recent = RecentEdits(size=3)
    recent.record("u", 10)
    recent.record("u", 12)
    recent.record("v", 1)
    assert list(recent) == [("v", 1), ("u", 12)]
    recent.forget("u")
    assert list(recent) == [("v", 1)]


def test_chunks_cached_per_version():
    index = SnippetIndex()
    first = index.chunks(src("file:///h.py", HELPERS, 1))
    assert index.chunks(src("file:///h.py", "other = 1\n", 1)) is first
    assert index.chunks(src("file:///h.py", "other = 1\n", 2)) != first


@pytest.mark.parametrize(
    "a, b, expected",
    [("foo bar", "foo bar", 1.0), ("foo bar", "foo baz", 1 / 3), ("", "foo", 0.0), ("a b", "a b", 0.0)],
)
def test_similarity(a, b, expected):
    assert similarity(words(a), words(b)) == pytest.approx(expected)


def test_display_path_and_commented_blocks():
    assert display_path("file:///home/me/proj/src/x%20y.py") == "proj/src/x y.py"
    assert commented_blocks([("a/b.py", "x = 1\n\ny = 2\n")], "#") == "# Path: a/b.py\n# x = 1\n#\n# y = 2\n\n"
    assert commented_blocks([("m.ts", "let a")], "//") == "// Path: m.ts\n// let a\n\n"


def test_display_path_in_a_workspace_folder_is_the_path_there():
    uri = "file:///usr/lib/python3.11/asyncio/base_events.py"
    assert display_path(uri) == "python3.11/asyncio/base_events.py"
    assert display_path(uri, ("/usr/lib/python3.11/asyncio",)) == "base_events.py"
    # several folders: the folder's name first
    assert display_path(uri, ("/srv/other", "/usr/lib/python3.11/asyncio")) == "asyncio/base_events.py"
    # never longer than the plain last parts; a file outside every folder keeps them
    deep = "file:///home/me/proj/src/pkg/sub/deep/m.py"
    assert display_path(deep, ("/home/me/proj",)) == "sub/deep/m.py" == display_path(deep)
    assert display_path(deep, ("/home/me/other", "/home/me/pro")) == "sub/deep/m.py"
    assert display_path("file:///home/me/proj/x%20y.py", ("/home/me/proj/",)) == "x y.py"


def test_open_document_snippets_name_files_by_their_path_in_the_workspace_folder():
    index = SnippetIndex()
    other = Source("file:///home/me/proj/pkg/helpers.py", 1, ["def parse_header(line):", "    return line.split(':')"],
                   "python")
    around = "header = parse_header(line)"
    plain = index.collect("file:///home/me/proj/app.py", around, [other], budget_chars=500)
    index.clear_choice()
    inside = index.collect("file:///home/me/proj/app.py", around, [other], budget_chars=500, roots=("/home/me/proj",))
    assert [s.path for s in plain] == ["proj/pkg/helpers.py"] and [s.path for s in inside] == ["pkg/helpers.py"]


def test_request_carries_snippets_as_extra():
    ctx = ctx_at("x = █\n")
    from dataclasses import replace

    request = build_request(replace(ctx, snippets=(("a.py", "def f(): pass\n"),)), Settings())
    assert request.extra == (("a.py", "def f(): pass\n"),)
    assert request.prompt == "x = " and request.language_id == "python"


def test_choice_reused_while_the_words_around_barely_change():
    index = SnippetIndex()
    helpers = src("file:///a/helpers.py", HELPERS)
    first = index.collect("file:///a/main.py", AROUND, [helpers], budget_chars=1000)
    # one more word typed: same answer object, no new ranking
    again = index.collect("file:///a/main.py", AROUND + "prin", [helpers], budget_chars=1000)
    assert again is first
    # another document changed: ranked again
    changed = index.collect("file:///a/main.py", AROUND, [src("file:///a/helpers.py", HELPERS + "# more\n", 2)], budget_chars=1000)
    assert changed is not first
    # the surroundings changed a lot: ranked again
    assert index.collect("file:///a/main.py", "class Colour: red green", [helpers, src("file:///a/colour.py", UNRELATED)], budget_chars=1000)[0].path == "a/colour.py"
