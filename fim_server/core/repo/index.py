"""The repository index: per file its text, definitions, imports and lexical
windows, plus the lookups the selection needs (definitions by name, files by path,
by stem and by folder). Kept in memory only.

``Indexer`` fills it on one worker thread: first the changes it was told about
(an editor's save, a watched-file event, a folder added or removed), then the walk
of the workspace folders, file by file, giving up the GIL between steps so the
event loop keeps answering. Readers take ``lock`` for the few milliseconds of a
choice; the worker takes it only to put one finished file in.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
import logging
import os
import posixpath
import queue
import sys
import threading
import time
from typing import Any, Callable

from fim_server.core.repo import definitions as defs, kept
from fim_server.core.repo.imports import Import, imports_of, module_stems
from fim_server.core.repo.lexical import WINDOW_LINES, Lexical
from fim_server.core.repo.parse_child import ChildParser, definitions_of
from fim_server.core.repo.qualified import count_in, qualified_uses
from fim_server.core.repo.receivers import receiver_calls
from fim_server.core.repo.relevance import last_word
from fim_server.core.repo.walker import Ignores, admissible, read_text, release_freed_memory, walk

log = logging.getLogger(__name__)

DEFAULT_MAX_FILES = 10_000
MEMO_KEPT = 20_000
_MISSING = object()
HOLD_S = 0.03  # after a request, the worker waits this long before its next file
CHILD_IDLE_S = 10.0  # the child that parses large files ends after this long without work
SWITCH_INTERVAL_S = 0.001  # while indexing: how soon a thread waiting for the GIL gets it (Python's default: 5 ms)


@dataclass
class FileEntry:
    path: str
    language: str
    text: str
    definitions: list[defs.Definition]
    imports: list[Import]
    file_id: int = 0
    stamp: tuple[float, int] = (0.0, 0)  # (mtime, size) of the disk file it was read from
    from_editor: bool = False  # the live text of an open document (wins over the disk)
    window_starts: array = field(default_factory=lambda: array("I"), repr=False)  # offset of every WINDOW_LINES-th line

    def rendered(self, i: int) -> tuple[str, int]:
        """The text of definition ``i`` and the length of its head (``definitions.render``)."""
        return kept.rendered(self, i)

    def window_text(self, start_line: int) -> str:
        """The lexical window that starts at ``start_line`` (a multiple of WINDOW_LINES)."""
        i = start_line // WINDOW_LINES
        begin = self.window_starts[i] if i < len(self.window_starts) else len(self.text)
        end = self.window_starts[i + 1] - 1 if i + 1 < len(self.window_starts) else len(self.text)
        return self.text[begin:end]


def build_entry(path: str, language: str, text: str, parsers: dict[str, Any],
                pause: Callable[[], None] = lambda: None, child: ChildParser | None = None) -> FileEntry:
    """Everything the index keeps of one file (no lock needed: a new object); a
    large file's definitions come from ``child`` when given (``parse_child``)."""
    found = definitions_of(language, text, parsers, pause, child, path)
    return FileEntry(path, language, text, found, imports_of(language, text))


class RepoIndex:
    def __init__(self, roots: list[str] = ()) -> None:
        self.lock = threading.RLock()
        self.roots: list[str] = [_norm(r) for r in roots]
        self.files: dict[str, FileEntry] = {}
        self.by_id: dict[int, FileEntry] = {}
        # name -> its definitions, packed (file id << 20 | index; a tuple of them for
        # more than one): a few bytes instead of a list of tuples per name
        self.names: dict[str, int | tuple[int, ...]] = {}
        # last word of a class's or interface's name ("AbstractEventLoop" -> "loop") -> packed definitions
        self.class_words: dict[str, set[int]] = {}
        self.lexical = Lexical()
        self.qualified: dict[str, Any] = {}  # module key -> Counter of member name -> ``owner.name`` uses (qualified.py)
        self.receivers: dict[str, Any] = {}  # receiver word -> Counter of member name -> ``owner.name(`` calls (receivers.py)
        self._stems: dict[str, set[str]] = {}
        self._folders: dict[str, set[str]] = {}
        self._go: dict[str, str | None] = {}
        self._next_id = 1
        self.generation = 0  # bumped by every change: choices made before are stale
        self._memo: dict[tuple, Any] = {}
        self._memo_generation = 0
        self.removals = 0  # bumped when a file leaves or changes: choices made before must go at once

    # -- changes (the worker thread, or a test) -----------------------------------------------
    def put(self, entry: FileEntry) -> None:
        lines = entry.text.split("\n")
        offsets = array("I")
        offset = 0
        for i, line in enumerate(lines):
            if i % WINDOW_LINES == 0:
                offsets.append(offset)
            offset += len(line) + 1
        entry.window_starts = offsets
        with self.lock:
            self._drop(entry.path)
            entry.file_id = self._next_id
            self._next_id += 1
            self.files[entry.path] = entry
            self.by_id[entry.file_id] = entry
            names = self.names
            for i, d in enumerate(entry.definitions):
                code = entry.file_id << 20 | i
                found = names.get(d.name)
                names[d.name] = code if found is None else (found, code) if isinstance(found, int) else found + (code,)
                if d.kind in ("class", "interface"):
                    self.class_words.setdefault(last_word(d.name), set()).add(code)
            for stem in module_stems(entry.path):
                self._stems.setdefault(stem, set()).add(entry.path)
            self._folders.setdefault(posixpath.dirname(entry.path), set()).add(entry.path)
            self.lexical.add(entry.file_id, lines)
            count_in(self.qualified, qualified_uses(entry.text, entry.imports), 1)  # a few str.find
            count_in(self.receivers, receiver_calls(entry.text), 1)
            self.generation += 1

    def remove(self, path: str) -> bool:
        with self.lock:
            found = self._drop(_norm(path))
            if found:
                self.generation += 1
            return found

    def remove_under(self, folder: str) -> int:
        folder = _norm(folder).rstrip("/") + "/"
        with self.lock:
            gone = [p for p in self.files if p.startswith(folder)]
            for p in gone:
                self._drop(p)
            self.generation += 1
            return len(gone)

    def _drop(self, path: str) -> bool:
        entry = self.files.pop(path, None)
        if entry is None:
            return False
        self.removals += 1
        self.by_id.pop(entry.file_id, None)
        for i, d in enumerate(entry.definitions):
            if d.kind in ("class", "interface"):
                self.class_words.get(last_word(d.name), set()).discard(entry.file_id << 20 | i)
            found = self.names.get(d.name)
            if found is None:
                continue
            kept = tuple(c for c in ((found,) if isinstance(found, int) else found) if c >> 20 != entry.file_id)
            if not kept:
                del self.names[d.name]
            else:
                self.names[d.name] = kept[0] if len(kept) == 1 else kept
        for stem in module_stems(path):
            self._stems.get(stem, set()).discard(path)
        self._folders.get(posixpath.dirname(path), set()).discard(path)
        self.lexical.remove(entry.file_id)
        count_in(self.qualified, qualified_uses(entry.text, entry.imports), -1)
        count_in(self.receivers, receiver_calls(entry.text), -1)
        return True

    def memo(self, key: tuple, compute: Callable[[], Any]) -> Any:
        """``compute()``, kept under ``key`` until the index changes (lookups the
        chooser makes again and again: resolved imports, a name's classes). The
        caller takes ``lock`` and never changes what it gets."""
        if self._memo_generation != self.generation:
            self._memo.clear()
            self._memo_generation = self.generation
        found = self._memo.get(key, _MISSING)
        if found is _MISSING:
            if len(self._memo) >= MEMO_KEPT:
                self._memo.clear()
            found = self._memo[key] = compute()
        return found

    def classes_ending(self, word: str) -> list[tuple[FileEntry, int]]:
        """The classes and interfaces whose name's last word is ``word`` (lower case)."""
        out = []
        for code in self.class_words.get(word, ()):
            entry = self.by_id.get(code >> 20)
            if entry is not None:
                out.append((entry, code & 0xFFFFF))
        return out

    def named(self, name: str) -> list[tuple[FileEntry, int]]:
        """The definitions of ``name``: (file, index in its definitions)."""
        found = self.names.get(name)
        if found is None:
            return []
        out = []
        for code in (found,) if isinstance(found, int) else found:
            entry = self.by_id.get(code >> 20)
            if entry is not None:
                out.append((entry, code & 0xFFFFF))
        return out

    # -- lookups (imports.Files) ---------------------------------------------------------------
    def exists(self, path: str) -> bool:
        return path in self.files

    def files_in(self, folder: str) -> list[str]:
        return sorted(self._folders.get(folder, ()))

    def with_stem(self, stem: str) -> list[str]:
        return sorted(self._stems.get(stem, ()))

    def go_module(self, root: str) -> str | None:
        if root not in self._go:
            module = None
            try:
                with open(os.path.join(root, "go.mod"), encoding="utf-8") as f:
                    for line in f.read(100_000).splitlines():
                        if line.startswith("module "):
                            module = line.split()[1].strip('"')
                            break
            except (OSError, IndexError):
                pass
            self._go[root] = module
        return self._go[root]

    def reexports(self, path: str) -> list[Import]:
        entry = self.files.get(path)
        if entry is None:
            return []
        return [imp for imp in entry.imports if imp.reexport]

    def __len__(self) -> int:
        return len(self.files)


def _norm(path: str) -> str:
    return os.path.abspath(path).replace(os.sep, "/")


class Indexer:
    """The one worker thread that changes a ``RepoIndex``."""

    def __init__(self, index: RepoIndex, may_read: Callable[[str, str], bool], max_files: int = DEFAULT_MAX_FILES,
                 may_enter: Callable[[str], bool] = lambda folder: True) -> None:
        self.index = index
        self.may_read, self.may_enter = may_read, may_enter  # a file, a folder (walker.walk)
        self.max_files = max_files
        self.ignores = Ignores()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._parsers: dict[str, Any] = {}
        self.child = ChildParser()  # parses the large files (started when one comes, ended when idle)
        self.walked = threading.Event()  # set when the walk of every folder has finished
        self.seconds = 0.0
        self.read = 0  # files read from disk (tests and benchmarks look)
        self._hold_until = 0.0
        self._walking = 0
        self._marks: list[threading.Event] = []

    def hold(self) -> None:
        """A request is being answered: the worker starts no file for HOLD_S (it
        finishes the one it is in, a few milliseconds at most)."""
        self._hold_until = time.monotonic() + HOLD_S

    def _yield_to_requests(self) -> None:
        """Wait while a request is being answered (called between files and
        between the steps of one)."""
        while self._hold_until > time.monotonic() and not self._stop.is_set():
            time.sleep(max(0.001, self._hold_until - time.monotonic()))

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="fim-repo-index", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._queue.put(None)

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    # what the event loop tells it (cheap: a queue put)
    def changed(self, path: str) -> None:
        self._queue.put(("disk", _norm(path), None, None))

    def edited(self, path: str, language: str, text: str) -> None:
        self._queue.put(("editor", _norm(path), language, text))

    def closed(self, path: str) -> None:
        self._queue.put(("closed", _norm(path), None, None))

    def deleted(self, path: str) -> None:
        self._queue.put(("deleted", _norm(path), None, None))

    def folders(self, added: list[str], removed: list[str]) -> None:
        self._queue.put(("folders", added, removed, None))

    def drain(self) -> None:
        """Wait until everything queued so far is done (tests, ``eval``); with no
        worker thread (``run_now``), do it on this one."""
        if self._thread is None:
            return self._work_queue(block=False)
        done = threading.Event()
        self._queue.put(("mark", done, None, None))
        done.wait(60)

    def run_now(self) -> None:
        """Index the folders on this thread (``fim-server eval``, benchmarks)."""
        try:
            self._walk()
        finally:
            self.child.close()

    # -- the worker ------------------------------------------------------------------------
    def _run(self) -> None:
        previous = sys.getswitchinterval()
        sys.setswitchinterval(min(previous, SWITCH_INTERVAL_S))
        try:
            self._work_queue(block=False)
            self._walk()
            sys.setswitchinterval(previous)
            while not self._stop.is_set():
                self._work_queue(block=True)
        except Exception:  # the index is a help; its failure never takes the server down
            log.exception("the repository index stopped")
        finally:
            sys.setswitchinterval(previous)
            self.child.close()

    def _work_queue(self, block: bool) -> None:
        while not self._stop.is_set():
            try:
                item = self._queue.get(block=block, timeout=(CHILD_IDLE_S if self.child.running else None) if block else 0)
            except queue.Empty:
                if not block:
                    return
                self.child.close()  # idle a while: its memory goes back
                continue
            if item is None:
                return
            self._yield_to_requests()
            self._handle(*item)
            block = False

    def _handle(self, what: str, a: Any, b: Any, c: Any) -> None:
        index = self.index
        if what == "mark":
            if self._walking:
                self._marks.append(a)  # set when the walk under way is done
            else:
                a.set()
        elif what == "deleted":
            index.remove(a)
            index.remove_under(a)  # a folder deleted
        elif what == "editor":
            if self.may_read(a, b) and admissible(a, index.roots, lambda p, lang: True, self.ignores, self.may_enter):
                self._put(self._build(a, b, c), (0.0, 0), True)
        elif what in ("disk", "closed"):
            current = index.files.get(a)
            if what == "disk" and current is not None and current.from_editor:
                return  # an open document: its live text wins over the disk
            self._from_disk(a, admissible(a, index.roots, self.may_read, self.ignores, self.may_enter))
        elif what == "folders":
            for folder in b:
                index.remove_under(folder)
            with index.lock:
                index.roots = [r for r in index.roots if r not in {_norm(f) for f in b}] + [_norm(f) for f in a]
            self._walk([_norm(f) for f in a])

    def _build(self, path: str, language: str, text: str) -> FileEntry:
        return build_entry(path, language, text, self._parsers, self._yield_to_requests, self.child)

    def _from_disk(self, path: str, language: str | None) -> None:
        if language is None:
            self.index.remove(path)
            return
        try:
            info = os.stat(path)
        except OSError:
            self.index.remove(path)
            return
        stamp = (info.st_mtime, info.st_size)
        current = self.index.files.get(path)
        if current is not None and current.stamp == stamp and not current.from_editor:
            return
        text = read_text(path)
        self.read += 1
        if text is None:
            self.index.remove(path)
            return
        self._put(self._build(path, language, text), stamp, False)

    def _put(self, entry: FileEntry, stamp: tuple[float, int], from_editor: bool) -> None:
        if not from_editor and len(self.index) >= self.max_files and entry.path not in self.index.files:
            return
        entry.stamp, entry.from_editor = stamp, from_editor
        self.index.put(entry)

    def _walk(self, roots: list[str] | None = None) -> None:
        self._walking += 1
        try:
            self._walk_files(roots)
        finally:
            self._walking -= 1
            if not self._walking:
                for mark in self._marks:
                    mark.set()
                self._marks.clear()

    def _walk_files(self, roots: list[str] | None) -> None:
        started = time.perf_counter()
        roots = roots if roots is not None else list(self.index.roots)
        for path, language, size, mtime in walk(roots, self.may_read, self.max_files, self.ignores, self.may_enter):
            if self._stop.is_set():
                return
            self._work_queue(block=False)  # what the editor says comes first
            path = _norm(path)
            current = self.index.files.get(path)
            if current is not None and (current.from_editor or current.stamp == (mtime, size)):
                continue
            if len(self.index) >= self.max_files:
                break
            self._yield_to_requests()
            text = read_text(path)
            self.read += 1
            if text is not None:
                self._put(self._build(path, language, text), (mtime, size), False)
        self.seconds += time.perf_counter() - started
        release_freed_memory()
        self.walked.set()
