"""Settings from initializationOptions, workspace/configuration and
didChangeConfiguration, applied without a restart; bad values fall back."""

from __future__ import annotations

import asyncio

from lsprotocol import types

from fim_server.fakes.deepseek import Reply

from .conftest import API_KEY, inline, open_doc, start

URI = "file:///work/settings.py"


async def test_bad_value_one_message_default_used_server_keeps_working(client, fake):
    fake.set_default(Reply(text="ok"))
    await start(client, fake, maxTokens="lots", temperature=9)
    await asyncio.sleep(0.2)
    warnings = [m.message for m in client.messages if m.type == types.MessageType.Warning]
    assert len(warnings) == 1
    assert "fimServer.maxTokens" in warnings[0] and "fimServer.temperature" in warnings[0]
    open_doc(client, URI, "x = \n")
    assert [i.insert_text for i in await inline(client, URI, 0, 4)] == ["ok"]
    body = fake.completion_requests()[0].body
    assert body["max_tokens"] == 256 and body["temperature"] == 0


async def test_workspace_configuration_section_wins_over_initialization_options(client, fake):
    fake.set_default(Reply(text="ok"))
    client.set_configuration({"model": "deepseek-v4-pro", "maxTokens": 64}, section="fimServer")
    await start(client, fake, configuration=True, model="deepseek-v4-flash")
    await asyncio.sleep(0.3)
    open_doc(client, URI, "x = \n")
    await inline(client, URI, 0, 4)
    body = fake.completion_requests()[0].body
    assert body["model"] == "deepseek-v4-pro"
    assert body["max_tokens"] == 64


async def test_did_change_configuration_applies_without_restart(client, fake):
    fake.set_default(Reply(text="ok"))
    await start(client, fake)
    open_doc(client, URI, "x = \n")
    await inline(client, URI, 0, 4)
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"fimServer": {"model": "renamed-model", "stream": False}})
    )
    await asyncio.sleep(0.2)
    await inline(client, URI, 0, 4)
    first, second = fake.completion_requests()
    assert first.body["model"] == "deepseek-v4-flash"
    assert second.body["model"] == "renamed-model" and second.body["stream"] is False


async def test_did_change_configuration_without_settings_pulls_the_section(client, fake):
    fake.set_default(Reply(text="ok"))
    await start(client, fake, configuration=True)
    await asyncio.sleep(0.2)
    client.set_configuration({"maxTokens": 32}, section="fimServer")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    await asyncio.sleep(0.3)
    open_doc(client, URI, "x = \n")
    await inline(client, URI, 0, 4)
    assert fake.completion_requests()[0].body["max_tokens"] == 32


async def test_disabled_setting_and_language_send_nothing(client, fake):
    await start(client, fake, disabledLanguages=["markdown"])
    open_doc(client, "file:///work/notes.md", "# Notes\n", language="markdown")
    result = await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri="file:///work/notes.md"),
            position=types.Position(line=1, character=0),
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic),
        )
    )
    assert not result
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"fimServer": {"enabled": False}}))
    await asyncio.sleep(0.2)
    open_doc(client, URI, "x = \n")
    assert await inline(client, URI, 0, 4) == []
    assert fake.completion_requests() == []


async def test_api_key_from_environment_is_used_and_never_logged(client, fake):
    # the server process was started without DEEPSEEK_API_KEY; give it through settings
    fake.set_default(Reply(text="ok"))
    await start(client, fake, apiKey=API_KEY, maxTokens=-1)
    open_doc(client, URI, "x = \n")
    await inline(client, URI, 0, 4)
    text = "\n".join([m.message for m in client.messages] + [m.message for m in client.log_messages])
    assert "settings applied" in text or "ready" in text
    assert API_KEY not in text


async def test_shutdown_and_exit_are_clean(client, fake):
    await start(client, fake)
    await client.shutdown_session()
    assert client._server.returncode == 0


async def eventually(condition, timeout_s: float = 10.0) -> bool:
    """Wait for the server's answer without a fixed sleep (a busy machine may be slow)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


HUGE = 10**400  # a 401-digit number: on the old code parse_settings raised OverflowError


async def test_a_400_digit_number_at_initialize_falls_back_alone(client, fake):
    fake.set_default(Reply(text="ok"))
    result = await start(client, fake, maxTokens=HUGE, temperature=-HUGE, excludeGlobs=["*.txt"])
    assert result.capabilities is not None  # an answer, not an internal error
    assert await eventually(lambda: any(m.type == types.MessageType.Warning for m in client.messages))
    warnings = [m.message for m in client.messages if m.type == types.MessageType.Warning]
    assert len(warnings) == 1 and "fimServer.maxTokens" in warnings[0] and "401-digit number" in warnings[0]
    open_doc(client, "file:///work/notes.txt", "secret = \n", language="plaintext")
    assert await inline(client, "file:///work/notes.txt", 0, 9) == []  # the exclusion sent with it applies
    open_doc(client, URI, "x = \n")
    assert [i.insert_text for i in await inline(client, URI, 0, 4)] == ["ok"]
    [request] = fake.completion_requests()
    assert request.body["max_tokens"] == 256 and "secret" not in request.body["prompt"]


async def test_a_400_digit_number_in_did_change_configuration_falls_back_alone(client, fake):
    fake.set_default(Reply(text="ok"))
    await start(client, fake)
    open_doc(client, "file:///work/notes.txt", "secret = \n", language="plaintext")
    open_doc(client, URI, "x = \n")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"fimServer": {
        "baseUrl": fake.url, "apiKey": API_KEY, "debounceMs": 0, "timeoutMs": HUGE, "excludeGlobs": ["*.txt"]}}))
    assert await eventually(lambda: any("fimServer.timeoutMs" in m.message for m in client.messages))
    assert await inline(client, "file:///work/notes.txt", 0, 9) == []  # the exclusion applies
    assert [i.insert_text for i in await inline(client, URI, 0, 4)] == ["ok"]
    assert all("secret" not in r.body["prompt"] for r in fake.completion_requests())


async def test_a_password_in_base_url_is_refused_and_never_shown(client, fake):
    url = fake.url.replace("http://", "http://user:CANARY-PASSWORD@")
    await start(client, fake, baseUrl=url)
    assert await eventually(lambda: any("user name or password" in m.message for m in client.messages))
    text = "\n".join([m.message for m in client.messages] + [m.message for m in client.log_messages])
    assert "user name or password" in text and "CANARY" not in text


from .rawlsp import RawServer, server_env  # noqa: E402


class FolderClient(RawServer):
    """Answers workspace/configuration per item: the user's section unscoped, each
    folder's own section for its scopeUri."""

    def __init__(self, *args, user: dict, folders: dict, **kwargs) -> None:
        self.user, self.folders = user, folders
        super().__init__(*args, **kwargs)

    def on_request(self, message: dict):
        if message.get("method") != "workspace/configuration":
            return None
        items = message["params"]["items"]
        return [self.folders.get(item.get("scopeUri"), self.user) if item.get("scopeUri") else self.user for item in items]


def test_folder_settings_that_move_the_host_certificates_or_exclusions_are_logged(fake, tmp_path):
    # issue 18 (4): a cloned repository's folder settings may point elsewhere
    evil, plain = "file:///work/cloned", "file:///work/mine"
    user = {"baseUrl": fake.url, "apiKey": API_KEY, "debounceMs": 0}
    (tmp_path / "their-ca.pem").write_text("not a certificate\n")
    folder_settings = {**user, "baseUrl": "http://attacker.example/beta", "caBundle": str(tmp_path / "their-ca.pem"),
                       "excludeGlobs": []}
    server = FolderClient("-v", env=server_env(), user=user, folders={evil: folder_settings, plain: {**user, "excludeGlobs": ["*.sql"]}})
    try:
        caps = {"textDocument": {"inlineCompletion": {}}, "workspace": {"configuration": True, "workspaceFolders": True}}
        server.request("initialize", {"processId": None, "capabilities": caps, "initializationOptions": {"excludeGlobs": ["*.sql"]},
                                      "workspaceFolders": [{"uri": evil, "name": "cloned"}, {"uri": plain, "name": "mine"}]})
        server.notify("initialized", {})
        server.open("file:///work/cloned/a.py", "x = \n")
        assert server.inline("file:///work/cloned/a.py", 0, 4) == ["completion()"]  # from the user's baseUrl
        warnings = [m["message"] for m in server.messages("window/logMessage") if m["type"] == 2]
    finally:
        server.close()
    [warning] = [w for w in warnings if "workspace folder" in w]
    assert evil in warning and "attacker.example" in warning and "their-ca.pem" in warning and "excludeGlobs" in warning, warning
    assert plain not in warning
    assert all(r.path.endswith("/completions") or r.path == "/models" for r in fake.requests)
