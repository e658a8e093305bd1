"""Reading a file a user named on the command line, without trusting it: a FIFO
would block for ever and ``/dev/zero`` would fill memory. Only a regular file of at
most ``limit`` bytes is read; anything else is an ``OSError`` saying why, at once."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

MAX_INPUT_BYTES = 20_000_000  # past the server's 5,000,000-character document limit in any encoding


class FileRefused(OSError):
    """Not a regular file, or too large; ``strerror`` says which."""


def read_regular(path: str | Path, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes. Opened without
    blocking (a FIFO's open would wait for a writer), then checked on the open file
    (no race with a path swapped in between)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a FIFO" if stat.S_ISFIFO(info.st_mode) else "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise FileRefused(errno.EINVAL, f"it is {kind}", str(path))
        if info.st_size > limit:
            raise FileRefused(errno.EFBIG, f"{info.st_size:,} bytes is more than {limit:,}", str(path))
        with os.fdopen(fd, "rb") as handle:
            fd = -1
            data = handle.read(limit + 1)
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > limit:
        raise FileRefused(errno.EFBIG, f"more than {limit:,} bytes", str(path))
    return data
