"""lsp/server.py: fimServer/status sent on changes only, a short while after them (a
state that flips back quickly sends nothing); the workspace context after a settings
change (a newly excluded document stops arriving as a snippet at once)."""

from __future__ import annotations

import asyncio

from lsprotocol import types

from cursor import Recorder

from fim_server.lsp.server import STATUS_DELAY_S, STATUS_NOTIFICATION, create_server
from fim_server.core.engine import CompletionEngine
from fim_server.lsp import server as lsp_server

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


# -- workspace context after a settings change -------------------------------------------------
# The server's workspace context after a settings change (issue 13, item 6): a
# document newly excluded by ``excludeGlobs`` stops arriving as a snippet at once,
# even while the user keeps typing on the same line (when the snippet chooser would
# otherwise reuse its last choice).

MAIN = "import notes\n\nheader = parse_header(raw_bytes)\nfields = header.split(b':')\nprint(fields)\nvalue = \n"
NOTES = "parse_header raw_bytes fields split header\nthe canary-notes-line: parse_header(raw_bytes) fields\n"
CURSOR = (5, 8)


def _server(tmp_path):
    recorder = Recorder()
    server = lsp_server.create_server(
        lambda settings, notify: CompletionEngine(settings, notify=notify, provider_factory=lambda s, c: recorder)
    )
    main = (tmp_path / "main.py").as_uri()
    notes = (tmp_path / "notes.txt").as_uri()
    for uri, lang, text in ((main, "python", MAIN), (notes, "plaintext", NOTES)):
        server.open_document(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id=lang, version=1, text=text)))
    server.configuration.push({"fimServer": {"apiKey": "sk-snippet-test", "cacheSize": 0, "speculativeNext": False}})
    server.apply_settings()
    return server, recorder, main


def _type(server, uri: str, version: int, col: int, text: str) -> None:
    pos = types.Position(CURSOR[0], col)
    server.apply_changes(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangePartial(range=types.Range(pos, pos), text=text)],
        )
    )


def _ask(server, uri: str, col: int) -> None:
    params = types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri),
        position=types.Position(CURSOR[0], col),
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
    )
    asyncio.run(lsp_server.inline_completion(server, params))


def test_a_newly_excluded_open_document_is_no_longer_sent_while_typing_on_the_same_line(tmp_path):
    server, recorder, main = _server(tmp_path)
    _type(server, main, 2, CURSOR[1], "p")
    _ask(server, main, CURSOR[1] + 1)
    assert [path.rsplit("/", 1)[-1] for path, _ in recorder.requests[-1].extra] == ["notes.txt"]

    server.configuration.push({"fimServer": {"apiKey": "sk-snippet-test", "cacheSize": 0, "speculativeNext": False, "excludeGlobs": ["*.txt"]}})
    server.apply_settings(user_action=True)
    _type(server, main, 3, CURSOR[1] + 1, "a")  # the same line: the chooser's state is unchanged
    _ask(server, main, CURSOR[1] + 2)
    assert len(recorder.requests) == 2
    request = recorder.requests[-1]
    assert request.extra == ()
    assert "canary-notes-line" not in request.prompt + request.suffix
    asyncio.run(server.engine.aclose())
