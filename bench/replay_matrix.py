"""Before/after figures of each typing optimisation, from the typing replay.

Replays the shipped traces (side by side, one server and one fake DeepSeek each,
300 ms latency, true-continuation answers) once per configuration: the baseline
with every optimisation off (and a prompt window that slides every line), each
optimisation alone on top of it, and everything on (the defaults). Prints a
Markdown table and writes JSON:

    python bench/replay_matrix.py [--traces bench/traces/*.jsonl] [--json FILE] [--only NAME...]
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import json
import platform
import os
from pathlib import Path
import sys

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fim_server.tools.replay.driver import ReplayOptions, replay_all  # noqa: E402
from fim_server.tools.replay.report import Prices, build_report  # noqa: E402
from fim_server.tools.replay.trace import load_trace  # noqa: E402

OFF = {
    "adaptiveDebounce": False,
    "streamEarlyStop": False,
    "inflightReuse": False,
    "forwardCache": False,
    "speculativeNext": False,
    "promptAnchorLines": 1,
}
CONFIGS = {
    "baseline (all off)": OFF,
    "+ stable prompt layout": {**OFF, "promptAnchorLines": 32},
    "+ adaptive debounce": {**OFF, "adaptiveDebounce": True},
    "+ early stop": {**OFF, "streamEarlyStop": True},
    "+ in-flight reuse": {**OFF, "inflightReuse": True},
    "+ forwarding cache": {**OFF, "forwardCache": True},
    "+ speculative next": {**OFF, "speculativeNext": True},
    "all on (defaults)": {},
}


def row(name: str, total: dict) -> str:
    p = total["pause_to_ghost_ms"]
    cov = total["pause_coverage"]
    share = total["prompt_prefix_share"]
    return (
        f"| {name} | {total['keystrokes']} | {total['provider_requests']} | {total['requests_per_keystroke']:.3f} | "
        f"{'-' if cov is None else f'{cov:.1%}'} | {p['p50'] if p['p50'] is not None else '-'} | {p['p95'] if p['p95'] is not None else '-'} | "
        f"{total['typing_through_hits']} | {total['cancelled_provider_requests']} | {'-' if share is None else f'{share:.1%}'} | "
        f"{total['cache_hit_tokens']} | {total['cost_usd_per_hour']:.4f} | {total['cost_usd_per_hour_incl_cancelled']:.4f} |"
    )


HEADER = (
    "| configuration | keys | provider requests | requests/key | pause coverage | pause→ghost p50 ms | p95 ms | "
    "typing-through | cancelled | prompt prefix shared | cache-hit tokens | USD/hour (reported usage) | USD/hour (+ cancelled, est.) |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


async def main_async(args) -> dict:
    traces = [load_trace(p) for p in sorted(args.traces or glob.glob(str(Path(__file__).parent / "traces" / "*.jsonl")))]
    out = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
           "latency_ms": args.latency_ms, "traces": [t.name for t in traces], "configs": {}}
    print(HEADER, flush=True)
    for name, settings in CONFIGS.items():
        if args.only and not any(o in name for o in args.only):
            continue
        options = ReplayOptions(settings=settings, latency_ms=args.latency_ms)
        results = await replay_all(traces, options, show_progress=False)
        report = build_report(results, Prices(), settings, {"latency_ms": args.latency_ms})
        out["configs"][name] = {"settings": settings, "total": report["total"], "traces": report["traces"]}
        print(row(name, report["total"]), flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", nargs="*")
    parser.add_argument("--latency-ms", type=float, default=300.0)
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--only", nargs="*", help="run only configurations whose name contains one of these")
    parser.add_argument("--table", nargs="+", metavar="JSON", help="print the table of earlier runs (later files win) and exit")
    args = parser.parse_args()
    if args.table:
        configs: dict = {}
        for path in args.table:
            configs.update(json.loads(Path(path).read_text())["configs"])
        print(HEADER)
        for name in CONFIGS:
            if name in configs:
                print(row(name, configs[name]["total"]))
        return 0
    out = asyncio.run(main_async(args))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
