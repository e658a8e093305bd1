"""The API key never reaches a log file, the client's log or a message, even with -v."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from fim_server.fakes.deepseek import Reply

from .conftest import API_KEY, SERVER_ENV, inline, open_doc, start, stop

LOG_FILE = Path(tempfile.mkdtemp(prefix="fim-secrets-")) / "server.log"


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "fim_server", "-v", "--log-file", str(LOG_FILE)],
        server_env={**SERVER_ENV, "DEEPSEEK_API_KEY": "sk-env-ANOTHER-SECRET-1313"},
    )
)
async def verbose_client(lsp_client: LanguageClient):
    yield
    await stop(lsp_client)


async def test_key_absent_from_verbose_log_file_client_log_and_messages(verbose_client, fake):
    client = verbose_client
    fake.push(Reply(text="fine"))
    fake.set_default(Reply.error(401, f"Authentication Fails, Your api key: {API_KEY} is invalid"))
    client.set_configuration({"apiKey": API_KEY}, section="fimServer")
    await start(client, fake, configuration=True)
    open_doc(client, "file:///work/s.py", "x = \n")
    assert [i.insert_text for i in await inline(client, "file:///work/s.py", 0, 4)] == ["fine"]
    open_doc(client, "file:///work/t.py", "y = \n")
    assert await inline(client, "file:///work/t.py", 0, 4) == []
    await client.shutdown_session()
    log_text = LOG_FILE.read_text(encoding="utf-8")
    assert "Sending data" in log_text or "initialize" in log_text, "the verbose log must hold the protocol traffic"
    shown = "\n".join([m.message for m in client.messages] + [m.message for m in client.log_messages])
    for secret in (API_KEY, "sk-env-ANOTHER-SECRET-1313"):
        assert secret not in log_text
        assert secret not in shown
    assert any(m.type == types.MessageType.Error for m in client.messages)
