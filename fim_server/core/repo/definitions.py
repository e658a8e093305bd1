"""Definitions of a file from its tree-sitter parse: functions, classes, methods,
top-level constants, types and interfaces, each with a short text for a prompt
(its signature, the first line of its docstring or of the comment above it, and a
few lines of body; a class shows its members' first lines instead of a body).

One query per language (``QUERIES``), each capture pair ``@name`` / ``@def``
(the kind is the capture's suffix: ``@def.function``). Parsing reads the source in
chunks, so a worker thread indexing a large file does not hold the GIL for the
whole parse.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, NamedTuple

from fim_server.core.language import grammar, new_parser

BODY_LINES = 3  # lines of a function's body shown after its signature and doc line
MEMBER_LINES = 8  # first lines of a class's members shown
MAX_HEADER_LINES = 6
MAX_TEXT = 600
CHUNK = 4096  # bytes parsed per callback (about a millisecond)

_PY = """
(function_definition name: (identifier) @name) @def.function
(class_definition name: (identifier) @name) @def.class
(expression_statement (assignment left: (identifier) @name) @def.constant)
"""
_JS = """
(function_declaration name: (identifier) @name) @def.function
(generator_function_declaration name: (identifier) @name) @def.function
(class_declaration name: (_) @name) @def.class
(method_definition name: (_) @name) @def.method
(lexical_declaration (variable_declarator name: (identifier) @name) @def.constant)
"""
_TS = _JS + """
(abstract_class_declaration name: (type_identifier) @name) @def.class
(interface_declaration name: (type_identifier) @name) @def.interface
(type_alias_declaration name: (type_identifier) @name) @def.type
(enum_declaration name: (identifier) @name) @def.type
(function_signature name: (identifier) @name) @def.function
(abstract_method_signature name: (_) @name) @def.method
"""
_GO = """
(function_declaration name: (identifier) @name) @def.function
(method_declaration name: (field_identifier) @name) @def.method
(type_declaration (type_spec name: (type_identifier) @name) @def.type)
(const_declaration (const_spec name: (identifier) @name) @def.constant)
(var_declaration (var_spec name: (identifier) @name) @def.constant)
"""
_RUST = """
(function_item name: (identifier) @name) @def.function
(function_signature_item name: (identifier) @name) @def.function
(struct_item name: (type_identifier) @name) @def.type
(enum_item name: (type_identifier) @name) @def.type
(union_item name: (type_identifier) @name) @def.type
(trait_item name: (type_identifier) @name) @def.interface
(type_item name: (type_identifier) @name) @def.type
(const_item name: (identifier) @name) @def.constant
(static_item name: (identifier) @name) @def.constant
(macro_definition name: (identifier) @name) @def.function
"""
_C = """
(function_definition declarator: (function_declarator declarator: (identifier) @name)) @def.function
(function_definition declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))) @def.function
(declaration declarator: (function_declarator declarator: (identifier) @name)) @def.function
(declaration declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))) @def.function
(struct_specifier name: (type_identifier) @name body: (_)) @def.type
(union_specifier name: (type_identifier) @name body: (_)) @def.type
(enum_specifier name: (type_identifier) @name body: (_)) @def.type
(type_definition declarator: (type_identifier) @name) @def.type
(preproc_def name: (identifier) @name) @def.constant
(preproc_function_def name: (identifier) @name) @def.function
"""
_CPP = _C + """
(function_definition declarator: (function_declarator declarator: (qualified_identifier name: (identifier) @name))) @def.method
(function_definition declarator: (function_declarator declarator: (field_identifier) @name)) @def.method
(field_declaration declarator: (function_declarator declarator: (field_identifier) @name)) @def.method
(class_specifier name: (type_identifier) @name body: (_)) @def.class
"""
_JAVA = """
(class_declaration name: (identifier) @name) @def.class
(interface_declaration name: (identifier) @name) @def.interface
(enum_declaration name: (identifier) @name) @def.type
(record_declaration name: (identifier) @name) @def.class
(method_declaration name: (identifier) @name) @def.method
(constructor_declaration name: (identifier) @name) @def.method
(field_declaration declarator: (variable_declarator name: (identifier) @name)) @def.constant
"""
QUERIES: dict[str, str] = {
    "python": _PY, "javascript": _JS, "javascriptreact": _JS, "typescript": _TS, "typescriptreact": _TS,
    "go": _GO, "rust": _RUST, "c": _C, "cpp": _CPP, "java": _JAVA,
}
_CLASSY = frozenset({"class", "interface", "type"})
_FUNCTION_NODES = frozenset({
    "function_definition", "function_declaration", "method_definition", "method_declaration", "function_item",
    "constructor_declaration", "generator_function_declaration",
})


class Definition(NamedTuple):
    """Where a definition is and which of its lines a prompt shows; ``render``
    makes the text from the file's lines (kept once, in the index's file text,
    instead of a copy per definition)."""

    name: str
    kind: str  # function, method, nested (a function in a function), class, interface, type, constant
    line: int  # 0-based first line
    rows: bytes | tuple[int, ...]  # the lines shown, relative to ``line`` (``_pack``): signature, doc line, body or members
    head_rows: int  # how many of ``rows`` are the signature and doc line


_queries: dict[str, Any] = {}


def _query(language_id: str) -> Any | None:
    if language_id not in _queries:
        language = grammar(language_id)
        source = QUERIES.get(language_id)
        query = None
        if language is not None and source is not None:
            import tree_sitter

            query = tree_sitter.Query(language, source)
        _queries[language_id] = query
    return _queries[language_id]


def _no_pause() -> None:
    pass


def parse(language_id: str, data: bytes, parser: Any = None, pause: Callable[[], None] = _no_pause) -> Any | None:
    """The syntax tree of ``data`` (None without a grammar). A large text is read
    in chunks through a Python callback: between chunks another thread waiting for
    the GIL gets it (tree-sitter holds it while it parses)."""
    parser = parser or new_parser(language_id)
    if parser is None:
        return None
    if len(data) <= CHUNK:
        return parser.parse(data)

    def read(offset: int, _point: Any) -> bytes:
        pause()
        return data[offset : offset + CHUNK]

    return parser.parse(read)


def extract(language_id: str, text: str, parsers: dict[str, Any] | None = None,
            pause: Callable[[], None] = _no_pause) -> list[Definition]:
    """The definitions of a file's text, in line order (empty without a grammar).
    ``pause()`` is called between steps (the indexer waits there while a request is
    being answered)."""
    query = _query(language_id)
    if query is None:
        return []
    import tree_sitter

    parser = None
    if parsers is not None:
        parser = parsers.get(language_id) or parsers.setdefault(language_id, new_parser(language_id))
    data = text.encode("utf-8")
    tree = parse(language_id, data, parser, pause)
    if tree is None:
        return []
    lines = text.split("\n")
    out: list[Definition] = []
    seen: set[tuple[str, int]] = set()
    cursor = tree_sitter.QueryCursor(query)
    for child in tree.root_node.children:  # one top-level node at a time: the GIL can change hands between
        pause()
        for _, caps in cursor.matches(child):
            names = caps.get("name")
            kind_node = next(((k[4:], v[0]) for k, v in caps.items() if k.startswith("def.")), None)
            if not names or kind_node is None:
                continue
            kind, node = kind_node
            name = names[0].text.decode("utf-8", "replace")
            key = (name, node.start_point[0])
            if key in seen:
                continue
            seen.add(key)
            if kind == "function":
                kind = _enclosing(node)
            elif kind == "constant" and not _top_level(node, language_id):
                continue
            start = node.start_point[0]
            rows, head_rows = plan(node, kind, lines, language_id)
            out.append(Definition(sys.intern(name), kind, start, _pack([r - start for r in rows]), head_rows))
    out.sort(key=lambda d: d.line)
    return out


def _enclosing(node: Any) -> str:
    """A function's kind by what it is defined in: ``method`` in a class, ``nested``
    in another function (no other file can call it), ``function`` at the top."""
    parent = node.parent
    while parent is not None:
        if parent.type in ("class_definition", "class_declaration", "class_body", "class_specifier"):
            return "method"
        if parent.type in _FUNCTION_NODES:
            return "nested"
        parent = parent.parent
    return "function"


_WRAPPERS = frozenset({"expression_statement", "lexical_declaration", "export_statement", "const_declaration",
                       "var_declaration", "declaration", "field_declaration"})


def _top_level(node: Any, language_id: str) -> bool:
    """A constant at the top of its file (a Java field: a static final one)."""
    if language_id == "java":
        mods = node.children[0] if node.children else None
        return mods is not None and mods.type == "modifiers" and b"static" in mods.text and b"final" in mods.text
    parent = node.parent
    while parent is not None and parent.type in _WRAPPERS:
        parent = parent.parent
    return parent is not None and parent.parent is None


def _body(node: Any) -> Any | None:
    body = node.child_by_field_name("body")
    if body is None and node.type == "type_spec":
        body = node.child_by_field_name("type")
        if body is not None and len(body.named_children) == 1 and body.named_children[0].type.endswith("_list"):
            body = body.named_children[0]
    return body


def _doc_line(node: Any, body: Any | None, lines: list[str], language_id: str) -> int | None:
    """The line of the first docstring line (Python) or of the comment right above."""
    if language_id == "python" and body is not None and body.named_children:
        first = body.named_children[0]
        if first.type == "expression_statement" and first.named_children and first.named_children[0].type == "string":
            row = first.start_point[0]
            if lines[row].strip().strip("rRbBuU").strip("\"'") == "" and row + 1 < len(lines):
                return row + 1
            return row
    outer = node.parent if node.parent is not None and node.parent.type in (
        "decorated_definition", "export_statement", "template_declaration") else node
    prev = outer.prev_named_sibling
    if prev is not None and "comment" in prev.type and prev.end_point[0] >= outer.start_point[0] - 1:
        start = prev.start_point[0]
        while start < prev.end_point[0] and lines[start].strip() in ("/**", "/*", "///", "//"):
            start += 1
        return start
    return None


_BIAS = 16


def _pack(rows: list[int]) -> bytes | tuple[int, ...]:
    """Row offsets as bytes (offset + 16) when they fit: 40 bytes instead of ~90."""
    if all(-_BIAS <= r < 256 - _BIAS for r in rows):
        return bytes(r + _BIAS for r in rows)
    return tuple(rows)


def _unpack(rows: bytes | tuple[int, ...]) -> list[int]:
    return [r - _BIAS for r in rows] if isinstance(rows, bytes) else list(rows)


def plan(node: Any, kind: str, lines: list[str], language_id: str) -> tuple[list[int], int]:
    """The lines a prompt shows of a definition, and how many of them are its head
    (signature and doc line)."""
    start = node.start_point[0]
    end = node.end_point[0]
    body = _body(node)
    if body is None or body.start_point[0] > end:
        header_end = min(end, start + MAX_HEADER_LINES - 1)
    else:
        header_end = max(start, body.start_point[0] - (1 if language_id == "python" and body.start_point[0] > start else 0))
        header_end = min(header_end, start + MAX_HEADER_LINES - 1)
    chosen = list(range(start, header_end + 1))
    doc = _doc_line(node, body, lines, language_id)
    skip_to = chosen[-1]
    if doc is not None and doc < start:
        chosen.insert(0, doc)
    elif doc is not None and doc > header_end:
        chosen.append(doc)
        skip_to = max(doc, body.named_children[0].end_point[0]) if body is not None and body.named_children else doc
    head_rows = len(chosen)
    if body is not None and body.start_point[0] <= end:
        if kind in _CLASSY:
            members = 0
            for member in body.named_children:
                row = member.start_point[0]
                if row <= chosen[-1] or "comment" in member.type or member.type == "expression_statement":
                    continue
                if member.type == "decorated_definition":
                    inner = member.child_by_field_name("definition")
                    row = inner.start_point[0] if inner is not None else row
                chosen.append(row)
                members += 1
                if members >= MEMBER_LINES:
                    break
        else:
            last = max(chosen[-1], skip_to)
            for row in range(last + 1, min(end, last + BODY_LINES) + 1):
                if lines[row].strip():
                    chosen.append(row)
    if end > chosen[-1] and language_id != "python" and end < len(lines) and lines[end].strip() in ("}", "};"):
        chosen.append(end)
    return chosen, head_rows


def render(lines: list[str], d: Definition) -> tuple[str, int]:
    """The text a prompt shows of a definition (its lines de-indented to its own
    column, ``...`` where lines are left out), and the length of its head."""
    start, kind, head_rows = d.line, d.kind, d.head_rows
    chosen = [start + r for r in _unpack(d.rows) if 0 <= start + r < len(lines)]
    if not chosen:
        return "", 0
    indent = len(lines[start]) - len(lines[start].lstrip()) if start < len(lines) else 0
    parts: list[str] = []
    head = 0
    previous = None
    for i, row in enumerate(chosen):
        line = lines[row]
        stripped = line[indent:] if line[:indent].strip() == "" else line.lstrip()
        if previous is not None and row > previous + 1 and i >= head_rows and kind not in _CLASSY:
            parts.append(" " * (len(stripped) - len(stripped.lstrip())) + "...")
        parts.append(stripped.rstrip())
        previous = row
        if i == head_rows - 1:
            head = len("\n".join(parts))
    text = "\n".join(parts)
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT].rsplit("\n", 1)[0]
    return text, min(head, len(text))
