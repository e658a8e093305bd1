"""The ``fim-server`` command: the language server (stdio or TCP) and headless tools."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from fim_server import __version__
from fim_server.settings import SECTION, Settings, parse_settings, set_items

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fim-server",
        description="Fill-in-the-middle inline completions over LSP. With no command: a language server on stdio.",
    )
    parser.add_argument("--version", action="version", version=f"fim-server {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    parser.add_argument("--log-file", metavar="PATH", help="also write the log to PATH")
    parser.add_argument("--tcp", action="store_true", help="listen on TCP (127.0.0.1) instead of stdio, for one client with a token (debugging)")
    parser.add_argument("--host", default="127.0.0.1", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=2087, help="TCP port with --tcp (default 2087)")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="serve LSP with answers from the built-in fake DeepSeek on 127.0.0.1 (no key, no network): "
        "to see ghost text in an editor before setting up a provider",
    )
    parser.add_argument("--demo-text", default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "--tcp-token",
        metavar="TOKEN",
        help="with --tcp: the token the client must send as initializationOptions.tcpToken "
        "(default: $FIM_SERVER_TCP_TOKEN, else a new one printed on stderr)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    complete = commands.add_parser(
        "complete",
        help="complete at PATH:LINE:COL (1-based) and print the completion",
        description="Run the same engine as the server once, at a position in a file, and print the completion.",
    )
    complete.add_argument("position", metavar="PATH:LINE[:COL]", help="1-based line and column; no column = end of line")
    add_settings_arguments(complete)
    add_open_argument(complete)
    complete.add_argument("--workspace", metavar="DIR", help="index DIR as the editor's workspace folder: definitions "
                          "from its files may be sent as repository context (repoContext and the exclusions apply)")
    complete.add_argument("--json", action="store_true", help="print the completion, usage and latency as JSON")
    complete.add_argument(
        "--demo",
        action="store_true",
        help="answer from the built-in fake DeepSeek on 127.0.0.1 instead of the real API (no key needed)",
    )
    complete.add_argument("--demo-text", default="a + b", help="the fake's answer with --demo (default: %(default)r)")
    complete.add_argument("-v", "--verbose", action="store_true", dest="verbose_sub", help="log debug details to stderr")

    doctor = commands.add_parser(
        "doctor",
        help="check settings, key, provider, model and one FIM request; exit 0 only when all work",
        description="Check a setup with the settings an editor would send: settings valid, API key present (masked), "
        "provider reachable, model available, one tiny FIM request with its latency and usage.",
    )
    add_settings_arguments(doctor)
    doctor.add_argument("--timeout", type=float, default=None, metavar="SECONDS", help="for each whole check (default: timeoutMs, at least 10 s)")
    doctor.add_argument("--json", action="store_true", help="print the checks, provider, model and address as JSON")
    add_eval_parser(commands)
    from fim_server.tools.replay.command import add_commands

    add_commands(commands, add_settings_arguments)
    return parser


def add_eval_parser(commands) -> None:
    ev = commands.add_parser(
        "eval",
        help="hole-punching evaluation over a repository",
        description="Punch holes in the files of REPO (seeded), complete them with the full pipeline and report "
        "exact match, edit similarity, parseable share, latency, tokens and cost.",
    )
    ev.add_argument("repo", metavar="REPO", help="a directory of source code")
    ev.add_argument("--samples", type=int, default=100, help="number of holes (default %(default)s)")
    ev.add_argument("--seed", type=int, default=0, help="sampling seed (default %(default)s)")
    ev.add_argument("--kinds", help="comma-separated: line_end,mid_line,block_start,multi_line (default all)")
    ev.add_argument("--fake", action="store_true", help="answer from an oracle that returns the ground truth with injected faults")
    ev.add_argument("--fault-rate", type=float, default=0.3, help="share of faulty oracle answers with --fake (default %(default)s)")
    ev.add_argument("--price", metavar="MISS,HIT,OUT", help="USD per million tokens: input cache miss, input cache hit, output")
    ev.add_argument("--json", action="store_true", help="print the summary as JSON instead of a table")
    ev.add_argument("--out", metavar="DIR", help="write eval.json, report.md, report.html and SVG plots to DIR")
    ev.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    ev.add_argument("--recall", action="store_true", help="no model: the share of holes whose answer uses a name "
                    "defined in another file and whose definition reached the prompt (open documents only, + imports, "
                    "+ identifiers near the cursor, + lexical similarity)")
    ev.add_argument("--with-model", action="store_true", help="with --recall: also complete holes with the provider "
                    "(or --fake) without and with the index and print exact match and edit similarity side by side")
    add_settings_arguments(ev)
    add_open_argument(ev)


def add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--settings", metavar="FILE", help=f"JSON file with the {SECTION} settings an editor would send ('-': read it from stdin)"
    )
    parser.add_argument(
        "--set",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        help="one setting (camelCase name; VALUE read as JSON when it parses, else as text); repeatable",
    )


MAX_SETTINGS_CHARS = 1 << 20


def add_open_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--open",
        metavar="FILE",
        action="append",
        default=[],
        help="a file the editor has open besides the one completed: its code may be sent as workspace context "
        "(workspaceContext, contextBudgetChars, excludeGlobs apply); repeatable",
    )


def open_workspace(paths: Sequence[str]):
    """A Workspace with the ``--open`` files in it (a bad file is a usage error)."""
    from fim_server.core.workspace import Workspace

    workspace = Workspace()
    for name in paths:
        path = Path(name)
        workspace.open(path.resolve().as_uri(), read_source(path), None, language_of(path))
    return workspace


def load_settings(args: argparse.Namespace) -> tuple[Settings, list[str]]:
    """Settings from a file, then --set values; problems in plain words."""
    from fim_server.tools.files import read_regular

    problems: list[str] = []
    settings = Settings()
    if args.settings:
        try:
            if args.settings == "-":
                text = sys.stdin.read(MAX_SETTINGS_CHARS + 1)
                if len(text) > MAX_SETTINGS_CHARS:
                    raise ValueError(f"more than {MAX_SETTINGS_CHARS:,} characters")
            else:
                text = read_regular(args.settings, MAX_SETTINGS_CHARS).decode("utf-8")
            raw = json.loads(text)
        except (OSError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
            if isinstance(exc, OSError) and exc.strerror:
                raise UsageError(f"cannot read settings file {args.settings}: {exc.strerror}") from None
            raise UsageError(f"cannot read settings file {args.settings}: {exc}") from None
        # where the client got each setting, when it says so (doctor shows it): {"baseUrl": "folder /repo"}
        inner = raw.get(SECTION) if isinstance(raw, dict) and isinstance(raw.get(SECTION), dict) else raw
        told = inner.pop("$sources", None) if isinstance(inner, dict) else None
        label = "stdin" if args.settings == "-" else f"settings file {args.settings}"
        args.origins = {name: label for name in inner} if isinstance(inner, dict) else {}
        args.told_origins = told
        settings, found = parse_settings(raw, settings)
        problems += found
    try:
        overrides = set_items(args.set)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if overrides:
        args.origins = {**getattr(args, "origins", {}), **{name: "--set" for name in overrides}}
        settings, found = parse_settings(overrides, settings)
        problems += found
    register_secret(settings.api_key)
    return settings, problems


class UsageError(Exception):
    pass


class RedactingWriter:
    """A text stream that masks secrets (``lsp.log.Redactor``: the known keys and
    anything shaped like a key) in everything written through it. The command line
    puts one in front of stdout and stderr for every command but the server, so
    no output path of a tool can print a key an upstream echoed."""

    def __init__(self, stream, redactor) -> None:
        self._stream = stream
        self.redactor = redactor

    def write(self, text: str) -> int:
        self._stream.write(self.redactor.redact(text))
        return len(text)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def protect_output() -> None:
    """stdout and stderr through one redactor that knows every key variable."""
    from fim_server.lsp.log import Redactor

    if isinstance(sys.stdout, RedactingWriter):
        return
    redactor = Redactor()  # knows every provider's key variable
    sys.stdout = RedactingWriter(sys.stdout, redactor)
    sys.stderr = RedactingWriter(sys.stderr, redactor)


def register_secret(secret: str | None) -> None:
    """A key read from settings, masked from now on in what the command prints."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, RedactingWriter):
            stream.redactor.add(secret)


def parse_position(spec: str) -> tuple[Path, int, int | None]:
    parts = spec.rsplit(":", 2)
    try:
        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            return Path(parts[0]), int(parts[1]), int(parts[2])
        parts = spec.rsplit(":", 1)
        if len(parts) == 2 and parts[1].isdigit():
            return Path(parts[0]), int(parts[1]), None
    except ValueError:
        pass
    raise UsageError(f"expected PATH:LINE:COL with 1-based numbers, got {spec!r}")


def read_source(path: Path) -> str:
    """A regular file's text; a FIFO, a device (``/dev/zero``), a folder or a file
    too large is a ``UsageError`` at once, never a hang or a read until memory runs
    out (``tools/files.py``)."""
    from fim_server.tools.files import read_regular

    try:
        return read_regular(path).decode("utf-8", errors="replace")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None


def language_of(path: Path) -> str:
    """The LSP language id for a file (so the syntax check and comment rules apply)."""
    from fim_server.tools.eval.run import LANGUAGES

    return LANGUAGES.get(path.suffix, path.suffix.lstrip("."))


def run_complete(args: argparse.Namespace) -> int:
    from fim_server.core.context import NoContext, cursor_context
    from fim_server.core.documents import line_content
    from fim_server.core.engine import CompletionEngine, Trigger

    path, line, col = parse_position(args.position)
    text = read_source(path)
    settings, problems = load_settings(args)
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    workspace = open_workspace(args.open)
    doc = workspace.open(path.resolve().as_uri(), text, None, language_of(path))
    if args.workspace:
        from fim_server.tools.folder import index_folder
        try:
            index_folder(workspace, args.workspace, settings)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if line < 1 or line > len(doc.lines):
        raise UsageError(f"line {line} is outside {path} (1 to {len(doc.lines)})")
    content = line_content(doc.lines[line - 1])
    if col is None:
        col = len(content) + 1
    if col < 1 or col > len(content) + 1:
        raise UsageError(f"column {col} is outside line {line} of {path} (1 to {len(content) + 1})")
    try:
        ctx = cursor_context(doc, line - 1, col - 1, settings)
    except NoContext as refusal:
        print(f"no completion: {path}: {refusal}", file=sys.stderr)
        return 1
    from fim_server.core.privacy import exclusion_reason, transport_warning

    reason = exclusion_reason(ctx.uri, ctx.language_id, settings)
    if reason is not None:
        print(f"not sent: {path} is never sent to the provider: {reason}", file=sys.stderr)
        return 1
    if transport_warning(settings.base_url) and not args.demo:
        print(f"warning: {transport_warning(settings.base_url)}", file=sys.stderr)
    notices: list[str] = []
    fake = None
    if args.demo:
        from fim_server.tools import demo

        fake = demo.start_fake(args.demo_text)
        settings = demo.pinned(settings, fake)
        print(f"demo: answering from the built-in fake DeepSeek at {fake.url}", file=sys.stderr)

    async def go():
        engine = CompletionEngine(settings, notify=lambda level, message: notices.append(message))
        engine.connect(on_status=lambda state, reason: None, with_snippets=workspace.snippet_hook(engine))
        try:
            started = time.perf_counter()
            suggestions = await engine.complete(ctx, Trigger.INVOKED)
            return suggestions, time.perf_counter() - started, engine.snapshot()
        finally:
            await engine.aclose()

    try:
        suggestions, elapsed, snapshot = asyncio.run(go())
    finally:
        if fake is not None:
            fake.stop()
    if notices:
        # the key fix in the command line's words: --set apiKey=..., not the editors' setting name
        print(f"error: {notices[0].replace('fimServer.apiKey', '--set apiKey=...')}", file=sys.stderr)
        return 1
    if args.json:
        print(
            json.dumps(
                {
                    "completion": suggestions[0].text if suggestions else None,
                    "latency_ms": round(elapsed * 1000, 1),
                    "usage": {k: snapshot.get(k, 0) for k in ("prompt_tokens", "completion_tokens", "cache_hit_tokens", "cache_miss_tokens")},
                },
                ensure_ascii=False,
            )
        )
        return 0 if suggestions else 1
    if not suggestions:
        print("no completion: the provider's answer was empty after cleaning", file=sys.stderr)
        return 1
    sys.stdout.write(suggestions[0].text + "\n")
    return 0


def run_doctor(args: argparse.Namespace) -> int:
    from fim_server.tools.doctor import diagnose, report

    if args.timeout is not None and not (0 < args.timeout < 3600):
        raise UsageError(f"--timeout must be a number of seconds above 0 and below 3600, got {args.timeout}")

    logging.getLogger("fim_server").addHandler(logging.NullHandler())
    settings, problems = load_settings(args)
    from fim_server.tools.doctor import origins_check

    checks = asyncio.run(diagnose(settings, problems, timeout_s=args.timeout))
    checks.insert(1, origins_check(getattr(args, "origins", {}), getattr(args, "told_origins", None)))
    text, code = report(settings, checks)
    if args.json:
        from fim_server.tools.doctor import as_json

        text = json.dumps(as_json(settings, checks), ensure_ascii=False)
    print(text)
    return code


def run_server(args: argparse.Namespace) -> int:
    from fim_server.lsp.log import configure
    from fim_server.lsp.server import attach_client_log, create_server

    fake = None
    if args.demo:
        from fim_server.tools import demo

        fake = demo.start_fake(args.demo_text or demo.SERVER_TEXT)
        server = create_server(demo.engine_factory(fake))
    else:
        server = create_server()
    configure(args.verbose, args.log_file, server.redactor)
    attach_client_log(server, args.verbose)
    if fake is not None:  # stderr: the editor's server log (no client to send it to yet)
        print(f"fim-server demo mode: every answer comes from the built-in fake DeepSeek at {fake.url}; "
              "no key is used and nothing leaves this machine", file=sys.stderr, flush=True)
    try:
        return run_tcp(server, args) if args.tcp else server.start_io()
    finally:
        if fake is not None:  # the demo's fake ends with the server (its port and thread)
            fake.stop()


def run_tcp(server, args: argparse.Namespace) -> int:
    """``--tcp``: one client, which proves itself with the token (``lsp/tcp.py``)."""
    from fim_server.lsp.tcp import TOKEN_ENV, TOKEN_OPTION, new_token, serve_tcp

    token = args.tcp_token or os.environ.get(TOKEN_ENV) or new_token()
    if len(token) < 16:
        raise UsageError(f"--tcp-token (or {TOKEN_ENV}) needs at least 16 characters")
    server.redactor.add(token)

    def announce(host: str, port: int) -> None:
        # straight to the real stderr: the token is a secret to every other output
        out = sys.__stderr__
        out.write(f"fim-server: listening on {host}:{port} for one LSP client; it must send "
                  f'initializationOptions {{"{TOKEN_OPTION}": "{token}"}} in its initialize request\n')
        out.flush()

    return serve_tcp(server, args.host, args.port, token, announce)


def main(argv: Sequence[str] | None = None) -> int:
    protect_output()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "complete":
            if args.verbose or args.verbose_sub:
                logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
            else:  # the outcome is printed once below; no log lines on top of it
                logging.getLogger("fim_server").addHandler(logging.NullHandler())
            return run_complete(args)
        if args.command == "doctor":
            return run_doctor(args)
        if args.command == "eval":
            from fim_server.tools.eval import run as evaluate

            logging.getLogger("fim_server").addHandler(logging.NullHandler())
            settings, problems = load_settings(args)
            for problem in problems:
                print(f"warning: {problem}", file=sys.stderr)
            if args.recall:
                from fim_server.tools.eval import recall

                return recall.run(args, settings)
            return evaluate.run(args, settings, open_workspace(args.open))
        if args.command in ("replay", "trace"):
            from fim_server.tools.replay import command

            logging.getLogger("fim_server").addHandler(logging.NullHandler())
            if args.command == "trace":
                return command.run_trace(args, UsageError)
            return command.run_replay(args, load_settings, UsageError)
        return run_server(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a crash: readable, and never with the API key in it
        from fim_server.lsp.log import Redactor, crash_report

        redactor = Redactor()  # knows every provider's key variable
        print(crash_report(exc, redactor), file=sys.stderr)
        return 1
