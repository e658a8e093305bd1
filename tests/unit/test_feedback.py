"""didPartiallyAcceptCompletion params: the accepted length, or None for bad input."""

from __future__ import annotations

import pytest

from fim_server.lsp.feedback import ACCEPT_COMMAND, accept_command, accepted_length


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"item": {}, "acceptedLength": 3}, 3),
        ({"acceptedLength": 0}, 0),
        ({"acceptedLength": -1}, None),
        ({"acceptedLength": "3"}, None),
        ({"acceptedLength": True}, None),
        ({"acceptedLength": 2.5}, None),
        ({}, None),
        (None, None),
    ],
)
def test_accepted_length(params, expected):
    assert accepted_length(params) == expected


def test_accept_command_carries_only_the_length():
    cmd = accept_command("世界 ok")
    assert cmd.command == ACCEPT_COMMAND
    assert cmd.arguments == [5]
