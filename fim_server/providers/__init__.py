"""FIM providers behind one interface: one module per API, plus http, templates and errors.

The names below load on first use, so that ``fim_server.settings`` can import
``providers.templates`` without pulling every provider (and itself) in first.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Completion", "FimRequest", "Provider", "Usage", "create_provider", "PROVIDER_CLASSES"]


def __getattr__(name: str) -> Any:
    if name in ("Completion", "FimRequest", "Provider", "Usage"):
        from fim_server.providers import base
        return getattr(base, name)
    if name in ("create_provider", "PROVIDER_CLASSES"):
        from fim_server.providers import registry
        return getattr(registry, name)
    raise AttributeError(f"module 'fim_server.providers' has no attribute {name!r}")
