"""The repository index (issue 14): ``walker`` (which files may be read),
``definitions`` (tree-sitter definitions per language), ``imports`` (what a file
imports and which files that means), ``lexical`` (BM25 windows), ``index`` (the
store and its worker thread), ``uses`` and ``selection`` (what goes in a prompt)."""
