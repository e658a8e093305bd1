"""``fim-server replay TRACE...`` and ``fim-server trace FILE`` (argument parsing and output)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
import sys

from fim_server.redaction import known_secrets, redact
from fim_server.settings import Settings, describe


def add_commands(commands, add_settings_arguments) -> None:
    replay = commands.add_parser(
        "replay",
        help="replay typing traces into the server over stdio and report requests, latency and cost",
        description="Drive the real server over stdio as an editor would, with the keystrokes of each TRACE "
        "(JSON Lines), against the fake DeepSeek (default) or the provider in the settings (--real).",
    )
    replay.add_argument("traces", nargs="+", metavar="TRACE", help="trace files (.jsonl); see bench/traces/README.md")
    add_settings_arguments(replay)
    replay.add_argument("--real", action="store_true", help="use the provider in the settings (costs money) instead of the fake")
    replay.add_argument("--latency-ms", type=float, default=300.0, help="the fake's latency before its answer (default 300)")
    replay.add_argument("--chunk-delay-ms", type=float, default=10.0, help="the fake's delay between stream pieces (default 10)")
    replay.add_argument(
        "--answers",
        default="continuation",
        help="the fake's answers: 'continuation' (the true rest of the line, or the next line) or 'fixed:TEXT'",
    )
    replay.add_argument("--speed", type=float, default=1.0, help="play the trace this many times faster (default 1)")
    replay.add_argument("--keystrokes", type=int, default=0, help="repeat each trace until this many keystrokes")
    replay.add_argument("--memory-every", type=int, default=1000, help="sample the server's memory every N keystrokes")
    replay.add_argument("--price-input-miss", type=float, default=0.28, help="USD per million prompt tokens not cached")
    replay.add_argument("--price-input-hit", type=float, default=0.028, help="USD per million prompt tokens served from cache")
    replay.add_argument("--price-output", type=float, default=0.42, help="USD per million completion tokens")
    replay.add_argument(
        "--requests",
        action="store_true",
        help="with --real against llama.cpp: print each request's prompt tokens evaluated and reused and its time split",
    )
    replay.add_argument("--workspace", metavar="DIR", help="a workspace folder the server indexes for repository context "
                        "(the index is built before the typing starts)")
    replay.add_argument("--json", metavar="FILE", help="write the report as JSON")
    replay.add_argument("--html", metavar="FILE", help="write the report as an HTML page with a plot")
    replay.add_argument("--quiet", action="store_true", help="no progress bar")

    trace = commands.add_parser(
        "trace",
        help="make a typing trace from a source file",
        description="Type top-level functions of FILE back, top to bottom, with a seeded model of human typing. "
        "The trace holds the file's text: its secret-looking parts (keys of known shapes and the keys in the "
        "environment, private key blocks, passwords in URLs, secret-named string values) are masked before it is "
        "made, as in a provider request, and the output is masked as all output is; a file the built-in privacy "
        "exclusions cover (.env, private keys, credential files, a link to one) is refused.",
    )
    trace.add_argument("file", metavar="FILE")
    trace.add_argument("-o", "--output", metavar="OUT", help="write the trace here (default: stdout)")
    trace.add_argument("--seed", type=int, default=1)
    trace.add_argument("--keys", type=int, default=600, help="about this many keystrokes (default 600)")
    trace.add_argument("--language", help="language id (default: from the file name)")
    trace.add_argument("--source", default="", help="where the file comes from and its licence (kept in the trace)")


def run_trace(args, usage_error) -> int:
    from types import SimpleNamespace

    from fim_server.core.language import language_for_path
    from fim_server.core.privacy import exclusion_reason
    from fim_server.tools.replay.generate import generate

    # the built-in exclusions and environment files (no settings here: no user globs, no disabled languages)
    builtin = SimpleNamespace(exclude_globs=(), disabled_languages=())
    language = args.language or language_for_path(Path(args.file))
    reason = exclusion_reason(Path(args.file).absolute().as_uri(), language, builtin)
    if reason is not None:
        raise usage_error(f"not tracing {args.file}: {reason}")
    secrets = known_secrets()  # the keys in the environment, as stdout masks them
    try:
        result = generate(args.file, seed=args.seed, max_keys=args.keys, language=args.language, source=args.source,
                          secrets=secrets)
    except (OSError, UnicodeDecodeError) as exc:
        raise usage_error(f"cannot read {args.file}: {exc}") from None
    except ValueError as exc:
        raise usage_error(str(exc)) from None
    text = result.dump()
    if args.output:  # masked as stdout is (cli.RedactingWriter)
        Path(args.output).write_text(redact(text, secrets), encoding="utf-8")
        print(f"{args.output}: {result.keystrokes} keystrokes, {result.duration_ms / 1000:.0f} s of typing", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def run_replay(args, load_settings, usage_error) -> int:
    from fim_server.tools.replay.driver import ReplayOptions, replay_all
    from fim_server.tools.replay.report import Prices, build_report, html_page, table
    from fim_server.tools.replay.trace import TraceError, load_trace

    if not (0 < args.speed < 1e6 and 0 <= args.latency_ms <= 600_000 and 0 <= args.chunk_delay_ms <= 600_000) or args.keystrokes < 0:
        raise usage_error(
            "--speed must be above 0 (and finite); --latency-ms and --chunk-delay-ms from 0 to 600000; --keystrokes >= 0"
        )
    if not (args.answers == "continuation" or args.answers.startswith("fixed:")):
        raise usage_error(f"--answers must be 'continuation' or 'fixed:TEXT', got {args.answers!r}")
    try:
        traces = [load_trace(path) for path in args.traces]
    except TraceError as exc:
        raise usage_error(str(exc)) from None
    settings, problems = load_settings(args)
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    wire = {k: v for k, v in describe(settings).items() if getattr(Settings(), _snake(k)) != getattr(settings, _snake(k))}
    if args.real:
        wire["apiKey"] = settings.api_key  # passed on unmasked to the server only
    options = ReplayOptions(
        settings=wire,
        fake=not args.real,
        latency_ms=args.latency_ms,
        answers=args.answers,
        chunk_delay_ms=args.chunk_delay_ms,
        speed=args.speed,
        keystrokes=args.keystrokes,
        memory_every=args.memory_every,
        tap_upstream=_tap_upstream(settings) if args.real else None,
        workspace=args.workspace,
    )
    results = asyncio.run(replay_all(traces, options, show_progress=not args.quiet))
    prices = Prices(args.price_input_miss, args.price_input_hit, args.price_output)
    shown_settings = {k: v for k, v in wire.items() if k != "apiKey"}
    report = build_report(
        results,
        prices,
        shown_settings,
        {
            "provider": "settings" if args.real else f"fake, {args.latency_ms:g} ms latency, {args.answers} answers",
            "speed": args.speed,
            "keystrokes": args.keystrokes or None,
        },
    )
    print(table(report))
    if args.requests:
        from fim_server.tools.replay.tap import request_lines

        for row in report["traces"]:
            if row.get("engine"):
                print(f"\n{row['trace']}: requests as the server saw them")
                print("\n".join(request_lines(row["engine"])))
    secrets = known_secrets(settings)  # report files: the key masked, as on stdout
    if args.json:
        Path(args.json).write_text(redact(json.dumps(report, indent=2) + "\n", secrets), encoding="utf-8")
    if args.html:
        Path(args.html).write_text(redact(html_page(report), secrets), encoding="utf-8")
    return 0


def _tap_upstream(settings: Settings) -> str | None:
    """The server whose own figures the replay reads: llama.cpp, or any server on
    this machine (the tap passes requests on as they are, without TLS settings)."""
    from urllib.parse import urlsplit

    url = settings.resolved_base_url()
    if settings.provider == "llamacpp" or urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1"):
        return url
    return None


def _snake(wire: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in wire)
