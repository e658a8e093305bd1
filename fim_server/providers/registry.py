"""The provider registry: `create_provider` picks one from the settings."""

from __future__ import annotations

import httpx

from fim_server.settings import Settings
from fim_server.providers.base import Provider
from fim_server.providers.codestral import CodestralProvider
from fim_server.providers.deepseek import DeepSeekProvider
from fim_server.providers.llamacpp import LlamaCppProvider
from fim_server.providers.ollama import OllamaProvider
from fim_server.providers.openai import OpenAICompatibleProvider

PROVIDER_CLASSES = {
    "deepseek": DeepSeekProvider,
    "openai": OpenAICompatibleProvider,
    "ollama": OllamaProvider,
    "llamacpp": LlamaCppProvider,
    "codestral": CodestralProvider,
}



def create_provider(settings: Settings, client: httpx.AsyncClient) -> Provider:
    cls = PROVIDER_CLASSES.get(settings.provider)
    if cls is not None:
        return cls(settings, client)
    raise ValueError(f"unknown provider {settings.provider!r}")
