"""What of the repository index goes in a prompt, in the order of evidence:

1. ``imports``: definitions of the names the current file imports and uses (the
   uses nearest the cursor first);
2. ``near``: definitions of identifiers near the cursor that the file does not
   define itself (``near.py``): what the cursor is about to name first (an
   exception class, the members of ``owner.``), then the other kinds of
   evidence in turns, a few of each at a time;
3. ``lexical``: BM25 windows of other files sharing rare words with the code
   around the cursor (``lexical.py``).

Definitions are grouped per file and the snippets come out ordered by path and
line, so the prompt's start stays put while the same ones win; while the user types
in one place (same region, nearly the same words, no index change) the last choice
is reused as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
import re
import time
from typing import Callable, Iterable

from fim_server.core.repo import kept
from fim_server.core.language import family
from fim_server.core.repo.imports import ALL, MODULE, Link, imports_of, resolve
from fim_server.core.repo.index import FileEntry, RepoIndex, last_word
from fim_server.core.repo.lexical import words as lexical_words
from fim_server.core.repo.members import voted_members
from fim_server.core.repo.near import near_stage
from fim_server.core.repo.offered import module_names
from fim_server.core.repo.suggested import owner_members, suggested_members
from fim_server.core.repo.relevance import NEAR_AFTER, NEAR_BEFORE, Words
from fim_server.core.repo.uses import Uses
from fim_server.core.repo.kept import file_uri, shown_path
from fim_server.core.snippets import similarity

STAGES = ("imports", "near", "lexical")
FULL_TEXT_CHARS = 260  # a definition longer than this is shown by its head only
FULL_DEFINITIONS = 1  # the first chosen shows its body lines too; the rest one line each (more names fit)
HEADER_COST = 16  # what a snippet's header costs besides its path
MIN_COST = 24  # with less room than this left, no definition fits
REUSE_SIMILARITY = 0.8
REFRESH_S = 2.0  # a choice made before the index changed stands this long
REGION_LINES = 16
_RECEIVER = re.compile(r"([A-Za-z_$][\w$]*)\s*\.\s*([A-Za-z_$][\w$]*)?$")
MAX_MEMBERS = 12  # members shown for ``owner.`` before the cursor, or of the base classes
NEAR_IMPORT = 100  # an imported name used this near the cursor (lines; below counts three times) comes first


@dataclass(frozen=True)
class Picked:
    path: str  # as the prompt names it
    text: str
    stage: str
    file: str  # absolute path in the index
    line: int


@dataclass(frozen=True)
class Cursor:
    """The current document as the chooser needs it."""

    path: str  # absolute path ("" for an untitled document)
    language: str
    text: str
    line: int
    around: str  # the code around the cursor (ranks lexical windows, keys the reuse)
    line_prefix: str = ""  # the cursor line up to the cursor


def cost(picks: Iterable[Picked]) -> int:
    """The characters ``picks`` take of the budget."""
    return sum(len(p.text) + len(p.path) + HEADER_COST for p in picks)


class Chooser:
    def __init__(self, index: RepoIndex) -> None:
        self.index = index
        self._last: dict[tuple[str, ...], tuple] = {}  # per set of stages: (state, words, picks)
        self._links_cache: tuple | None = None
        self._passed: dict[tuple[str, int], list[tuple]] = {}
        self._imports_of = kept.Texts(lambda language, text: tuple(imports_of(language, text)))
        self._words = Words()
        self._target: tuple[str | None, set[str]] = (None, set())
        self.modules: frozenset[str] = frozenset()  # of the file last asked about (``_links``)

    def clear_choice(self) -> None:
        self._last.clear()

    def choose(
        self,
        cur: Cursor,
        budget: int,
        may_send: Callable[[str, str], bool],
        stages: Iterable[str] = STAGES,
        skip_files: frozenset[str] = frozenset(),
        defs_budget: int | None = None,
    ) -> tuple[Picked, ...]:
        """The picks within ``budget`` characters (definitions within ``defs_budget``
        of it); ``skip_files`` are left to the open-document snippets."""
        stages = tuple(s for s in STAGES if s in set(stages))
        if budget <= 0 or not stages:
            return ()
        if self._target[0] != cur.around:  # the same around for the definitions and the lexical windows
            self._target = (cur.around, lexical_words(cur.around))
        target = self._target[1]
        state = (cur.path, budget, defs_budget, cur.line // REGION_LINES, stages, skip_files, self.index.removals,
                 tuple(self.index.roots))
        generation, now = self.index.generation, time.monotonic()
        last = self._last.get(stages)
        # while files are added (the background walk puts one every few
        # milliseconds) a choice still stands for REFRESH_S: the prompt's start stays
        # the same and a keystroke does not pay for a new choice each time
        if (last is not None and last[0] == state and similarity(last[1], target) >= REUSE_SIMILARITY
                and (last[3] == generation or now - last[4] < REFRESH_S)):
            return last[2]
        with self.index.lock:
            picks = self._choose(cur, budget, may_send, stages, skip_files, defs_budget, target)
        result = tuple(sorted(picks, key=lambda p: (p.path, p.line)))
        self._last[stages] = (state, frozenset(target), result, generation, now)
        return result

    def _links(self, cur: Cursor) -> list[Link]:
        """The current file's imports, resolved (kept while they and the index stay the same)."""
        if not cur.path:
            self.modules = frozenset()
            return []
        found = self._imports_of(cur.language, cur.text)
        key = (cur.path, found, self.index.generation)
        if self._links_cache is not None and self._links_cache[0] == key:
            return self._links_cache[1]
        links: list[Link] = []
        index = self.index
        for imp in found:
            links += index.memo(("resolve", imp, cur.path, cur.language), lambda: resolve(imp, cur.path, cur.language, index))
        # names bound to modules (``import signal``, ``from . import events``): not receivers of a class
        self.modules = frozenset([imp.alias for imp in found if not imp.names and imp.alias] + [
            local for imp in found for _, local in imp.names if not local[:1].isupper()])
        self._links_cache = (key, links)
        return links

    def _receiver(self, cur: Cursor, links: list[Link]) -> list[tuple[FileEntry, int]]:
        """With ``owner.`` (and maybe the start of a name) before the cursor: the
        definitions of an imported module ``owner``, or the methods of the classes
        the owner's name suggests (``self._loop.`` -> ``...Loop``), the most used first."""
        m = _RECEIVER.search(cur.line_prefix)
        if m is None:
            return []
        owner, partial = m.group(1), m.group(2) or ""
        index = self.index
        popularity = lambda name: -index.lexical.frequency(name)
        found: list[tuple[tuple, FileEntry, int]] = []
        modules = [link.path for link in links if link.remote is MODULE and link.local == owner]
        for path in modules:
            entry = index.files.get(path)
            own = [(i, d) for i, d in enumerate(entry.definitions if entry else ()) if d.kind not in ("method", "nested")]
            fit = self._words.among(d.name for _, d in own)
            for i, d in own:
                if d.name.startswith(partial):
                    found.append(((-fit[d.name], d.name.startswith("_"), popularity(d.name), d.name), entry, i))
        if not modules:
            found += self._suggested_members(owner, partial)
        found.sort(key=lambda item: (item[0], item[1].path, item[2]))
        seen: set[str] = set()
        out = []
        for _, entry, i in found:
            if entry.definitions[i].name not in seen:
                seen.add(entry.definitions[i].name)
                out.append((entry, i))
        return out[:MAX_MEMBERS]

    def _suggested_members(self, owner: str, partial: str = "") -> list[tuple[tuple, FileEntry, int]]:
        return suggested_members(self.index, self._words, self._classes_named, owner, partial)

    def _owners(self, uses: Uses, links: list[Link]) -> list[tuple[FileEntry, int]]:
        modules = {link.local for link in links if link.remote is MODULE} | self.modules
        return owner_members(self.index, uses, modules, self._words, self._classes_named)

    def _voted(self, cur: Cursor, uses: Uses) -> list[tuple[FileEntry, int]]:
        return voted_members(self.index, cur, uses, self._classes_named, self._words, self.modules)

    def _passed_on(self, entry: FileEntry | None, popularity) -> list[tuple]:
        """(rank, name, file, definition index) of the names a module imports from
        another of the repository and so offers too (``email.policy.compat32``),
        kept while the index stays the same."""
        if entry is None:
            return []
        key = (entry.path, self.index.generation)
        if key not in self._passed:
            if len(self._passed) > 64:
                self._passed.clear()
            own = {d.name for d in entry.definitions}
            self._passed[key] = [
                (popularity(local), local, *found) for imp in entry.imports for _, local in imp.names
                if local not in own and not local.startswith("__")
                and (found := _defined_or_passed_on(self.index, entry, local)) is not None]
        return self._passed[key]

    def _module_names(self, cur: Cursor, uses: Uses, links: list[Link]) -> list[tuple[FileEntry, int]]:
        return module_names(self.index, self._words, cur.path, uses, links, self._passed_on)

    def _classes_named(self, owner: str) -> list[tuple[FileEntry, int]]:
        """Classes whose name ends with the last word of ``owner`` (``_loop``,
        ``event_loop`` -> ``...Loop``), or, with none, with a word it starts
        (``fut`` -> ``...Future``, ``proto`` -> ``...Protocol``): the shortest
        name first, three at most."""
        word = last_word(owner)
        index = self.index

        def named() -> list[tuple[FileEntry, int]]:
            found = index.classes_ending(word)
            if not found and len(word) >= 3:
                found = [item for last in index.class_words if last.startswith(word) for item in index.classes_ending(last)]
            return sorted(found, key=lambda item: (len(item[0].definitions[item[1]].name), item[0].path, item[1]))[:3]

        return index.memo(("classes", word), named)

    def _choose(self, cur, budget, may_send, stages, skip_files, defs_budget, target) -> list[Picked]:
        index = self.index
        roots = tuple(index.roots)  # the files are named by their path in the workspace folder
        allowed: dict[str, bool] = {}

        kin = family(cur.language) if cur.language else ""

        def sendable(entry: FileEntry) -> bool:
            # not another language's definitions (a Python ``def utf8`` for Go code naming ``utf8``)
            ok = allowed.get(entry.path)
            if ok is None:
                ok = allowed[entry.path] = (entry.path != cur.path and (not kin or family(entry.language) == kin)
                                            and may_send(file_uri(entry.path), entry.language))
            return ok

        used = 0
        groups: dict[str, list[tuple[int, str]]] = {}  # file -> [(line, text)]
        chosen: set[tuple[str, int]] = set()
        limit = budget if defs_budget is None else min(budget, defs_budget)

        methods: set[str] = set()  # of the methods shown by their signature: one of each name is enough

        def take(entry: FileEntry, def_index: int, short: bool = False) -> bool:
            nonlocal used
            key = (entry.path, def_index)
            if key in chosen or not sendable(entry):
                return key in chosen
            if limit - used < MIN_COST:
                return False
            d = entry.definitions[def_index]
            one_line = short or len(chosen) >= FULL_DEFINITIONS  # after the first few: more of them fit
            if one_line and d.kind == "method" and d.name in methods:
                return True  # another class's method of that name is shown already
            if one_line:  # kept while the index stays the same (the same few are tried request after request)
                text = index.memo(("signature", entry.path, def_index), lambda: _signature(d, entry.rendered(def_index)[0]))
            else:
                text, head = entry.rendered(def_index)
                if len(text) > FULL_TEXT_CHARS:
                    text = text[:head]
            cost = len(text) + 1 + (0 if entry.path in groups else len(shown_path(entry.path, roots)) + HEADER_COST)
            if used + cost > limit:
                return False
            used += cost
            chosen.add(key)
            if one_line and d.kind == "method":
                methods.add(d.name)
            groups.setdefault(entry.path, []).append((d.line, text))
            return True

        def room() -> bool:  # with less room than MIN_COST left, ``take`` takes nothing: the stages stop
            return limit - used >= MIN_COST

        uses = Uses(cur, index) if "imports" in stages or "near" in stages else None
        if uses is not None:
            self._words = Words(uses.block, uses.cursor_offset, uses.near_words(NEAR_BEFORE, NEAR_AFTER))  # ranks members
        links = self._links(cur) if uses is not None else []
        far: list = []
        if "imports" in stages:  # imported names used near the cursor first; the others after the near stage
            for distance, entry, def_index in _import_candidates(index, links, uses):
                if distance <= NEAR_IMPORT or "near" not in stages:
                    take(entry, def_index)
                else:
                    far.append((entry, def_index))
        if "near" in stages and room():
            near_stage(self, cur, uses, links, far, target, "imports" in stages, take, room)
        elif "imports" in stages and room():  # no near stage (``far`` is empty then): the modules' names with room left
            for entry, def_index in self._module_names(cur, uses, links):
                take(entry, def_index, short=True)
        picks = [
            Picked(shown_path(path, roots), "\n".join(text for _, text in sorted(items)), "definitions", path, items[0][0])
            for path, items in groups.items()
        ]
        if "lexical" in stages and target:
            skip_ids = {e.file_id for p in skip_files | {cur.path} if (e := index.files.get(p)) is not None}
            for score, file_id, line in index.lexical.search(target, skip_ids, limit=8):
                entry = index.by_id.get(file_id)
                if entry is None or not sendable(entry):
                    continue
                text = entry.window_text(line).strip("\n")
                name = shown_path(entry.path, roots)
                cost = len(text) + len(name) + HEADER_COST
                if not text.strip() or used + cost > budget:
                    continue
                used += cost
                picks.append(Picked(name, text, "lexical", entry.path, line))
        return picks


def _import_candidates(index: RepoIndex, links: list[Link], uses: Uses):
    """(distance, entry, definition index) for each imported name the file uses."""
    out = []
    for link in links:
        entry = index.files.get(link.path)
        if entry is None:
            continue
        if link.remote is MODULE:
            wanted = uses.attributes(link.local)
        elif link.remote == ALL:
            names = {d.name for d in entry.definitions if d.name not in uses.local}
            wanted = [(d, n) for n in sorted(names) if (d := uses.nearest(n)) is not None] if len(names) < 200 else []
        elif (d := uses.nearest(link.local)) is not None:
            wanted = [(d, link.remote if link.remote != "default" else link.local)]
        else:
            wanted = []
        for distance, name in wanted:
            found = index.memo(("defined or passed on", entry.path, name), lambda: _defined_or_passed_on(index, entry, name))
            if found is not None:
                out.append((distance, *found))
    out.sort(key=lambda item: (item[0], item[1].path, item[2]))
    return out


def _defined_or_passed_on(index: RepoIndex, entry: FileEntry, name: str) -> tuple[FileEntry, int] | None:
    """The definition of ``name`` in a module, or in the module it imports the
    name from (a package's ``__init__`` or a module passing on another's name)."""
    best = _best_in(entry, name)
    if best is not None:
        return entry, best
    for imp in entry.imports:
        if any(local == name for _, local in imp.names):
            for link in resolve(imp, entry.path, entry.language, index):
                target = index.files.get(link.path)
                if target is not None and link.local == name and link.remote not in (MODULE, ALL):
                    best = _best_in(target, link.remote)
                    if best is not None:
                        return target, best
    return None


def _signature(d, text: str) -> str:
    """The first line of a definition that names it (after a doc comment above)."""
    for line in text.split("\n"):
        if d.name in line:
            return line
    return text.split("\n", 1)[0]


def _best_in(entry: FileEntry, name: str) -> int | None:
    """The definition of ``name`` in a file: a top-level one before a method."""
    found = [i for i, d in enumerate(entry.definitions) if d.name == name]
    if not found:
        return None
    return min(found, key=lambda i: (entry.definitions[i].kind in ("method", "nested"), i))
