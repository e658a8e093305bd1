"""``fim-server eval REPO --recall``: context recall, measured without a model.

Holes (``holes.sample``) whose ground truth uses a name defined in another file
of the repository and not in its own; for each, the prompt's snippets are built
the way the server builds them, with only the hole's file open, under four
settings: the open documents only (no index), + definitions of imported names,
+ definitions of identifiers near the cursor, + lexical windows. A hole counts
when a definition of each such name reached the snippets (its signature line is
in them); ``any`` counts a hole where at least one did.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
import builtins
import json
import keyword
from pathlib import Path
import random
import re
import sys
import time

from fim_server.core.context import NoContext, cursor_context
from fim_server.core.repo.relevance import BUILTIN_METHODS
from fim_server.core.workspace import Workspace
from fim_server.settings import Settings
from fim_server.tools.folder import enterable, readable
from fim_server.tools.eval.holes import KINDS, sample
from fim_server.tools.eval.run import open_hole, restore

CONFIGS = (
    ("open documents only", ()),
    ("+ imports", ("imports",)),
    ("+ identifiers near the cursor", ("imports", "near")),
    ("+ lexical similarity", ("imports", "near", "lexical")),
)
MISS_TRUTH_CHARS = 200  # of a missed hole's answer, in ``misses``
_IDENT = re.compile(r"[A-Za-z_$][\w$]{2,}")
_COMMON = frozenset(keyword.kwlist) | {"self", "cls", "this", "None", "True", "False", "null", "undefined", "return"}


@dataclass
class Case:
    path: str
    line: int
    names: tuple[str, ...]
    hits: dict[str, tuple[int, int]]  # config -> (names found, names)
    missed: tuple[str, ...] = ()  # the names whose definition did not reach the prompt with every stage on
    truth: str = ""


def _signature_lines(workspace: Workspace, name: str, own: str) -> list[str]:
    """The line of each definition of ``name`` outside ``own`` that names it."""
    out = []
    for entry, i in workspace.repo.named(name):
        if entry.path == own:
            continue
        for line in entry.rendered(i)[0].split("\n"):
            if re.search(r"(?<![\w$])" + re.escape(name) + r"(?![\w$])", line):
                out.append(line.strip())
                break
    return out


_STRINGS = re.compile(r"""(?s)(\"\"\".*?(?:\"\"\"|\Z)|'\'\'.*?(?:'\'\'|\Z)|"[^"\n]*"?|'[^'\n]*'?|`[^`]*`?|#[^\n]*|//[^\n]*|/\*.*?(?:\*/|\Z))""")


_IDENTIFIER_NODES = frozenset({"identifier", "property_identifier", "field_identifier", "type_identifier",
                               "shorthand_property_identifier"})
_BUILTINS = frozenset(dir(builtins))


def code_names(source: str, start: int, end: int, language: str) -> list[str]:
    """The identifiers of the code in ``source[start:end]`` (not in strings or
    comments), from the file's syntax tree; with no grammar, by pattern."""
    from fim_server.core.repo.definitions import parse

    data = source.encode("utf-8")
    tree = parse(language, data)
    if tree is None:
        return list(dict.fromkeys(_IDENT.findall(_STRINGS.sub(" ", source[start:end]))))
    lo, hi = len(source[:start].encode("utf-8")), len(source[:end].encode("utf-8"))
    found: list[str] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.end_byte <= lo or node.start_byte >= hi:
            continue
        if node.type in _IDENTIFIER_NODES and node.start_byte >= lo and node.end_byte <= hi:
            found.append((node.start_byte, node.text.decode("utf-8", "replace")))
            continue
        stack.extend(node.children)
    return list(dict.fromkeys(name for _, name in sorted(found)))


def _only_attribute(name: str, truth: str) -> bool:
    uses = re.findall(r"(.)?(?<![\w$])" + re.escape(name) + r"(?![\w$])", truth)
    return bool(uses) and all(prefix == "." for prefix in uses)


def external_attribute(name: str, truth: str, text: str) -> bool:
    """``name`` only used as an attribute of a module imported from outside the
    repository (``threading.Lock``, ``os.path``) in the hole."""
    owners = re.findall(r"([A-Za-z_$][\w$]*)\s*\.\s*" + re.escape(name) + r"(?![\w$])", truth)
    if not owners or len(owners) != len(re.findall(r"(?<![\w$])" + re.escape(name) + r"(?![\w$])", truth)):
        return False
    return all(re.search(rf"^\s*import\s+(?:[\w.]+\s*,\s*)*{re.escape(o)}\b", text, re.M) for o in owners)


def bound_here(name: str, text: str) -> bool:
    """Whether the file binds ``name`` itself (an assignment, a parameter, a loop or
    ``as`` target): then its definition is in the file, not in another."""
    n = re.escape(name)
    return re.search(rf"(?<![\w$.]){n}\s*(?::[^=\n]+)?=(?!=)|\b(?:for|as|let|const|var)\s+{n}\b|"
                     rf"\bdef\s+\w+\s*\([^)]*(?<![\w$.]){n}\b|(?<![\w$.]){n}\s*,[^=\n]*=(?!=)", text) is not None


def cross_file_names(workspace: Workspace, hole, own: str) -> tuple[str, ...]:
    """Names the code of the hole's answer uses that are defined in another file
    of the index and neither defined nor bound in ``own`` (nor builtins, nor
    attributes of modules from outside the repository)."""
    entry = workspace.repo.files.get(own)
    local = {d.name for d in entry.definitions} if entry is not None else set()
    names = []
    source = entry.text if entry is not None else ""
    for name in code_names(source, hole.offset, hole.offset + len(hole.truth), entry.language if entry else ""):
        if name in _COMMON or name in local or name in _BUILTINS or len(name) < 3:
            continue
        if entry is not None and (bound_here(name, entry.text) or external_attribute(name, hole.truth, entry.text)):
            continue
        if name in BUILTIN_METHODS and _only_attribute(name, hole.truth):
            continue  # most likely the built-in type's method (``parts.append``), not the repository's
        if any(e.path != own for e, _ in workspace.repo.named(name)):
            names.append(name)
    return tuple(names)


def measure(repo: Path, settings: Settings, samples: int, seed: int, kinds=KINDS) -> dict:
    """The recall table for ``repo`` (and the index's size and build time)."""
    may_read = readable(settings)
    workspace = Workspace()
    started = time.perf_counter()
    workspace.start_index([str(repo)], may_read, settings.repo_context_max_files, background=False,
                          may_enter=enterable(settings))
    index_seconds = time.perf_counter() - started
    index = workspace.repo
    files = sorted(p for p, e in index.files.items() if e.definitions)
    if not files:
        raise ValueError(f"no indexed source files under {repo}")
    rng = random.Random(seed)
    cases: list[Case] = []
    attempts = 0
    choose_ms: list[float] = []
    while len(cases) < samples and attempts < samples * 40:
        attempts += 1
        path = rng.choice(files)
        entry = index.files[path]
        source = entry.text
        kind = kinds[attempts % len(kinds)]
        found = sample(path, source, rng, 1, (kind,))
        if not found:
            continue
        hole = found[0]
        names = cross_file_names(workspace, hole, path)
        if not names:
            continue
        uri = Path(path).as_uri()
        doc = open_hole(workspace, uri, hole.document(source), entry.language)  # the index holds it as typed
        try:
            ctx = cursor_context(doc, hole.line, hole.column, settings)
        except NoContext:
            restore(workspace, uri, None, entry.language)
            continue
        wanted = {n: _signature_lines(workspace, n, path) for n in names}
        hits = {}
        for label, stages in CONFIGS:
            workspace.repo_stages = stages
            workspace.settings_changed()
            on = replace(settings, repo_context=bool(stages))
            t = time.perf_counter()
            snippets = workspace.snippets(ctx, on, lambda uri: True)
            if stages == CONFIGS[-1][1]:
                choose_ms.append((time.perf_counter() - t) * 1000)
            text = "\n".join(s for _, s in snippets)
            found = [n for n in names if any(line and line in text for line in wanted[n])]
            hits[label] = (len(found), len(names))
            missed = tuple(n for n in names if n not in found)
        restore(workspace, uri, None, entry.language)
        cases.append(Case(str(Path(path).relative_to(index.roots[0])), hole.line + 1, names, hits, missed, hole.truth))
    workspace.stop_index()
    rows = []
    for label, _ in CONFIGS:
        every = sum(1 for c in cases if c.hits[label][0] == c.hits[label][1])
        some = sum(1 for c in cases if c.hits[label][0] > 0)
        rows.append({"config": label, "all": every / max(1, len(cases)), "any": some / max(1, len(cases))})
    choose_ms.sort()
    return {
        "repo": str(repo), "holes": len(cases), "seed": seed, "budget": settings.context_budget_chars,
        "files": len(index), "index_seconds": round(index_seconds, 2),
        "choose_ms_p50": round(choose_ms[len(choose_ms) // 2], 2) if choose_ms else None,
        "rows": rows,
        # the holes where a name's definition did not reach the prompt with every stage on
        "misses": [{"path": c.path, "line": c.line, "names": list(c.names), "missed": list(c.missed),
                    "truth": c.truth[:MISS_TRUTH_CHARS]} for c in cases if c.missed],
    }


def table(result: dict) -> str:
    out = [f"{result['repo']}: {result['holes']} holes whose answer uses a name defined in another file "
           f"({result['files']} files indexed in {result['index_seconds']} s; budget {result['budget']} chars; "
           f"context chosen in {result['choose_ms_p50']} ms p50)",
           f"{'context':34} {'all names':>10} {'any name':>10}"]
    for row in result["rows"]:
        out.append(f"{row['config']:34} {row['all']:>10.1%} {row['any']:>10.1%}")
    return "\n".join(out)


async def with_and_without(repo: Path, settings: Settings, samples: int, seed: int, fake: bool) -> dict:
    """Exact match and edit similarity of the same holes completed by the provider
    (or the ``--fake`` oracle) without the index and with it."""
    from fim_server.tools.eval.report import summarize
    from fim_server.tools.eval.run import evaluate

    may_read = readable(settings)
    out = {}
    for label, on in (("without the index", False), ("with the index", True)):
        workspace = Workspace()
        if on:
            workspace.start_index([str(repo)], may_read, settings.repo_context_max_files, background=False,
                                  may_enter=enterable(settings))
        rows = await evaluate(repo, replace(settings, repo_context=on), samples=samples, seed=seed, fake=fake,
                              workspace=workspace)
        workspace.stop_index()
        summary = summarize(rows, None)["all"]
        out[label] = {"holes": len(rows), "exact_match": summary["exact_match"], "edit_similarity": summary["edit_similarity"]}
    return out


def run(args, settings: Settings) -> int:
    repo = Path(args.repo)
    if not repo.is_dir():
        print(f"error: {repo} is not a directory", file=sys.stderr)
        return 2
    try:
        result = measure(repo, settings, args.samples, args.seed)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if getattr(args, "with_model", False):
        if not args.fake and not settings.resolved_api_key():
            print(f"error: no API key for the configured provider ({settings.key_hint()}, or use --fake)", file=sys.stderr)
            return 2
        import asyncio

        result["model"] = asyncio.run(with_and_without(repo, settings, args.samples, args.seed, args.fake))
    if args.json:
        print(json.dumps(result, indent=1))
        return 0 if result["holes"] else 1
    print(table(result))
    for label, figures in result.get("model", {}).items():
        print(f"{'completed ' + label:34} exact match {figures['exact_match']:.1%}, edit similarity "
              f"{figures['edit_similarity']:.3f} ({figures['holes']} holes)")
    return 0 if result["holes"] else 1
