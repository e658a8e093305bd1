"""Where the settings come from, merged into one object: the defaults, then the
client's ``initializationOptions``, then the ``fimServer`` section, which the
client either pushes (``workspace/didChangeConfiguration`` with the section in
it) or the server pulls (``workspace/configuration``)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

from lsprotocol import types

from fim_server.core.privacy import transport_warning
from fim_server.settings import SECTION, Settings, parse_settings

log = logging.getLogger(__name__)

PULL_TIMEOUT_S = 5


class Configuration:
    """The layers the client sent, and the problems last reported about them (each
    set of problems is shown once, not on every change that keeps them)."""

    def __init__(self) -> None:
        self.initialization_options: Any = None
        self.section: Any = None  # the fimServer section, last pushed or pulled
        self.can_pull = False  # the client answers workspace/configuration
        self._reported: tuple[str, ...] = ()

    def initialize(self, params: types.InitializeParams) -> tuple[Settings, list[str]]:
        """Record what ``initialize`` brought; the settings from the options alone."""
        self.initialization_options = params.initialization_options
        caps = params.capabilities
        self.can_pull = bool(caps.workspace and caps.workspace.configuration)
        return self._with_warnings(*parse_settings(self.initialization_options))

    def push(self, pushed: Any) -> bool:
        """A didChangeConfiguration's settings: True when they carried the section
        (False: the client only says something changed; pull it)."""
        if isinstance(pushed, dict) and isinstance(pushed.get(SECTION), dict):
            self.section = pushed[SECTION]
            return True
        return False

    def pulled(self, result: Any) -> None:
        if result and result[0] is not None:
            self.section = result[0]

    def merged(self) -> tuple[Settings, list[str]]:
        """Defaults, then initializationOptions, then the section; with every
        problem found (a bad value falls back alone, with a message)."""
        settings, problems = parse_settings(self.initialization_options)
        settings, more = parse_settings(self.section, settings)
        return self._with_warnings(settings, problems + more)

    def news(self, problems: list[str]) -> str | None:
        """The warning to show for ``problems``, or None when it is the one shown last."""
        fresh = bool(problems) and tuple(problems) != self._reported
        self._reported = tuple(problems)
        return "fim-server settings: " + "; ".join(problems) + "." if fresh else None

    @staticmethod
    def _with_warnings(settings: Settings, problems: list[str]) -> tuple[Settings, list[str]]:
        return settings, problems + [w for w in [transport_warning(settings.base_url)] if w]


async def pull_section(request: Callable[[types.ConfigurationParams], Awaitable[Any]]) -> tuple[bool, Any]:
    """Ask the client for the section: (True, result), or (False, None) when the
    client fails or does not answer (it keeps the settings it sent before)."""
    try:
        result = await asyncio.wait_for(
            request(types.ConfigurationParams(items=[types.ConfigurationItem(section=SECTION)])),
            timeout=PULL_TIMEOUT_S,
        )
    except Exception as exc:
        log.warning("could not read the %s configuration: %s", SECTION, exc)
        return False, None
    return True, result
