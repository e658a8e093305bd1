"""What editors tell the server about its suggestions: shown, accepted, partly
accepted. Counted locally by the engine (the ``fimServer.stats`` command);
nothing leaves the machine.

The names follow the notifications editors with Copilot support already send:
``textDocument/didShowCompletion`` (``{item}``),
``textDocument/didPartiallyAcceptCompletion`` (``{item, acceptedLength}``, in
UTF-16 units) and the command attached to every inline item, which an editor
runs when the whole item is accepted.
"""

from __future__ import annotations

import logging
from typing import Any

from lsprotocol import types

log = logging.getLogger(__name__)

DID_SHOW = "textDocument/didShowCompletion"
DID_PARTIALLY_ACCEPT = "textDocument/didPartiallyAcceptCompletion"
ACCEPT_COMMAND = "fimServer.accept"


def _get(obj: Any, name: str) -> Any:
    """A field of a params object that pygls may hand over as a dict or as an object."""
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def accepted_length(params: Any) -> int | None:
    """The accepted length from didPartiallyAcceptCompletion params, or None when
    missing or not a non-negative whole number."""
    value = _get(params, "acceptedLength")
    if value is None:
        value = _get(params, "accepted_length")
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def accept_command(text: str) -> types.Command:
    """The command put on each inline item. Its argument is the item's length in
    characters (no text, no file name)."""
    return types.Command(title="Accept completion", command=ACCEPT_COMMAND, arguments=[len(text)])


def did_show(ls: Any, params: Any = None) -> None:
    ls.engine.count("shown")


def did_partially_accept(ls: Any, params: Any = None) -> None:
    length = accepted_length(params)
    if length is None:
        log.info("%s without a valid acceptedLength; ignored", DID_PARTIALLY_ACCEPT)
        return
    ls.engine.count("partially_accepted")
    ls.engine.count("partially_accepted_units", length)


def accept(ls: Any, *args: Any) -> None:
    ls.engine.count("accepted")
    length = args[0] if args and isinstance(args[0], int) and not isinstance(args[0], bool) else None
    if length is not None and length >= 0:
        ls.engine.count("accepted_chars", length)


def register(server: Any) -> None:
    """Add the two notifications and the accept command to ``server``, counted by
    the engine (``engine.count``)."""
    server.feature(DID_SHOW)(did_show)
    server.feature(DID_PARTIALLY_ACCEPT)(did_partially_accept)
    server.command(ACCEPT_COMMAND)(accept)
