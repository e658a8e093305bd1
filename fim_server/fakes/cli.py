"""Command line of the fakes (benchmarks, manual checks, editor tests)::

    python -m fim_server.fakes [--provider deepseek|openai|ollama|llamacpp|codestral]
        [--port 0] [--text TEXT] [--latency-ms N] [--chunk-delay-ms N] [--keepalives N]
        [--api-key K]

prints ``listening http://127.0.0.1:PORT`` (the server's root; ``baseUrl`` is that
plus the dialect's prefix, e.g. ``/v1`` for openai and codestral) and serves until
SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from fim_server.fakes.codestral import FakeCodestral
from fim_server.fakes.deepseek import FakeDeepSeek
from fim_server.fakes.llamacpp import FakeLlamaCpp
from fim_server.fakes.ollama import FakeOllama
from fim_server.fakes.openai import FakeOpenAI
from fim_server.fakes.replies import DEFAULT_TEXT, Reply
from fim_server.fakes.server import FakeServer

#: The dialects by provider name (the names of ``fimServer.provider``).
DIALECTS: dict[str, type[FakeServer]] = {
    "deepseek": FakeDeepSeek,
    "openai": FakeOpenAI,
    "ollama": FakeOllama,
    "llamacpp": FakeLlamaCpp,
    "codestral": FakeCodestral,
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m fim_server.fakes", description="A fake FIM provider on 127.0.0.1.")
    p.add_argument("--provider", choices=sorted(DIALECTS), default="deepseek", help="API dialect (default deepseek)")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (default 0: pick a free one)")
    p.add_argument("--text", default=DEFAULT_TEXT, help=f"completion text (default {DEFAULT_TEXT!r})")
    p.add_argument("--latency-ms", type=float, default=0.0, help="delay before the response headers")
    p.add_argument("--chunk-delay-ms", type=float, default=0.0, help="delay between stream chunks")
    p.add_argument("--keepalives", type=int, default=0, help="keep-alive lines before each body")
    p.add_argument("--api-key", default=None, help="require this bearer token")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run a fake until SIGINT/SIGTERM; prints ``listening <url>`` first."""
    args = parser().parse_args(argv)
    default = Reply(
        text=args.text,
        delay_before_headers=args.latency_ms / 1000.0,
        chunk_delay=args.chunk_delay_ms / 1000.0,
        keepalives=args.keepalives,
    )
    fake = DIALECTS[args.provider](default=default, api_key=args.api_key, host=args.host, port=args.port)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    fake.start()
    try:
        print(f"listening {fake.url}", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
