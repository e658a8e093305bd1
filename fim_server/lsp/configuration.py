"""Where the settings come from, merged into one object: the defaults, then the
client's ``initializationOptions``, then the ``fimServer`` section, which the
client either pushes (``workspace/didChangeConfiguration`` with the section in
it) or the server pulls (``workspace/configuration``).

A pull also asks for the section as each workspace folder sees it. A folder's
settings can come with a repository someone cloned, so where a folder's values
would send code elsewhere or trust other certificates (the provider's host,
``caBundle``) or change what is never sent (``excludeGlobs``), a warning names the
folder and the values (once per folder and values). The settings used stay the
ones asked without a folder."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable
from urllib.parse import urlsplit

from lsprotocol import types

from fim_server.core.privacy import transport_warning
from fim_server.settings import SECTION, Settings, parse_settings

log = logging.getLogger(__name__)

PULL_TIMEOUT_S = 5
MAX_FOLDERS = 16  # folders asked about in one pull


class Configuration:
    """The layers the client sent, and the problems last reported about them (each
    set of problems is shown once, not on every change that keeps them)."""

    def __init__(self) -> None:
        self.initialization_options: Any = None
        self.section: Any = None  # the fimServer section, last pushed or pulled
        self.can_pull = False  # the client answers workspace/configuration
        self._reported: tuple[str, ...] = ()
        self._folder_warnings: set[str] = set()

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

    def pulled(self, result: Any, folders: list[str] = ()) -> None:
        if result and result[0] is not None:
            self.section = result[0]
        if result and folders:
            for folder, scoped in zip(folders, list(result)[1:]):
                self._check_folder(folder, scoped)

    def _check_folder(self, folder: str, scoped: Any) -> None:
        """A warning (once) when the folder's own values of the settings that decide
        where code goes, which certificates are trusted and what is never sent
        differ from the settings in use."""
        if not isinstance(scoped, dict):
            return
        base, _ = parse_settings(self.initialization_options)
        used, _ = parse_settings(self.section, base)
        theirs, _ = parse_settings(scoped, base)
        changes = []
        if (theirs.provider, _host(theirs.resolved_base_url())) != (used.provider, _host(used.resolved_base_url())):
            changes.append(f"the provider's host to {_host(theirs.resolved_base_url())} ({theirs.provider}, "
                           f"in use: {_host(used.resolved_base_url())})")
        if theirs.ca_bundle != used.ca_bundle:
            changes.append(f"fimServer.caBundle to {theirs.ca_bundle!r} (in use: {used.ca_bundle!r})")
        if tuple(theirs.exclude_globs) != tuple(used.exclude_globs):
            changes.append(f"fimServer.excludeGlobs to {list(theirs.exclude_globs)} (in use: {list(used.exclude_globs)})")
        if not changes:
            return
        text = f"the workspace folder {folder} sets " + "; ".join(changes) + (
            ": settings a cloned repository can carry; fim-server uses the settings in use, check that folder's settings")
        if text not in self._folder_warnings:
            self._folder_warnings.add(text)
            log.warning("%s", text)

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


def _host(url: str) -> str:
    return (urlsplit(url).hostname or url).lower()


async def pull_section(
    request: Callable[[types.ConfigurationParams], Awaitable[Any]], folders: list[str] = ()
) -> tuple[bool, Any]:
    """Ask the client for the section, then for it as each of ``folders`` sees it:
    (True, result), or (False, None) when the client fails or does not answer (it
    keeps the settings it sent before)."""
    items = [types.ConfigurationItem(section=SECTION)]
    items += [types.ConfigurationItem(section=SECTION, scope_uri=folder) for folder in folders]
    try:
        result = await asyncio.wait_for(request(types.ConfigurationParams(items=items)), timeout=PULL_TIMEOUT_S)
    except Exception as exc:
        log.warning("could not read the %s configuration: %s", SECTION, exc)
        return False, None
    return True, result
