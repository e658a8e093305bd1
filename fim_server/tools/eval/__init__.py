"""Completion-quality evaluation: holes, run, report."""
