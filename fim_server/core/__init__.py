"""The completion pipeline: pure stages over plain data, no LSP types."""
