"""FIM providers behind one interface; ``create_provider`` picks one from the settings."""

from __future__ import annotations

import httpx

from ..config import Settings
from .base import Completion, FimRequest, Provider, Usage
from .codestral import CodestralProvider
from .deepseek import DeepSeekProvider
from .llamacpp import LlamaCppProvider
from .ollama import OllamaProvider
from .openai import OpenAICompatibleProvider

PROVIDER_CLASSES = {
    "deepseek": DeepSeekProvider,
    "openai": OpenAICompatibleProvider,
    "ollama": OllamaProvider,
    "llamacpp": LlamaCppProvider,
    "codestral": CodestralProvider,
}

__all__ = ["Completion", "FimRequest", "Provider", "Usage", "create_provider"]


def create_provider(settings: Settings, client: httpx.AsyncClient) -> Provider:
    cls = PROVIDER_CLASSES.get(settings.provider)
    if cls is not None:
        return cls(settings, client)
    raise ValueError(f"unknown provider {settings.provider!r}")
