"""``fimServer.checkKey``: one request that tells an editor whether the provider
takes the key it was just given (the VS Code extension runs it after *Set API
key*). It lists the provider's models: no tokens are generated or billed.

The answer is ``{"ok": true | false | null, "message": str}``; ``null`` when the
provider answered in a way that says nothing about the key (no model list).
The message never holds the key (the provider errors are written without it).
"""

from __future__ import annotations

import logging
from typing import Any

from fim_server.providers import errors

log = logging.getLogger(__name__)

CHECK_KEY_COMMAND = "fimServer.checkKey"
CHECK_TIMEOUT_S = 10.0


async def check_key(engine: Any) -> dict:
    provider = engine.provider
    name = getattr(provider, "name", "the provider")
    try:
        await provider.list_models(CHECK_TIMEOUT_S)
    except (errors.AuthenticationFailed, errors.InsufficientBalance, errors.MissingApiKey) as error:
        return {"ok": False, "message": error.message}
    except (errors.ProviderUnavailable, errors.ProviderTimeout) as error:
        return {"ok": False, "message": error.message}
    except errors.ProviderError as error:
        return {"ok": None, "message": f"{name} could not be asked about the key ({error.message})"}
    engine.lift_block()  # a block left by a rejected key is over
    return {"ok": True, "message": f"{name} at {provider.base_url} accepted the key"}


def register(server: Any) -> None:
    @server.command(CHECK_KEY_COMMAND)
    async def check(ls: Any, *args: Any) -> dict:
        result = await check_key(ls.engine)
        log.info("key check: %s", result["message"])
        return result
