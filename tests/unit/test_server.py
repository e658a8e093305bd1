"""fimServer/status: sent on changes only, a short while after them, so a state
that flips back quickly (an instant provider) sends nothing."""

from __future__ import annotations

import asyncio

from fim_server.lsp.server import STATUS_DELAY_S, STATUS_NOTIFICATION, create_server


def _recording_server():
    server = create_server()
    sent: list = []
    server.protocol.notify = lambda method, params=None: sent.append((method, params))
    return server, sent


def test_a_flip_back_within_the_delay_sends_nothing_and_a_lasting_state_one_message():
    server, sent = _recording_server()

    async def scenario():
        server.send_status("busy", "")
        server.send_status("idle", "")
        await asyncio.sleep(STATUS_DELAY_S * 3)
        assert sent == []
        server.send_status("busy", "")
        await asyncio.sleep(STATUS_DELAY_S * 3)
        assert sent == [(STATUS_NOTIFICATION, {"state": "busy", "reason": ""})]
        server.send_status("busy", "")  # no change: nothing more
        server.send_status("error", "401 sk-secret")
        await asyncio.sleep(STATUS_DELAY_S * 3)

    server.redactor.add("sk-secret")
    asyncio.run(scenario())
    assert len(sent) == 2
    assert sent[1][1]["state"] == "error" and "sk-secret" not in sent[1][1]["reason"]
