"""The reports of ``fim-server eval``: the summary (per kind and overall), a
terminal table, and the files written with ``--out`` (eval.json, report.md,
report.html and SVG plots, secrets masked). Pure rendering of the rows
``run.evaluate`` produced.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict
import html
import json
from pathlib import Path
import statistics
from typing import TYPE_CHECKING, Any

from fim_server.redaction import redact

if TYPE_CHECKING:
    from fim_server.tools.eval.run import Row


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else 0.0


def summarize(rows: list[Row], prices: dict[str, float] | None) -> dict[str, Any]:
    def group(selected: list[Row]) -> dict[str, Any]:
        parse = [r.parseable for r in selected if r.parseable is not None]
        lat = [r.latency_ms for r in selected]
        prompt = sum(r.prompt_tokens for r in selected)
        hit = sum(r.cache_hit_tokens for r in selected)
        out = sum(r.completion_tokens for r in selected)
        cost = None
        if prices:
            cost = ((prompt - hit) * prices["input_miss"] + hit * prices["input_hit"] + out * prices["output"]) / 1e6
        return {
            "n": len(selected),
            "exact_match": sum(r.exact for r in selected) / max(1, len(selected)),
            "edit_similarity": statistics.fmean(r.similarity for r in selected) if selected else 0.0,
            "parseable": sum(parse) / len(parse) if parse else None,
            "empty": sum(not r.completion for r in selected) / max(1, len(selected)),
            "errors": sum(r.error is not None for r in selected),
            "latency_p50_ms": percentile(lat, 0.5),
            "latency_p95_ms": percentile(lat, 0.95),
            "prompt_tokens": prompt,
            "completion_tokens": out,
            "cache_hit_tokens": hit,
            "cost_usd": cost,
        }

    kinds = defaultdict(list)
    for r in rows:
        kinds[r.kind].append(r)
    return {"all": group(rows), "by_kind": {k: group(v) for k, v in sorted(kinds.items())}}


def table(summary: dict[str, Any]) -> str:
    head = f"{'kind':12} {'n':>5} {'exact':>7} {'edit sim':>8} {'parse':>7} {'p50 ms':>8} {'p95 ms':>8} {'tokens in/out':>15} {'cost $':>9}"
    lines = [head, "-" * len(head)]
    for name, g in list(summary["by_kind"].items()) + [("all", summary["all"])]:
        parse = "n/a" if g["parseable"] is None else f"{g['parseable']:.1%}"
        cost = "n/a" if g["cost_usd"] is None else f"{g['cost_usd']:.4f}"
        lines.append(
            f"{name:12} {g['n']:>5} {g['exact_match']:>7.1%} {g['edit_similarity']:>8.3f} {parse:>7} "
            f"{g['latency_p50_ms']:>8.1f} {g['latency_p95_ms']:>8.1f} {str(g['prompt_tokens']) + '/' + str(g['completion_tokens']):>15} {cost:>9}"
        )
    return "\n".join(lines)


# -- plots (SVG, no plotting library) ---------------------------------------------------


def svg_bars(title: str, labels: list[str], values: list[float], unit: str = "", vmax: float | None = None) -> str:
    width, height, left, bottom = 480, 240, 40, 40
    vmax = vmax or max(values + [1e-9])
    bar = (width - left - 10) / max(1, len(values))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">',
        f'<text x="{width / 2}" y="14" text-anchor="middle" font-size="13">{html.escape(title)}</text>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 5}" y2="{height - bottom}" stroke="#333"/>',
    ]
    for i, (label, value) in enumerate(zip(labels, values)):
        h = (height - bottom - 30) * (value / vmax if vmax else 0)
        x = left + i * bar + 2
        parts.append(f'<rect x="{x:.1f}" y="{height - bottom - h:.1f}" width="{bar - 4:.1f}" height="{h:.1f}" fill="#4a7bd0"/>')
        parts.append(f'<text x="{x + (bar - 4) / 2:.1f}" y="{height - bottom - h - 3:.1f}" text-anchor="middle">{value:.3g}{unit}</text>')
        parts.append(f'<text x="{x + (bar - 4) / 2:.1f}" y="{height - bottom + 14}" text-anchor="middle">{html.escape(label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def histogram(values: list[float], bins: int, lo: float, hi: float) -> tuple[list[str], list[float]]:
    counts = [0] * bins
    span = (hi - lo) or 1.0
    for v in values:
        counts[min(bins - 1, max(0, int((v - lo) / span * bins)))] += 1
    step = span / bins
    return [f"{lo + i * step:.3g}" for i in range(bins)], [float(c) for c in counts]


def plots(rows: list[Row], summary: dict[str, Any]) -> dict[str, str]:
    kinds = list(summary["by_kind"])
    lat = [r.latency_ms for r in rows]
    hi = max(lat + [1.0])
    return {
        "exact_by_kind.svg": svg_bars("exact match by kind (%)", kinds, [100 * summary["by_kind"][k]["exact_match"] for k in kinds], "", 100),
        "edit_similarity.svg": svg_bars("edit similarity (completions per bin)", *histogram([r.similarity for r in rows], 10, 0.0, 1.0)),
        "latency.svg": svg_bars("latency ms (completions per bin)", *histogram(lat, 10, 0.0, hi * 1.0001)),
    }


def markdown(summary: dict[str, Any], meta: dict[str, Any], images: list[str]) -> str:
    out = [f"# fim-server eval: {meta['repo']}", "", f"{meta['samples']} holes, seed {meta['seed']}, provider {meta['provider']}, model {meta['model']}", ""]
    out += ["| kind | n | exact | edit sim | parseable | p50 ms | p95 ms | tokens in | tokens out | cost $ |", "|---|---|---|---|---|---|---|---|---|---|"]
    for name, g in list(summary["by_kind"].items()) + [("**all**", summary["all"])]:
        parse = "n/a" if g["parseable"] is None else f"{g['parseable']:.1%}"
        cost = "n/a" if g["cost_usd"] is None else f"{g['cost_usd']:.4f}"
        out.append(
            f"| {name} | {g['n']} | {g['exact_match']:.1%} | {g['edit_similarity']:.3f} | {parse} | {g['latency_p50_ms']:.1f} | "
            f"{g['latency_p95_ms']:.1f} | {g['prompt_tokens']} | {g['completion_tokens']} | {cost} |"
        )
    out.append("")
    out += [f"![{name}]({name})" for name in images]
    return "\n".join(out) + "\n"


def html_report(summary: dict[str, Any], meta: dict[str, Any], svgs: dict[str, str]) -> str:
    md = markdown(summary, meta, [])
    rows = [line for line in md.splitlines() if line.startswith("|") and not line.startswith("|---")]
    cells = lambda line, tag: "".join(f"<{tag}>{html.escape(c.strip().strip('*'))}</{tag}>" for c in line.strip("|").split("|"))  # noqa: E731
    table_html = "<table border=1 cellpadding=4><tr>" + cells(rows[0], "th") + "</tr>" + "".join(f"<tr>{cells(r, 'td')}</tr>" for r in rows[1:]) + "</table>"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>fim-server eval</title></head><body>"
        f"<h1>fim-server eval: {html.escape(meta['repo'])}</h1><p>{meta['samples']} holes, seed {meta['seed']}, "
        f"provider {html.escape(meta['provider'])}, model {html.escape(meta['model'])}</p>{table_html}"
        + "".join(f"<div>{svg}</div>" for svg in svgs.values())
        + "</body></html>\n"
    )


def write_reports(
    out_dir: Path, rows: list[Row], summary: dict[str, Any], meta: dict[str, Any], secrets: list[str] = ()
) -> list[Path]:
    """The report files, with ``secrets`` and anything shaped like a key masked."""
    out_dir.mkdir(parents=True, exist_ok=True)
    svgs = plots(rows, summary)
    written = []

    def write(name: str, text: str) -> None:
        (out_dir / name).write_text(redact(text, secrets), encoding="utf-8")

    for name, svg in svgs.items():
        write(name, svg)
        written.append(out_dir / name)
    write("eval.json", json.dumps({"meta": meta, "summary": summary, "rows": [asdict(r) for r in rows]}, indent=1, ensure_ascii=False))
    write("report.md", markdown(summary, meta, list(svgs)))
    write("report.html", html_report(summary, meta, svgs))
    return written + [out_dir / "eval.json", out_dir / "report.md", out_dir / "report.html"]
