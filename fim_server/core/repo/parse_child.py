"""Definitions of large files, found in a separate process so that tree-sitter
never holds this process's interpreter lock for long.

Tree-sitter's C code holds the GIL while it parses and while a query runs. For an
ordinary file that is a few milliseconds between the read callbacks of
``definitions.parse``, but a large file with a pathological shape (a generated
file, a million ``{``, a class with 50,000 one-line methods, a call with 240,000
arguments) keeps it for hundreds of milliseconds in one stretch (the end of a
parse, one query over one huge node, freeing the tree), and the event loop that
answers the editor waits all that time. So a file over ``IN_PROCESS_CHARS`` is
parsed by a child process: this process only sends the text down a pipe and reads
the definitions back (the GIL is free while it waits), in batches of ``BATCH``
so that no one unpickling is long either.

The child is the same interpreter started afresh (``subprocess``: never a fork of
this multi-threaded process), with the working folder left out of its module
path (a workspace's ``tree_sitter.py`` is not imported). It gets text over its
standard input and writes definitions to its standard output: nothing is written
to disk, and it reads no file of the workspace. A child that dies or takes over
``TIMEOUT_S`` on a file is killed: that file is indexed without definitions (its
imports and lexical windows are kept) and the next large file starts a new child.
If no child can be started at all, large files are parsed in this process as
before (with the stalls above).
"""

from __future__ import annotations

import logging
import os
import pickle
import struct
import subprocess
import sys
import threading
from typing import Any, Callable

from fim_server.core.repo import definitions as defs

log = logging.getLogger(__name__)

IN_PROCESS_CHARS = 32_000  # larger texts go to the child (see bench/bench_index_stall.py)
# Grammars whose GLR parse blows up on short ambiguous text (Java `a<a<a...`: 2,000
# characters stall 0.5 s, 32,000 took 68 s; C++ `A<A<A...`: 2,000 characters 0.3 s), and
# whose first query compiles slowly (C++: 110-290 ms): every file of theirs goes to the
# child, where the timeout bounds it, whatever its size.
ALWAYS_IN_CHILD = frozenset({"java", "cpp"})
BATCH = 1_000  # definitions per message back
TIMEOUT_S = 20.0  # for one file
_HEADER = struct.Struct("<Q")
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
MAX_FAILURES = 3  # children exiting by themselves in a row: something is wrong with them, not with the files
# the child's address space (Linux): ordinary and large generated files peak under
# 300 MiB there; tree-sitter's GLR blow-up on short ambiguous text (Java `a<a<a...`)
# reached 2.5 GiB in 3 s and 5.4 GiB in 18 s: under the limit it aborts in about 1.5 s
CHILD_MEMORY_BYTES = 1 << 30
# this package's folder first, the working folder not at all (a workspace's modules)
_CHILD_CODE = (
    "import os, sys; sys.path[:] = [{root!r}] + [p for p in sys.path if p not in ('', os.getcwd())]; "
    "from fim_server.core.repo.parse_child import serve; serve()"
)


class ChildFailed(Exception):
    """The child died, timed out or answered nonsense on one file."""


class ChildParser:
    """One child process, started on first use, used by one thread at a time (the
    index's worker); ``close`` ends it (any thread)."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self.unavailable = False  # no child could be started: parse here
        self.files = 0  # files parsed by a child (tests and benchmarks look)
        self.started = 0  # children started
        self._failures = 0  # in a row

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def extract(self, language_id: str, text: str) -> list[tuple] | None:
        """The definitions of ``text`` as tuples (``definitions.Definition``'s
        fields), None when no child can be started. ``ChildFailed`` when the child
        failed on this text (it is gone; the next call starts another)."""
        with self._lock:
            proc = self._ensure()
            if proc is None:
                return None
            expired = threading.Event()
            watchdog = threading.Timer(TIMEOUT_S, _expire, (proc, expired))  # a timeout that works on any pipe
            watchdog.daemon = True
            watchdog.start()
            try:
                payload = pickle.dumps((language_id, text.encode("utf-8")), protocol=pickle.HIGHEST_PROTOCOL)
                proc.stdin.write(_HEADER.pack(len(payload)) + payload)
                proc.stdin.flush()
                out: list[tuple] = []
                while True:
                    message = pickle.loads(_read_message(proc.stdout, expired))
                    if message is None:
                        break
                    if isinstance(message, str):  # the child's error on this text
                        raise ChildFailed(message)
                    out += message
            except (ChildFailed, OSError, ValueError, EOFError, pickle.UnpicklingError) as exc:
                watchdog.cancel()
                try:  # how it ended (an error on the pipe can come just before its exit)
                    status = proc.wait(1)
                except subprocess.TimeoutExpired:
                    status = None
                self._kill()
                # a child that exits by itself (an import error: a broken installation) counts
                # towards giving up; one killed by the timeout or a signal (tree-sitter out of
                # its memory limit aborts) failed on that text, and the next text gets another
                self._failures += 1 if status is not None and status >= 0 and not expired.is_set() else 0
                if self._failures >= MAX_FAILURES:
                    log.warning("the child process for large files failed %s times in a row: they are parsed in the "
                                "server from now on", self._failures)
                    self.unavailable = True
                if isinstance(exc, ChildFailed):
                    raise
                raise ChildFailed(f"no answer in {TIMEOUT_S:.0f} s" if expired.is_set()
                                  else f"{type(exc).__name__}: {exc}") from exc
            watchdog.cancel()
            self._failures = 0
            self.files += 1
            return out

    def close(self) -> None:
        """End the child (it exits at the end of its input)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.kill()
            proc.wait()
            for pipe in (proc.stdin, proc.stdout):
                try:
                    pipe.close()
                except OSError:
                    pass

    def _ensure(self) -> subprocess.Popen | None:
        if self.running:
            return self._proc
        self._kill()
        if self.unavailable:
            return None
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _CHILD_CODE.format(root=_PACKAGE_ROOT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, close_fds=True, env=child_environment(),
            )
        except OSError as exc:
            log.warning("no child process for large files (%s): they are parsed in the server", exc)
            self.unavailable = True
            return None
        self.started += 1
        return self._proc


# what Python needs to start, find its packages and its locale: no provider key nor
# any other variable of the user's environment goes to the child
_ENV_KEPT = frozenset({"PATH", "HOME", "USERPROFILE", "SYSTEMROOT", "SystemRoot", "WINDIR", "TEMP", "TMP", "TMPDIR",
                       "LANG", "LANGUAGE", "VIRTUAL_ENV", "LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH"})


def child_environment() -> dict[str, str]:
    """The environment the child starts with: ``_ENV_KEPT`` and the ``PYTHON*`` and
    ``LC_*`` variables, nothing else."""
    return {k: v for k, v in os.environ.items() if k in _ENV_KEPT or k.startswith(("PYTHON", "LC_"))}


def _expire(proc: subprocess.Popen, expired: threading.Event) -> None:
    expired.set()
    proc.kill()  # the blocked read ends


def _read_message(stream: Any, expired: threading.Event) -> bytes:
    """One message from the child (the GIL is free while the read waits)."""
    header = stream.read(_HEADER.size)
    data = stream.read(_HEADER.unpack(header)[0]) if len(header) == _HEADER.size else b""
    if len(header) < _HEADER.size or len(data) < _HEADER.unpack(header)[0]:
        raise ChildFailed(f"no answer in {TIMEOUT_S:.0f} s" if expired.is_set() else "the child exited")
    return data


def definitions_of(language_id: str, text: str, parsers: dict[str, Any], pause: Callable[[], None],
                   child: ChildParser | None, path: str = "") -> list[defs.Definition]:
    """``definitions.extract``, in the child for a text over ``IN_PROCESS_CHARS`` or
    in a language of ``ALWAYS_IN_CHILD``."""
    if child is None or language_id not in defs.QUERIES or (
            len(text) <= IN_PROCESS_CHARS and language_id not in ALWAYS_IN_CHILD):
        return defs.extract(language_id, text, parsers, pause)
    try:
        rows = child.extract(language_id, text)
    except ChildFailed as exc:
        log.info("indexed without definitions: %s (%s)", path or "a large file", exc)
        return []
    if rows is None:  # no child: here, as before
        return defs.extract(language_id, text, parsers, pause)
    out = []
    for i, row in enumerate(rows):
        if i % BATCH == 0:
            pause()
        out.append(defs.Definition(sys.intern(row[0]), *row[1:]))
    return out


# -- the child -------------------------------------------------------------------------------
def serve() -> None:
    """The child's loop: a text in, its definitions out, until the input ends."""
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write to the answers' pipe
    if sys.platform.startswith("linux"):
        import resource

        try:
            resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY_BYTES, CHILD_MEMORY_BYTES))
        except (ValueError, OSError):  # a lower hard limit already: it stays
            pass
    parsers: dict[str, Any] = {}

    def send(message: Any) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        sink.write(_HEADER.pack(len(data)) + data)

    while True:
        header = source.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return
        language_id, data = pickle.loads(source.read(_HEADER.unpack(header)[0]))
        try:
            found = defs.extract(language_id, data.decode("utf-8"), parsers)
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which skips this file
            send(f"{type(exc).__name__}: {exc}")
        else:
            rows = [tuple(d) for d in found]
            for start in range(0, len(rows), BATCH):
                send(rows[start : start + BATCH])
            send(None)
        sink.flush()
