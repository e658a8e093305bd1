"""The benchmarks' stdio client: the replay's raw JSON-RPC client
(``fim_server/tools/replay/client.py``: frames, requests, responses, nothing a test
framework adds, so the time measured is the server's and the pipe's), with
``FIM_BENCH_PROFILE=FILE`` running the server under cProfile (FILE written at exit).
"""

from __future__ import annotations

import os

from fim_server.tools.replay.client import StdioClient as ReplayClient, rss_kib

__all__ = ["StdioClient", "rss_kib"]

PROFILE = ["-m", "cProfile", "-o", os.environ["FIM_BENCH_PROFILE"]] if os.environ.get("FIM_BENCH_PROFILE") else []


class StdioClient(ReplayClient):
    @classmethod
    async def start(cls, *args: str, env: dict | None = None) -> "StdioClient":  # type: ignore[override]
        return await super().start(args, env=env, python_args=PROFILE)
