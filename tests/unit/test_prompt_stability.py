"""The prompt's beginning stays the same while the user types in one place: the
prefix window's start has hysteresis (core/context.py), so DeepSeek's prefix cache
can serve consecutive prompts."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from fim_server.core.context import ANCHOR_LINES, cursor_context, prefix_start_line
from fim_server.core.documents import Document
from fim_server.settings import Settings

LINE = 30  # code points per line, terminator included
LINES = [f"line {i:04d} = value({i})".ljust(LINE - 1) + "\n" for i in range(2000)]
BUDGET = 6000  # 200 lines
FIT = BUDGET // LINE  # whole lines that fit above a cursor at column 0


def earliest(line: int, col: int = 0) -> int:
    return prefix_start_line(LINES, line, col, BUDGET, anchor=1)


@pytest.mark.parametrize("placed_at", [300, 317, 331, 345, 360])
@pytest.mark.parametrize("move", [-15, -5, -1, 1, 3, 8, 15])
def test_window_start_does_not_move_for_a_cursor_move_within_half_a_step(placed_at, move):
    """Placed fresh, the start leaves at least half a step (16 lines) of room: a move
    of the cursor up to 15 lines down or up keeps it."""
    first = prefix_start_line(LINES, placed_at, 0, BUDGET, previous=-1)  # no earlier window here: a fresh placement
    assert first % ANCHOR_LINES == 0
    assert first - earliest(placed_at) >= ANCHOR_LINES // 2
    assert prefix_start_line(LINES, placed_at + move, 5, BUDGET, previous=first) == first


def test_typing_down_moves_the_start_at_most_once_per_half_step():
    """Typing 160 lines down: every start holds for at least 16 lines, the window
    stays within the budget and keeps at least half of the lines that fit."""
    start = None
    moves = []
    for line in range(300, 460):
        new = prefix_start_line(LINES, line, 12, BUDGET, previous=start)
        assert earliest(line, 12) <= new <= line
        assert line - new >= FIT // 2
        if new != start:
            moves.append(line)
        start = new
    gaps = [b - a for a, b in zip(moves, moves[1:])]
    assert gaps and min(gaps) >= ANCHOR_LINES // 2
    assert len(moves) <= 160 // (ANCHOR_LINES // 2) + 1


def test_the_first_window_of_a_document_leaves_room_to_type_too():
    """A document's first window (no start kept yet) is placed with the same room
    as after a jump: typing 15 lines there does not move it."""
    settings = Settings(max_prefix_chars=BUDGET)
    for placed_at in range(300, 332):
        doc = Document("file:///t.py", "".join(LINES[:400]), 1, "python")
        first = cursor_context(doc, placed_at, 0, settings)
        for n in range(15):
            doc.apply_change("    x = 1\n", (placed_at + n, 0), (placed_at + n, 0), "utf-32")
            assert cursor_context(doc, placed_at + n + 1, 0, settings).start_line == first.start_line


def test_a_jump_places_the_window_afresh():
    start = prefix_start_line(LINES, 300, 0, BUDGET, previous=-1)
    far = prefix_start_line(LINES, 1500, 0, BUDGET, previous=start)
    assert far != start
    assert 1500 - far >= FIT // 2
    back_up = prefix_start_line(LINES, 150, 0, BUDGET, previous=far)  # above the window: afresh too
    assert back_up <= 150 and 150 - back_up >= 150 - FIT if 150 > FIT else back_up == 0


def test_the_top_of_the_file_wins_when_it_fits():
    assert prefix_start_line(LINES, 120, 0, BUDGET, previous=32) == 0


def test_without_a_previous_start_the_cursor_alone_decides():
    for line in range(250, 300):
        assert prefix_start_line(LINES, line, 0, BUDGET) == -(-earliest(line) // ANCHOR_LINES) * ANCHOR_LINES


def test_a_slide_setting_of_one_line_still_slides():
    """``promptAnchorLines`` 1: no rounding and no hysteresis (the benchmark's baseline)."""
    start = None
    for line in range(300, 320):
        start = prefix_start_line(LINES, line, 0, BUDGET, anchor=1, previous=start)
        assert start == earliest(line)


@given(
    cursor=st.integers(0, 1999),
    previous=st.one_of(st.none(), st.integers(0, 2100)),
    budget=st.integers(0, 20_000),
    anchor=st.sampled_from([1, 4, 32, 64]),
)
def test_the_start_always_fits_the_budget_and_keeps_the_cursors_surroundings(cursor, previous, budget, anchor):
    first = prefix_start_line(LINES, cursor, 7, budget, anchor, previous=previous)
    low = prefix_start_line(LINES, cursor, 7, budget, anchor=1)
    assert low <= first <= cursor
    assert first == 0 or cursor - first >= (cursor - low) // 2  # at least half of the lines that fit


def test_the_documents_windows_share_their_beginning_while_typing():
    """Through ``cursor_context``: the document keeps its window's start, so typing
    a function 40 lines long near the end of a long file changes the start at most
    once, and every other prompt begins with the whole previous one but its last line."""
    doc = Document("file:///t.py", "".join(LINES[:400]), 1, "python")
    settings = Settings(max_prefix_chars=BUDGET)
    line, prompts = 380, []
    for n in range(40):
        doc.apply_change(f"    call_{n}(x)\n", (line, 0), (line, 0), "utf-32")
        line += 1
        prompts.append(cursor_context(doc, line, 0, settings).prefix)
        assert doc.window_start % ANCHOR_LINES == 0
    broken = [b for a, b in zip(prompts, prompts[1:]) if not b.startswith(a)]
    assert len(broken) <= 1
    fresh = [cursor_context(Document("file:///t.py", "".join(doc.lines)), line, 0, settings).prefix]
    assert fresh[0].count("\n") <= prompts[-1].count("\n") + ANCHOR_LINES  # no more than a step of context given up

