"""Figures from replay results: a terminal table, JSON, and an HTML page with an SVG plot."""

from __future__ import annotations

from dataclasses import dataclass
import html
import json
import math
from typing import Any

from fim_server.tools.replay.driver import TraceResult

TOKENS_PER_CHAR = 0.3  # estimate for prompts whose usage the provider never reported (cancelled)


@dataclass(frozen=True)
class Prices:
    """US dollars per million tokens (DeepSeek's list prices when written; change them with flags)."""

    input_miss: float = 0.28
    input_hit: float = 0.028
    output: float = 0.42


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[index]


def _merge(results: list[TraceResult], name: str = "all", language: str = "") -> TraceResult:
    total = TraceResult(name, "", language)
    for r in results:
        for name in ("keystrokes", "accepts", "accepts_refused", "dismisses", "inline_requests", "editor_cancels",
                     "answered_cancelled", "pauses", "pauses_before_move", "covered", "duration_s", "trace_duration_s",
                     "status_notifications", "ghost_chars"):
            setattr(total, name, getattr(total, name) + getattr(r, name))
        total.pause_latencies_ms += r.pause_latencies_ms
        for key, value in r.server.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                total.server[key] = total.server.get(key, 0) + value
        for key, value in r.fake.items():
            if isinstance(value, (int, float)):
                total.fake[key] = total.fake.get(key, 0) + value
            elif isinstance(value, list):
                total.fake.setdefault(key, []).extend(value)
            elif isinstance(value, dict):
                merged = total.fake.setdefault(key, {})
                for k, v in value.items():
                    merged[k] = merged.get(k, 0) + v
        total.memory_kib += r.memory_kib
    from fim_server.tools.replay.tap import combine

    total.engine = combine([r.engine for r in results])
    total.server["peak_rss_kib"] = max((r.server.get("peak_rss_kib", 0) for r in results), default=0)
    return total


def metrics(r: TraceResult, prices: Prices) -> dict[str, Any]:
    s = r.server
    fake = r.fake
    provider_calls = s.get("provider_calls", 0)
    keys = max(1, r.keystrokes + r.accepts)
    hit = s.get("cache_hit_tokens", 0)
    miss = s.get("cache_miss_tokens", 0)
    prompt = s.get("prompt_tokens", 0)
    if not (hit or miss):
        miss = prompt
    cancelled_chars = s.get("cancelled_prompt_chars", 0)
    cancelled_tokens = round(cancelled_chars * TOKENS_PER_CHAR)
    completion = s.get("completion_tokens", 0)
    cost = (miss * prices.input_miss + hit * prices.input_hit + completion * prices.output) / 1e6
    cost_cancelled = cancelled_tokens * prices.input_miss / 1e6
    hours = max(r.trace_duration_s, 1e-9) / 3600
    shared = s.get("prompt_shared_chars", 0)
    chars = s.get("prompt_chars", 0)
    shares = r.fake.get("prompt_shares") or []
    outcomes = r.fake.get("outcomes") or {}
    p50 = percentile(r.pause_latencies_ms, 50)
    p95 = percentile(r.pause_latencies_ms, 95)
    return {
        "trace": r.name,
        "language": r.language,
        "source": r.source,
        "keystrokes": r.keystrokes,
        "accepts": r.accepts,
        "accepts_refused": r.accepts_refused,
        "replay_seconds": round(r.duration_s, 1),
        "typing_seconds": round(r.trace_duration_s, 1),
        "inline_requests": r.inline_requests,
        "editor_cancels": r.editor_cancels,
        "provider_requests": provider_calls,
        "speculative_requests": s.get("speculative_calls", 0),
        "requests_per_keystroke": round(provider_calls / keys, 4),
        "pauses": r.pauses,
        "pauses_covered": r.covered,
        "pauses_before_move": r.pauses_before_move,
        "pause_coverage": round(r.covered / r.pauses, 4) if r.pauses else None,
        "pause_to_ghost_ms": {"p50": _r(p50), "p95": _r(p95)},
        # ghost text the user then typed (or accepted): what a user would have taken from it
        "ghost_chars_typed": r.ghost_chars,
        "ghost_chars_per_request": round(r.ghost_chars / provider_calls, 2) if provider_calls else None,
        "typing_through_hits": s.get("typing_through", 0),
        "cache_hits": s.get("cache_hits", 0),
        "forward_hits": s.get("forward_hits", 0),
        "inflight_reuses": s.get("inflight_reused", 0),
        "early_stops": s.get("early_stops", 0),
        "cancelled_provider_requests": s.get("provider_cancelled", 0),
        "cancelled_connections_closed": outcomes.get("client_closed", 0) if r.fake else None,
        "prompt_tokens_reported": prompt,
        "prompt_tokens_cancelled_estimate": cancelled_tokens,
        "completion_tokens": completion,
        "prompt_prefix_share": round(shared / chars, 4) if chars else None,
        "prompt_prefix_share_p50": _r(percentile(shares, 50), 4) if shares else None,
        # the same for the requests that did not follow a cursor move (a jump) nor come first
        "prompt_prefix_share_in_place": round(fake["window_shared_in_place"] / fake["window_chars_in_place"], 4)
        if fake.get("window_chars_in_place") else None,
        # the whole prompt, the other files' snippets too (what DeepSeek's cache sees)
        "prompt_prefix_share_whole": round(fake["shared_prefix_chars"] / fake["prompt_chars"], 4) if fake.get("prompt_chars") else None,
        "cache_hit_tokens": hit,
        "cache_hit_share": round(hit / prompt, 4) if prompt else None,
        "cost_usd": round(cost, 6),
        "cost_usd_per_hour": round(cost / hours, 4),
        "cost_usd_per_hour_incl_cancelled": round((cost + cost_cancelled) / hours, 4),
        "server_rss_mib": round(s.get("rss_kib", 0) / 1024, 1),
        "server_peak_rss_mib": round(s.get("peak_rss_kib", 0) / 1024, 1),
        "status_notifications": r.status_notifications,
        "engine": r.engine or None,  # the real server's own figures (replay --real through the tap)
    }


def _r(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def build_report(results: list[TraceResult], prices: Prices, settings: dict, options: dict) -> dict[str, Any]:
    rows = [metrics(r, prices) for r in results]
    total = metrics(_merge(results), prices) if len(results) > 1 else dict(rows[0], trace="all")
    by_language: dict[str, list[TraceResult]] = {}
    for r in results:
        by_language.setdefault(r.language, []).append(r)
    languages = {
        language: {key: row[key] for key in LANGUAGE_FIGURES} | {"traces": [r.name for r in group]}
        for language, group in by_language.items()
        for row in [metrics(_merge(group, language, language), prices)]
    }
    return {
        "settings": settings,
        "options": options,
        "prices_usd_per_million_tokens": prices.__dict__,
        "traces": rows,
        "total": total,
        "languages": languages,
        "pause_latencies_ms": {r.name: [round(v, 1) for v in r.pause_latencies_ms] for r in results},
        "memory_kib": {r.name: r.memory_kib for r in results if r.memory_kib},
        "uncovered_pauses": {r.name: r.uncovered for r in results if r.uncovered},
    }


ROWS = [
    ("keystrokes", "keystrokes", "{}"),
    ("accepts", "accepted suggestions", "{}"),
    ("provider_requests", "provider requests", "{}"),
    ("speculative_requests", "  of them speculative", "{}"),
    ("requests_per_keystroke", "requests per keystroke", "{:.3f}"),
    ("pause_coverage", "pause coverage (>= 500 ms)", "{:.1%}"),
    ("ghost_chars_typed", "ghost chars typed or accepted", "{}"),
    ("ghost_chars_per_request", "  per provider request", "{:.2f}"),
    ("pause_to_ghost_ms.p50", "pause to ghost text p50 ms", "{:.0f}"),
    ("pause_to_ghost_ms.p95", "pause to ghost text p95 ms", "{:.0f}"),
    ("typing_through_hits", "typing-through hits", "{}"),
    ("cache_hits", "cache hits", "{}"),
    ("forward_hits", "forwarding-cache hits", "{}"),
    ("inflight_reuses", "in-flight reuses", "{}"),
    ("cancelled_provider_requests", "cancelled provider requests", "{}"),
    ("cancelled_connections_closed", "  connections closed (fake)", "{}"),
    ("prompt_tokens_reported", "prompt tokens (reported)", "{}"),
    ("prompt_tokens_cancelled_estimate", "prompt tokens (cancelled, est.)", "{}"),
    ("prompt_prefix_share", "prompt prefix shared with previous", "{:.1%}"),
    ("prompt_prefix_share_in_place", "  not after a cursor move", "{:.1%}"),
    ("prompt_prefix_share_whole", "  whole prompt (snippets too)", "{:.1%}"),
    ("cache_hit_tokens", "cache-hit tokens (reported)", "{}"),
    ("cost_usd_per_hour", "cost per hour of typing, USD", "{:.4f}"),
    ("engine.prompt_evaluated", "server: prompt tokens evaluated", "{}"),
    ("engine.prompt_reused", "server: prompt tokens reused (cache)", "{}"),
    ("engine.prompt_evaluated_share", "server: share evaluated", "{:.1%}"),
    ("engine.prompt_eval_ms", "server: prompt eval ms", "{:.0f}"),
    ("engine.generation_ms", "server: generation ms", "{:.0f}"),
    ("engine.prompt_eval_time_share", "server: prompt eval share of its time", "{:.0%}"),
    ("engine.server_totals.prompt_evaluated", "server: evaluated incl. cut requests", "{}"),
    ("engine.server_totals.prompt_reused", "server: reused incl. cut requests", "{}"),
    ("engine.server_totals.prompt_evaluated_share", "server: share evaluated incl. cut", "{:.1%}"),
    ("engine.server_totals.prompt_eval_ms", "server: prompt eval ms incl. cut", "{:.0f}"),
    ("engine.server_totals.generation_ms", "server: generation ms incl. cut", "{:.0f}"),
    ("server_peak_rss_mib", "server peak RSS MiB", "{}"),
]


def _get(row: dict, path: str):
    value: Any = row
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _fmt(fmt: str, value) -> str:
    if value is None:
        return "-"
    try:
        return fmt.format(value)
    except (ValueError, TypeError):
        return str(value)


LANGUAGE_FIGURES = ("keystrokes", "provider_requests", "requests_per_keystroke", "pauses", "pauses_covered", "pause_coverage",
                    "ghost_chars_typed", "ghost_chars_per_request")


def language_table(report: dict) -> str:
    """Per language: pause coverage next to requests per keystroke, and the ghost text typed."""
    head = f"{'language':12} {'traces':>6} {'keys':>6} {'requests':>8} {'req/key':>8} {'pauses':>7} {'coverage':>9} {'ghost chars':>12} {'per request':>12}"
    out = [head, "-" * len(head)]
    for language, g in report.get("languages", {}).items():
        out.append(
            f"{language:12} {len(g['traces']):>6} {g['keystrokes']:>6} {g['provider_requests']:>8} {g['requests_per_keystroke']:>8.3f} "
            f"{g['pauses']:>7} {_fmt('{:.1%}', g['pause_coverage']):>9} {g['ghost_chars_typed']:>12} {_fmt('{:.2f}', g['ghost_chars_per_request']):>12}"
        )
    return "\n".join(out)


def table(report: dict) -> str:
    return _columns(report) + "\n\n" + language_table(report)


def _columns(report: dict) -> str:
    columns = report["traces"] + ([report["total"]] if len(report["traces"]) > 1 else [])
    names = [c["trace"] for c in columns]
    width = max(34, *(len(label) for _, label, _ in ROWS)) + 2
    cells = [[_fmt(fmt, _get(c, key)) for c in columns] for key, _, fmt in ROWS]
    widths = [max(len(names[i]), *(len(row[i]) for row in cells)) + 2 for i in range(len(columns))]
    out = ["".ljust(width) + "".join(n.rjust(w) for n, w in zip(names, widths))]
    out.append("-" * (width + sum(widths)))
    for (key, label, _), row in zip(ROWS, cells):
        out.append(label.ljust(width) + "".join(v.rjust(w) for v, w in zip(row, widths)))
    return "\n".join(out)


def cdf_svg(series: dict[str, list[float]], width: int = 640, height: int = 320, title: str = "") -> str:
    """A hand-written SVG: cumulative share of pauses with ghost text by time after the last key."""
    pad_l, pad_b, pad_t, pad_r = 50, 40, 30, 140
    all_values = [v for values in series.values() for v in values]
    x_max = max(500.0, math.ceil((max(all_values) if all_values else 1000) / 250) * 250)
    x_max = min(x_max, 3000.0)
    plot_w, plot_h = width - pad_l - pad_r, height - pad_t - pad_b
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f"]

    def x(v: float) -> float:
        return pad_l + min(v, x_max) / x_max * plot_w

    def y(share: float) -> float:
        return pad_t + (1 - share) * plot_h

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">']
    parts.append(f'<text x="{pad_l}" y="18" font-size="13">{html.escape(title)}</text>')
    parts.append(f'<rect x="{pad_l}" y="{pad_t}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>')
    step = 250 if x_max <= 1500 else 500
    for tick in range(0, int(x_max) + 1, step):
        parts.append(f'<line x1="{x(tick):.1f}" y1="{pad_t + plot_h}" x2="{x(tick):.1f}" y2="{pad_t + plot_h + 4}" stroke="#999"/>')
        parts.append(f'<text x="{x(tick):.1f}" y="{pad_t + plot_h + 16}" text-anchor="middle">{tick}</text>')
    for share in (0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<line x1="{pad_l}" y1="{y(share):.1f}" x2="{pad_l + plot_w}" y2="{y(share):.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{pad_l - 6}" y="{y(share) + 4:.1f}" text-anchor="end">{share:.0%}</text>')
    parts.append(f'<text x="{pad_l + plot_w / 2}" y="{height - 6}" text-anchor="middle">ms from the last key to ghost text</text>')
    for n, (name, values) in enumerate(series.items()):
        colour = colours[n % len(colours)]
        ordered = sorted(values)
        total = max(1, series_total(name, values))
        points = [f"{x(0):.1f},{y(0):.1f}"]
        for k, v in enumerate(ordered, 1):
            points.append(f"{x(v):.1f},{y((k - 1) / total):.1f}")
            points.append(f"{x(v):.1f},{y(k / total):.1f}")
        points.append(f"{x(x_max):.1f},{y(len(ordered) / total):.1f}")
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.6" points="{" ".join(points)}"/>')
        ly = pad_t + 14 + n * 16
        parts.append(f'<line x1="{pad_l + plot_w + 10}" y1="{ly - 4}" x2="{pad_l + plot_w + 28}" y2="{ly - 4}" stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<text x="{pad_l + plot_w + 32}" y="{ly}">{html.escape(name[:16])}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


_TOTALS: dict[str, int] = {}


def series_total(name: str, values: list[float]) -> int:
    """Number of pauses behind a series (the curve ends at the covered share)."""
    return _TOTALS.get(name, len(values))


def html_page(report: dict, title: str = "fim-server typing replay") -> str:
    _TOTALS.clear()
    for row in report["traces"]:
        _TOTALS[row["trace"]] = row["pauses"] or 0
    svg = cdf_svg(report["pause_latencies_ms"], title="Share of pauses with ghost text, by time after the last key")
    columns = report["traces"] + ([report["total"]] if len(report["traces"]) > 1 else [])
    head = "".join(f"<th>{html.escape(c['trace'])}</th>" for c in columns)
    body = "".join(
        f"<tr><td>{html.escape(label)}</td>" + "".join(f"<td>{html.escape(_fmt(fmt, _get(c, key)))}</td>" for c in columns) + "</tr>"
        for key, label, fmt in ROWS
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:2px 10px;text-align:right}}td:first-child{{text-align:left}}
table{{border-collapse:collapse}}tr:nth-child(even){{background:#f4f4f4}}pre{{background:#f8f8f8;padding:1em}}</style></head>
<body><h1>{html.escape(title)}</h1>
<table><tr><th></th>{head}</tr>{body}</table>
<h2>Per language</h2>
<pre>{html.escape(language_table(report))}</pre>
<h2>Pause to ghost text</h2>
{svg}
<h2>Settings and options</h2>
<pre>{html.escape(json.dumps({"settings": report["settings"], "options": report["options"], "prices": report["prices_usd_per_million_tokens"]}, indent=2))}</pre>
</body></html>
"""
