"""End-to-end fixtures: the real ``fim-server`` process over stdio (pytest-lsp)
against the fake DeepSeek server on 127.0.0.1."""

from __future__ import annotations

import os
import sys
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from fim_server.fakes.deepseek import FakeDeepSeek

API_KEY = "sk-e2e-RECOGNISABLE-KEY-4242"
SERVER_ENV = {k: v for k, v in os.environ.items() if k != "DEEPSEEK_API_KEY"}


@pytest.fixture
def fake():
    with FakeDeepSeek(api_key=API_KEY) as server:
        yield server


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "fim_server"], server_env=SERVER_ENV))
async def client(lsp_client: LanguageClient):
    yield
    await stop(lsp_client)


async def stop(lsp_client: LanguageClient) -> None:
    """shutdown + exit, unless the test already ended the server."""
    server = lsp_client._server
    if server is not None and server.returncode is None:
        await lsp_client.shutdown_session()


def capabilities(inline: bool = True, encodings: list[str] | None = None, configuration: bool = False) -> types.ClientCapabilities:
    return types.ClientCapabilities(
        general=types.GeneralClientCapabilities(position_encodings=encodings) if encodings else None,
        workspace=types.WorkspaceClientCapabilities(configuration=configuration, did_change_configuration=types.DidChangeConfigurationClientCapabilities()),
        text_document=types.TextDocumentClientCapabilities(
            inline_completion=types.InlineCompletionClientCapabilities() if inline else None,
            completion=types.CompletionClientCapabilities(),
            synchronization=types.TextDocumentSyncClientCapabilities(),
        ),
    )


# Speculative calls (one more request after each shown suggestion) and in-flight
# reuse change the request counts that tests of one call at a time check; those
# tests turn them off, tests/e2e/test_replay.py and the soak test them switched on.
PLAIN = {"speculativeNext": False, "inflightReuse": False}


def settings_for(fake: FakeDeepSeek, **overrides: Any) -> dict[str, Any]:
    base = {"baseUrl": fake.url, "apiKey": API_KEY, "debounceMs": 0, **PLAIN}
    base.update(overrides)
    return base


async def start(client: LanguageClient, fake: FakeDeepSeek | None, *, inline=True, encodings=None, configuration=False, **overrides):
    options = settings_for(fake, **overrides) if fake is not None else {**PLAIN, **overrides}
    return await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities(inline, encodings, configuration),
            initialization_options=options,
        )
    )


def open_doc(client: LanguageClient, uri: str, text: str, language: str = "python", version: int = 1) -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id=language, version=version, text=text)
        )
    )


def edit(client: LanguageClient, uri: str, version: int, line: int, char: int, text: str, end: tuple[int, int] | None = None) -> None:
    end_line, end_char = end if end else (line, char)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(start=types.Position(line=line, character=char), end=types.Position(line=end_line, character=end_char)),
                    text=text,
                )
            ],
        )
    )


async def inline(client: LanguageClient, uri: str, line: int, char: int, automatic: bool = True):
    result = await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=char),
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Automatic if automatic else types.InlineCompletionTriggerKind.Invoked
            ),
        )
    )
    if result is None:
        return []
    return result.items if isinstance(result, types.InlineCompletionList) else result
