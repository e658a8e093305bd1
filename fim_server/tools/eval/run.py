"""``fim-server eval REPO``: hole-punching evaluation over a real repository.

Seeded sampling of cursor positions (line ends, mid-line, block starts, multi-line
bodies; ``holes.py``), the removed span as ground truth, the full engine pipeline
(prompt, provider, cache off, cleaning) against the configured provider, or with
``--fake`` against an oracle that answers the ground truth with injected faults.
Reports exact match, edit similarity, the share of completions that keep the file
parseable, latency, tokens and cost (rendered by ``report.py``: a terminal table,
JSON, and a Markdown and an HTML report with SVG plots).
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, replace
import json
import os
from pathlib import Path
import random
import sys
import time
from typing import Callable, TextIO

from fim_server.settings import Settings
from fim_server.core.context import NoContext, cursor_context
from fim_server.core.documents import Document
from fim_server.core.workspace import Workspace
from fim_server.core.engine import CompletionEngine, Trigger
from fim_server.core.privacy import exclusion_reason
from fim_server.core.prompt import build_request
from fim_server.redaction import known_secrets
from fim_server.tools.eval import report
from fim_server.tools.eval.holes import FAULTS, KINDS, Hole, applicable, applied, edit_similarity, inject, sample
from fim_server.core.language import EXTENSIONS
from fim_server.core.postprocess.syntax import SyntaxChecker
from fim_server.providers.base import Completion, FimRequest, Streamed, Usage

LANGUAGES = EXTENSIONS  # file extension -> languageId (core/language)
SKIP_DIRS = {".git", "node_modules", ".venv", "venv", "__pycache__", "build", "dist", ".tox", "target", ".mypy_cache"}
MAX_FILE_BYTES = 300_000


@dataclass
class Row:
    path: str
    kind: str
    line: int
    truth: str
    completion: str
    replace_after: int
    exact: bool
    similarity: float
    parseable: bool | None
    latency_ms: float
    prompt_tokens: int
    completion_tokens: int
    cache_hit_tokens: int
    fault: str | None = None
    error: str | None = None


def repository_files(root: Path, extensions: set[str]) -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.suffix in extensions:
                try:
                    if 0 < path.stat().st_size <= MAX_FILE_BYTES:
                        out.append(path)
                except OSError:
                    pass
    return out


class OracleProvider:
    """The fake for ``--fake``: answers each hole's ground truth, with a fault of
    ``holes.FAULTS`` injected into a share of the answers (what a model gets wrong)."""

    name = "oracle"

    def __init__(self, fault_rate: float, rng: random.Random) -> None:
        self.fault_rate = fault_rate
        self._rng = rng
        self._holes: dict[tuple[str, str], tuple[Hole, str]] = {}
        self.faults: dict[tuple[str, str], str] = {}

    def expect(self, request_key: tuple[str, str], hole: Hole, source: str) -> None:
        self._holes[request_key] = (hole, source)

    async def complete(self, request: FimRequest, timeout_s: float, progress: Streamed | None = None) -> Completion:
        key = (request.prompt, request.suffix)
        hole, source = self._holes[key]
        text = hole.truth
        if self._rng.random() < self.fault_rate:
            faults = [f for f in FAULTS if applicable(f, hole, source)]
            if faults:
                fault = self._rng.choice(faults)
                self.faults[key] = fault
                text = inject(fault, hole, source, self._rng)
        usage = Usage(prompt_tokens=(len(request.prompt) + len(request.suffix)) // 4, completion_tokens=max(1, len(text) // 4))
        usage.cache_miss_tokens = usage.prompt_tokens
        return Completion(text, "stop", usage)


class ProviderStopped(Exception):
    def __init__(self, message: str, rows: list[Row]) -> None:
        super().__init__(message)
        self.rows = rows


class Progress:
    def __init__(self, total: int, stream: TextIO, enabled: bool) -> None:
        self.total, self.stream, self.enabled = total, stream, enabled
        self.started = time.perf_counter()

    def update(self, done: int, exact: int) -> None:
        if not self.enabled:
            return
        width = 30
        filled = int(width * done / max(1, self.total))
        rate = (time.perf_counter() - self.started) / max(1, done)
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} exact {exact / max(1, done):.0%} "
            f"{rate:.2f} s/hole eta {rate * (self.total - done):.0f} s "
        )
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


async def evaluate(
    repo: Path,
    settings: Settings,
    *,
    samples: int,
    seed: int,
    kinds: tuple[str, ...] = KINDS,
    fake: bool = False,
    fault_rate: float = 0.3,
    progress: Progress | None = None,
    provider_factory: Callable | None = None,
    workspace: Workspace | None = None,
) -> list[Row]:
    """Complete ``samples`` holes; ``workspace`` holds the files open besides each
    hole's (``--open``), whose code may be sent as workspace context."""
    rng = random.Random(seed)
    workspace = workspace or Workspace()
    # Files the server would never send are never read either (also through a
    # symlink with an innocent name: privacy resolves file: URIs).
    files = [
        path
        for path in repository_files(repo, set(LANGUAGES))
        if exclusion_reason(path.absolute().as_uri(), LANGUAGES[path.suffix], settings) is None
    ]
    if not files:
        raise ValueError(f"no source files ({', '.join(sorted(LANGUAGES))}) under {repo}")
    settings = replace(settings, cache_size=0, debounce_ms=0)
    oracle = OracleProvider(fault_rate, random.Random(seed + 1)) if fake else None
    factory = provider_factory or ((lambda s, c: oracle) if oracle else None)
    engine = CompletionEngine(settings, **({"provider_factory": factory} if factory else {}))
    engine.connect(on_status=lambda state, reason: None, with_snippets=workspace.snippet_hook(engine))
    checker = SyntaxChecker()
    rows: list[Row] = []
    attempts = 0
    try:
        while len(rows) < samples and attempts < samples * 20:
            attempts += 1
            path = rng.choice(files)
            kind = kinds[len(rows) % len(kinds)]
            try:
                source = path.read_text(encoding="utf-8").replace("\r\n", "\n")
            except (UnicodeDecodeError, OSError):
                continue
            found = sample(str(path), source, rng, 1, (kind,), language=LANGUAGES[path.suffix])
            if not found:
                continue
            hole = found[0]
            language = LANGUAGES[path.suffix]
            uri = path.resolve().as_uri()
            opened = workspace.documents.get(uri)  # an --open file: its text comes back after the hole
            kept = None if opened is None else opened.source
            doc = open_hole(workspace, uri, hole.document(source), language)
            try:
                ctx = cursor_context(doc, hole.line, hole.column, settings)
            except NoContext:
                restore(workspace, uri, kept, language)
                continue  # a file the server would not complete in (binary, minified)
            if oracle is not None:
                sent = build_request(ctx, settings)  # as the provider sees it: secret-looking parts masked
                oracle.expect((sent.prompt, sent.suffix), hole, source)
            wait = engine.health.retry_at - time.monotonic()
            if wait > 0:  # backing off after a 429/503: wait instead of counting empty answers
                await asyncio.sleep(min(wait, 60.0))
            before = asdict(engine.usage)
            errors_before = engine.stats.get("errors_fatal", 0) + engine.stats.get("errors_transient", 0) + engine.stats.get("errors_other", 0)
            started = time.perf_counter()
            try:
                suggestions = await engine.complete(ctx, Trigger.INVOKED)
            finally:
                restore(workspace, uri, kept, language)
            latency = (time.perf_counter() - started) * 1000
            after = asdict(engine.usage)
            errors_after = engine.stats.get("errors_fatal", 0) + engine.stats.get("errors_transient", 0) + engine.stats.get("errors_other", 0)
            text = suggestions[0].text if suggestions else ""
            replace_after = suggestions[0].replace_after if suggestions else 0
            result = applied(source, hole, text, replace_after)
            rest = hole.document(source)[hole.offset : hole.offset + replace_after]
            parseable = None
            if checker.supports(language):
                parseable = checker.errors(language, result) <= checker.errors(language, source)
            rows.append(
                Row(
                    path=str(path.relative_to(repo)), kind=kind, line=hole.line + 1, truth=hole.truth, completion=text,
                    replace_after=replace_after, exact=result == source,
                    similarity=edit_similarity(text, hole.truth + rest),
                    parseable=parseable, latency_ms=latency,
                    prompt_tokens=after["prompt_tokens"] - before["prompt_tokens"],
                    completion_tokens=after["completion_tokens"] - before["completion_tokens"],
                    cache_hit_tokens=after["cache_hit_tokens"] - before["cache_hit_tokens"],
                    fault=oracle.faults.get((ctx.prefix, ctx.suffix)) if oracle else None,
                    error="provider error" if errors_after > errors_before else None,
                )
            )
            if progress:
                progress.update(len(rows), sum(r.exact for r in rows))
            if getattr(engine.health, "blocked_by", None):
                # a rejected key, an empty balance, an unknown model: no point going on
                raise ProviderStopped(engine.health.blocked_by, rows)
    finally:
        await engine.aclose()
        if progress:
            progress.close()
    return rows


def open_hole(workspace: Workspace, uri: str, text: str, language: str) -> Document:
    """The hole's file open with ``text`` (the answer cut out). As in an editor, the
    repository index, if any, holds that text for the file until it is closed: the
    answer's own uses of a name never rank it."""
    doc = workspace.open(uri, text, None, language)
    if workspace.indexer is not None:
        workspace.document_changed(uri, language, text)
        workspace.indexer.drain()
    return doc


def restore(workspace: Workspace, uri: str, kept: str | None, language: str) -> None:
    """After a hole: its file closed again (the index holds its disk text again), or
    back to its text if it was open."""
    if kept is None:
        workspace.close(uri)
        workspace.document_closed(uri)
    else:
        workspace.open(uri, kept, None, language)
        workspace.document_changed(uri, language, kept)
    if workspace.indexer is not None:
        workspace.indexer.drain()


def run(args, settings: Settings, workspace: Workspace | None = None) -> int:
    repo = Path(args.repo)
    if not repo.is_dir():
        print(f"error: {repo} is not a directory", file=sys.stderr)
        return 2
    kinds = tuple(args.kinds.split(",")) if args.kinds else KINDS
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        print(f"error: unknown kinds {', '.join(bad)}; known: {', '.join(KINDS)}", file=sys.stderr)
        return 2
    if not args.fake and not settings.resolved_api_key():
        print(f"error: no API key for the configured provider ({settings.key_hint()}, or use --fake)", file=sys.stderr)
        return 2
    prices = None
    if args.price is not None:
        try:
            miss, hit, out = (float(x) for x in args.price.split(","))
        except ValueError:
            print("error: --price needs INPUT_MISS,INPUT_HIT,OUTPUT in USD per million tokens", file=sys.stderr)
            return 2
        prices = {"input_miss": miss, "input_hit": hit, "output": out}
    progress = Progress(args.samples, sys.stderr, not args.no_progress)
    stopped = False
    try:
        rows = asyncio.run(
            evaluate(
                repo, settings, samples=args.samples, seed=args.seed, kinds=kinds, fake=args.fake,
                fault_rate=args.fault_rate, progress=progress, workspace=workspace,
            )
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ProviderStopped as exc:
        print(f"error: the provider refused: {exc}", file=sys.stderr)
        if not exc.rows:
            return 1
        rows = exc.rows
        stopped = True
    summary = report.summarize(rows, prices)
    meta = {
        "repo": str(repo), "samples": len(rows), "seed": args.seed, "kinds": list(kinds),
        "provider": "oracle (fake, fault rate %.2f)" % args.fault_rate if args.fake else settings.provider,
        "model": "ground truth" if args.fake else settings.model, "prices_usd_per_million": prices,
    }
    if args.json:
        print(json.dumps({"meta": meta, "summary": summary}, indent=1, ensure_ascii=False))
    else:
        print(report.table(summary))
    if args.out:
        for path in report.write_reports(Path(args.out), rows, summary, meta, known_secrets(settings)):
            print(f"wrote {path}", file=sys.stderr)
    return 0 if rows and not stopped else 1
