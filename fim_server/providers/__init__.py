"""FIM providers behind one interface; ``create_provider`` picks one from the settings."""

from __future__ import annotations

import httpx

from ..config import Settings
from .base import Completion, FimRequest, Provider, Usage
from .deepseek import DeepSeekProvider

__all__ = ["Completion", "FimRequest", "Provider", "Usage", "create_provider"]


def create_provider(settings: Settings, client: httpx.AsyncClient) -> Provider:
    if settings.provider == "deepseek":
        return DeepSeekProvider(settings, client)
    raise ValueError(f"unknown provider {settings.provider!r}")
