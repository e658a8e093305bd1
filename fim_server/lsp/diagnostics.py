"""Resource counters for the stats command, so the soak benchmark and tests can
see leaks: running asyncio tasks, open file descriptors, open HTTP connections."""

from __future__ import annotations

import asyncio
import os
from typing import Any


def open_fds() -> int:
    """File descriptors open in this process (-1 where /proc is missing)."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return -1


def http_connections(client: Any) -> int:
    """Connections in an httpx.AsyncClient's pool (-1 when it cannot be read)."""
    if client is None:
        return 0
    pool = getattr(getattr(client, "_transport", None), "_pool", None)
    connections = getattr(pool, "connections", None)
    return len(connections) if connections is not None else -1


def resource_counts(client: Any) -> dict[str, int]:
    try:
        tasks = len(asyncio.all_tasks())
    except RuntimeError:
        tasks = 0
    return {"asyncio_tasks": tasks, "open_fds": open_fds(), "http_connections": http_connections(client)}
