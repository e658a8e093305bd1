"""Line splitting, client-unit conversions and incremental edits of documents."""

from __future__ import annotations

import bisect
import random

from hypothesis import given, settings, strategies as st
import pytest

from fim_server.core.documents import (
    UTF8,
    UTF16,
    UTF32,
    Document,
    codepoints_to_units,
    line_content,
    split_lines,
    units_to_codepoints,
)


# -- split_lines ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text, lines",
    [
        ("", [""]),
        ("a", ["a"]),
        ("a\n", ["a\n", ""]),
        ("a\nb", ["a\n", "b"]),
        ("a\r\nb\r\n", ["a\r\n", "b\r\n", ""]),
        ("a\rb", ["a\r", "b"]),
        ("a\r\r\nb", ["a\r", "\r\n", "b"]),
        ("\n\n", ["\n", "\n", ""]),
        ("\r\n", ["\r\n", ""]),
        ("a\n\rb", ["a\n", "\r", "b"]),
        ("x\u2028y\x0bz\x0c", ["x\u2028y\x0bz\x0c"]),  # only \n, \r\n and \r end a line (not str.splitlines)
        ("中文\n😀", ["中文\n", "😀"]),
    ],
)
def test_split_lines(text, lines):
    assert split_lines(text) == lines
    assert "".join(lines) == text


@pytest.mark.parametrize(
    "line, content",
    [("ab\r\n", "ab"), ("ab\n", "ab"), ("ab\r", "ab"), ("ab", "ab"), ("\r\n", ""), ("", "")],
)
def test_line_content(line, content):
    assert line_content(line) == content


# -- unit conversions ------------------------------------------------------------


@pytest.mark.parametrize(
    "text, units, encoding, codepoints",
    [
        ("abc", 2, UTF16, 2),
        ("abc", 99, UTF16, 3),  # past the end clamps
        ("abc", -1, UTF16, 0),
        ("中文x", 1, UTF16, 1),  # CJK is one UTF-16 unit
        ("中文x", 2, UTF16, 2),
        ("😀a", 2, UTF16, 1),  # an emoji is a surrogate pair: two units
        ("😀a", 3, UTF16, 2),
        ("😀a", 1, UTF16, 0),  # inside the pair rounds down
        ("a𝄞b", 3, UTF16, 2),
        ("中文", 3, UTF8, 1),  # CJK is three UTF-8 bytes
        ("中文", 4, UTF8, 1),  # inside a sequence rounds down
        ("中文", 6, UTF8, 2),
        ("😀a", 4, UTF8, 1),  # an emoji is four bytes
        ("😀a", 5, UTF8, 2),
        ("éa", 2, UTF8, 1),
        ("😀a", 1, UTF32, 1),  # UTF-32 counts code points
        ("😀a", 5, UTF32, 2),
    ],
)
def test_units_to_codepoints(text, units, encoding, codepoints):
    assert units_to_codepoints(text, units, encoding) == codepoints


@pytest.mark.parametrize(
    "text, index, encoding, units",
    [
        ("abc", 2, UTF16, 2),
        ("中文", 2, UTF16, 2),
        ("😀a", 1, UTF16, 2),
        ("😀a", 2, UTF16, 3),
        ("𝄞", 1, UTF16, 2),
        ("中文", 1, UTF8, 3),
        ("中文", 2, UTF8, 6),
        ("😀a", 1, UTF8, 4),
        ("éa", 2, UTF8, 3),
        ("😀a", 2, UTF32, 2),
        ("😀a", 9, UTF16, 3),  # past the end clamps
        ("😀a", -4, UTF16, 0),
    ],
)
def test_codepoints_to_units(text, index, encoding, units):
    assert codepoints_to_units(text, index, encoding) == units


@pytest.mark.parametrize("encoding", [UTF8, UTF16, UTF32])
@pytest.mark.parametrize("text", ["plain ascii", "中文 and 😀 and 𝄞 é"])
def test_conversions_round_trip(text, encoding):
    for index in range(len(text) + 1):
        assert units_to_codepoints(text, codepoints_to_units(text, index, encoding), encoding) == index


# -- Document.apply_change -------------------------------------------------------


@pytest.mark.parametrize(
    "before, start, end, new, encoding, after, lines",
    [
        pytest.param("hello\nworld", (1, 0), (1, 0), "big ", UTF16, "hello\nbig world", None, id="insert"),
        pytest.param("😀x", (0, 2), (0, 2), "a", UTF16, "😀ax", None, id="insert-after-emoji-utf16"),
        pytest.param("😀x", (0, 4), (0, 4), "a", UTF8, "😀ax", None, id="insert-after-emoji-utf8"),
        pytest.param("😀x", (0, 1), (0, 1), "a", UTF32, "😀ax", None, id="insert-after-emoji-utf32"),
        pytest.param("中文", (0, 1), (0, 1), "-", UTF16, "中-文", None, id="insert-between-cjk-utf16"),
        pytest.param("中文", (0, 3), (0, 3), "-", UTF8, "中-文", None, id="insert-between-cjk-utf8"),
        pytest.param("one\ntwo\nthree", (0, 1), (2, 2), "", UTF16, "oree", ["oree"], id="delete-across-lines"),
        pytest.param("a\nb", (0, 1), (1, 0), "", UTF16, "ab", ["ab"], id="join-lines"),
        pytest.param(
            "a\nb", (0, 1), (0, 1), "x\r\ny", UTF16, "ax\r\ny\nb", ["ax\r\n", "y\n", "b"], id="insert-crlf-text"
        ),
        pytest.param(
            "a\nb\nc", (0, 0), (1, 1), "1\r\n2\r\n3", UTF16, "1\r\n2\r\n3\nc", ["1\r\n", "2\r\n", "3\n", "c"],
            id="replace-with-crlf-text",
        ),
        pytest.param("a\rb", (1, 0), (1, 0), "\n", UTF16, "a\r\nb", ["a\r\n", "b"], id="lf-after-lone-cr-makes-crlf"),
        pytest.param("a\r", (1, 0), (1, 0), "\n", UTF16, "a\r\n", ["a\r\n", ""], id="lf-after-final-cr"),
        pytest.param(
            "a\rX\nb", (1, 0), (1, 1), "", UTF16, "a\r\nb", ["a\r\n", "b"], id="delete-char-between-cr-and-lf"
        ),
        pytest.param("a\nb", (0, 1), (0, 1), "\r", UTF16, "a\r\nb", ["a\r\n", "b"], id="cr-before-lf-makes-crlf"),
        pytest.param("a\r\nb", (0, 1), (1, 0), "", UTF16, "ab", ["ab"], id="delete-crlf"),
        pytest.param("a\rb\rc", (1, 0), (1, 1), "B", UTF16, "a\rB\rc", ["a\r", "B\r", "c"], id="lone-cr-lines"),
        pytest.param("ab\n", (1, 0), (1, 0), "c", UTF16, "ab\nc", ["ab\n", "c"], id="append-on-empty-last-line"),
        pytest.param("ab", (0, 2), (0, 2), "\n", UTF16, "ab\n", ["ab\n", ""], id="append-newline-at-end"),
        pytest.param("ab\n", (0, 2), (1, 0), "", UTF16, "ab", ["ab"], id="delete-final-newline"),
        pytest.param("ab\ncd", (5, 0), (9, 9), "!", UTF16, "ab\ncd!", None, id="lines-past-end-clamp"),
        pytest.param("ab\ncd", (0, 99), (0, 99), "!", UTF16, "ab!\ncd", None, id="column-past-line-end-clamps"),
        pytest.param("ab\r\ncd", (0, 99), (0, 99), "!", UTF16, "ab!\r\ncd", None, id="column-past-end-stays-before-crlf"),
        pytest.param("abcd", (0, 3), (0, 1), "", UTF16, "ad", None, id="reversed-range"),
        pytest.param("x\r\ny", (0, 0), (1, 1), "", UTF16, "", [""], id="delete-everything"),
        pytest.param("", (0, 0), (0, 0), "a\nb\n", UTF16, "a\nb\n", ["a\n", "b\n", ""], id="insert-into-empty"),
        pytest.param("a\n\nb", (1, 0), (2, 0), "", UTF16, "a\nb", ["a\n", "b"], id="delete-empty-line"),
    ],
)
def test_apply_change(before, start, end, new, encoding, after, lines):
    doc = Document("file:///t", before)
    doc.apply_change(new, start, end, encoding)
    assert doc.source == after
    assert doc.lines == (lines if lines is not None else split_lines(after))


@pytest.mark.parametrize("new", ["new\r\ntext", "", "single", "a\rb\n"])
def test_full_replacement_without_range(new):
    doc = Document("file:///t", "old\ncontent\n")
    doc.apply_change(new)
    assert doc.lines == split_lines(new)
    assert doc.source == new


@pytest.mark.parametrize(
    "text, line, character, encoding, expected",
    [
        ("ab\ncd", 1, 1, UTF16, (1, 1)),
        ("ab\ncd", 7, 0, UTF16, (1, 2)),  # line past the end: end of document
        ("ab\ncd", -1, 3, UTF16, (0, 0)),
        ("😀b\ncd", 0, 2, UTF16, (0, 1)),
        ("😀b\ncd", 0, 9, UTF16, (0, 2)),  # column past the end of the line
        ("ab\r\ncd", 0, 3, UTF16, (0, 2)),  # never between CR and LF
    ],
)
def test_to_codepoints(text, line, character, encoding, expected):
    assert Document("file:///t", text).to_codepoints(line, character, encoding) == expected


# -- property: the server's copy follows the client's ----------------------------

PIECES = ["a", "b ", " ", "\n", "\r\n", "\r", "中文", "😀", "𝄞", "\n\n", "\r\n\r\n", ""]
TEXTS = st.lists(st.sampled_from(PIECES), max_size=10).map("".join)


def _line_starts(text: str) -> list[int]:
    """Code-point offsets where lines start, by the LSP rules (written independently)."""
    starts = [0]
    i = 0
    while i < len(text):
        if text[i] == "\r" and text[i + 1 : i + 2] == "\n":
            i += 2
            starts.append(i)
        elif text[i] in "\r\n":
            i += 1
            starts.append(i)
        else:
            i += 1
    return starts


def _units(text: str, encoding: str) -> int:
    if encoding == UTF16:
        return len(text.encode("utf-16-le")) // 2
    if encoding == UTF8:
        return len(text.encode("utf-8"))
    return len(text)


def _position(text: str, offset: int, encoding: str) -> tuple[int, int]:
    starts = _line_starts(text)
    line = bisect.bisect_right(starts, offset) - 1
    return line, _units(text[starts[line] : offset], encoding)


def _valid_offsets(text: str) -> list[int]:
    """Every offset a client can name: all but the one between the CR and LF of a CRLF."""
    return [i for i in range(len(text) + 1) if not (0 < i < len(text) and text[i - 1] == "\r" and text[i] == "\n")]


@pytest.mark.parametrize("encoding", [UTF16, UTF8, UTF32])
@settings(max_examples=200, deadline=None, database=None)
@given(data=st.data())
def test_incremental_edits_track_the_client(encoding, data):
    client = data.draw(TEXTS, label="initial text")
    doc = Document("file:///p", client)
    assert doc.source == client
    for _ in range(data.draw(st.integers(1, 8), label="edits")):
        offsets = _valid_offsets(client)
        a = data.draw(st.sampled_from(offsets), label="from")
        b = data.draw(st.sampled_from(offsets), label="to")
        a, b = min(a, b), max(a, b)
        new = data.draw(TEXTS, label="new text")
        start, end = _position(client, a, encoding), _position(client, b, encoding)
        client = client[:a] + new + client[b:]
        doc.apply_change(new, start, end, encoding)
        assert "".join(doc.lines) == client
        assert doc.size == len(client)  # kept up to date, not recounted
        # and the lines are cut where the client cuts them, so later positions agree
        assert doc.lines == split_lines(client)


# -- offsets from running sums kept across edits equal the plain sum of line lengths --


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cached_offsets_match_the_plain_sum_after_random_edits(seed):
    rng = random.Random(seed)
    doc = Document("file:///a", "ab\ncd\r\nef\n" * 40)
    for _ in range(1500):
        n = len(doc.lines)
        line = rng.randrange(n)
        col = rng.randrange(len(doc.lines[line].rstrip("\r\n")) + 1)
        op = rng.random()
        if op < 0.5:
            doc.apply_change(rng.choice(["x", "\n", "yy\n z", "\r", "\r\n"]), (line, col), (line, col), "utf-32")
        elif op < 0.85:
            end = min(n - 1, line + rng.randrange(3))
            doc.apply_change("", (line, col), (end, 0) if end > line else (line, col), "utf-32")
        else:
            doc.apply_change("q\nw" * rng.randrange(3))
        for _ in range(2):
            at = rng.randrange(len(doc.lines))
            assert doc.offset_of(at, 2) == sum(map(len, doc.lines[:at])) + 2


def test_offset_past_the_end_clamps():
    doc = Document("file:///a", "ab\ncd")
    assert doc.offset_of(99, 0) == 5
