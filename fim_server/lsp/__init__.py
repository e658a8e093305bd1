"""The LSP edge: the only importers of pygls and lsprotocol."""
