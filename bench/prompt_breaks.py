"""Where each provider prompt stops repeating the previous one, and why.

    python bench/prompt_breaks.py bench/traces/*.jsonl [--workspace DIR] [--set NAME=VALUE] [--detail]

Replays the traces against the fake DeepSeek (as ``fim-server replay`` does),
keeps the body of every completion request the fake received, and for each
consecutive pair finds where their common prefix ends:

- in the other-file snippets at the top of the prompt (the comment blocks DeepSeek
  gets): a snippet added, removed, changed or moved;
- at the start of the file's prefix window (the window starts at another line:
  after a cursor move = a jump, or while typing = the anchor stepped);
- inside the window above the cursor line (the cursor went up, or an edit above);
- on the cursor line (typing: only the last characters differ).

Two figures per cause: the characters of the file window the headline
"prompt prefix shared" loses (the server counts the window only, without the
snippets), and the characters of the whole prompt DeepSeek's cache loses.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
import json
import re
from pathlib import Path
import sys

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fim_server.core.text import common_prefix_len  # noqa: E402
from fim_server.settings import set_items  # noqa: E402
from fim_server.tools.replay.driver import ReplayOptions, replay_all  # noqa: E402
from fim_server.tools.replay.prompts import split_prompt  # noqa: E402
from fim_server.tools.replay.trace import load_trace  # noqa: E402


def window_cause(win_a: str, win_b: str) -> str:
    """Where the file windows of two prompts part."""
    shared = common_prefix_len(win_a, win_b)
    first_a = win_a.split("\n", 1)[0]
    first_b = win_b.split("\n", 1)[0]
    if shared < min(len(first_a), len(first_b)) + 1 and win_a and win_b:
        lines_a = win_a.split("\n")
        if first_b in lines_a[1:]:
            return f"window start moved down {lines_a.index(first_b, 1)} lines"
        lines_b = win_b.split("\n")
        if first_a in lines_b[1:]:
            return f"window start moved up {lines_b.index(first_a, 1)} lines"
        return "window start moved (other place)"
    if shared >= win_b.rfind("\n") + 1:
        return "cursor line (typing)"
    return "1 line above the cursor" if win_b.count("\n", shared) == 1 else "2+ lines above the cursor"


def block_names(blocks: list[str]) -> list[str]:
    return [b.split("\n", 1)[0].split(" Path: ", 1)[1] + f"@{hash(b) % 1000:03d}" for b in blocks]


def classify(a: str, b: str, jumped: bool) -> tuple[str, int, int]:
    """(cause, window characters lost, prompt characters lost) for prompt b after a."""
    blocks_a, win_a = split_prompt(a)
    blocks_b, win_b = split_prompt(b)
    whole = common_prefix_len(a, b)
    lost_prompt = len(b) - whole
    shared_win = common_prefix_len(win_a, win_b)
    lost_win = len(win_b) - shared_win
    head = "jump: " if jumped else ""
    top = sum(map(len, blocks_b))
    wcause = window_cause(win_a, win_b)
    if whole < top:  # the break is in the snippets
        if set(blocks_a) == set(blocks_b):
            why = "snippets reordered"
        elif len(blocks_b) > len(blocks_a) and set(blocks_a) <= set(blocks_b):
            why = "snippet added"
        elif len(blocks_b) < len(blocks_a) and set(blocks_b) <= set(blocks_a):
            why = "snippet removed"
        else:
            why = "snippet replaced"
        at = next((i for i, (x, y) in enumerate(zip(blocks_a, blocks_b)) if x != y), min(len(blocks_a), len(blocks_b)))
        why += f" at {at} / {wcause}"
        return head + why, lost_win, lost_prompt
    return head + wcause, lost_win, lost_prompt


def analyse(result, detail: bool) -> tuple[Counter, Counter, int, int, dict]:
    bodies = result.bodies
    lost_win: Counter = Counter()
    lost_prompt: Counter = Counter()
    total_win = total_prompt = 0
    count: Counter = Counter()
    prev = ""
    prev_at = float("-inf")
    for n, (body, at) in enumerate(zip(bodies, result.received)):
        prompt = body.get("prompt") or ""
        jumped = any(prev_at < m <= at for m in result.moves)
        total_prompt += len(prompt)
        total_win += len(split_prompt(prompt)[1])
        if n == 0:
            cause, lw, lp = "first request", len(split_prompt(prompt)[1]), len(prompt)
        else:
            cause, lw, lp = classify(prev, prompt, jumped)
        coarse = re.sub(r" (at|down|up) \d+( lines)?", "", cause)
        lost_win[coarse] += lw
        lost_prompt[coarse] += lp
        count[coarse] += 1
        if detail:
            blocks = split_prompt(prompt)[0]
            print(f"  {result.name} #{n:>2} {cause:<40} window lost {lw:>5}  prompt lost {lp:>5}  "
                  f"({len(blocks)} snippets, {len(prompt)} chars)")
            if "snippet" in cause:
                print("      before:", " ".join(block_names(split_prompt(prev)[0])))
                print("      after: ", " ".join(block_names(blocks)))
        prev, prev_at = prompt, at
    return lost_win, lost_prompt, total_win, total_prompt, count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("traces", nargs="+")
    parser.add_argument("--workspace")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--detail", action="store_true", help="one line per request")
    parser.add_argument("--json", help="write the figures as JSON")
    parser.add_argument("--save", help="write the prompts, when they arrived and the cursor moves as JSON")
    args = parser.parse_args(argv)
    settings = set_items(args.set)
    options = ReplayOptions(settings=settings, keep_bodies=True, workspace=args.workspace)
    results = asyncio.run(replay_all([load_trace(t) for t in args.traces], options, show_progress=False))
    report = {}
    all_win: Counter = Counter()
    all_prompt: Counter = Counter()
    all_count: Counter = Counter()
    sums = [0, 0]
    for result in results:
        lw, lp, tw, tp, count = analyse(result, args.detail)
        all_win.update(lw)
        all_prompt.update(lp)
        all_count.update(count)
        sums[0] += tw
        sums[1] += tp
        print(f"{result.name}: {len(result.bodies)} requests; window shared {1 - sum(lw.values()) / max(1, tw):.1%}, "
              f"whole prompt shared {1 - sum(lp.values()) / max(1, tp):.1%}")
        report[result.name] = {"requests": len(result.bodies), "window_chars": tw, "prompt_chars": tp,
                               "window_lost": dict(lw), "prompt_lost": dict(lp), "count": dict(count)}
    tw, tp = sums
    print(f"\nall: window shared {1 - sum(all_win.values()) / max(1, tw):.1%} of {tw:,} characters, "
          f"whole prompt shared {1 - sum(all_prompt.values()) / max(1, tp):.1%} of {tp:,}")
    print(f"{'cause':<44} {'requests':>8} {'window lost':>12} {'share':>6} {'prompt lost':>12} {'share':>6}")
    for cause in sorted(all_count, key=lambda c: -all_win[c] - all_prompt[c]):
        print(f"{cause:<44} {all_count[cause]:>8} {all_win[cause]:>12,} {all_win[cause] / max(1, tw):>6.1%} "
              f"{all_prompt[cause]:>12,} {all_prompt[cause] / max(1, tp):>6.1%}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    if args.save:
        Path(args.save).write_text(json.dumps({r.name: {"prompts": [b.get("prompt") or "" for b in r.bodies],
                                                        "received": r.received, "moves": r.moves} for r in results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
