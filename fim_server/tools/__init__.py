"""Headless tools: doctor, eval, replay."""
