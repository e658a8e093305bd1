"""The language server: thin LSP handlers around ``CompletionEngine``.

``create_server()`` builds a fresh server (no module-level instance), so tests and
the command line each get their own.
"""

from __future__ import annotations

import asyncio
import logging
from typing import BinaryIO, Callable

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from fim_server import __version__
from fim_server.core.context import NoContext, Selected
from fim_server.core.documents import UTF16
from fim_server.core.engine import CompletionEngine, Trigger
from fim_server.core.workspace import Workspace
from fim_server.lsp import convert, feedback, keycheck, notebooks, repo
from fim_server.lsp.client import OTHER, client_kind, for_client
from fim_server.lsp.configuration import MAX_FOLDERS, Configuration, pull_section
from fim_server.lsp.diagnostics import resource_counts
from fim_server.lsp.log import LOGGER_NAME, ClientLogHandler, Redactor
from fim_server.lsp.protocol import FimProtocol, choose_encoding, serve_stdio
from fim_server.settings import Settings, describe

__all__ = ["FimServer", "FimProtocol", "attach_client_log", "choose_encoding", "create_server"]

log = logging.getLogger(__name__)

COMPLETION_TRIGGERS = [".", "(", "[", ",", ":"]
STATS_COMMAND = "fimServer.stats"
PROVIDER_TIMES_COMMAND = "fimServer.providerTimes"  # for bench/: drains the recent provider call durations
DOCUMENT_TEXT_COMMAND = "fimServer.documentText"  # for tests: the server's copy of a document (null if not open)
STATUS_NOTIFICATION = "fimServer/status"  # editor feedback: busy / idle / error with a short reason
STATUS_DELAY_S = 0.03

_MESSAGE_TYPES = {
    "error": types.MessageType.Error,
    "warning": types.MessageType.Warning,
    "info": types.MessageType.Info,
}
_LOG_TYPES = [
    (logging.ERROR, types.MessageType.Error),
    (logging.WARNING, types.MessageType.Warning),
    (logging.INFO, types.MessageType.Info),
]


class FimServer(LanguageServer):
    def __init__(self, engine_factory: Callable[[Settings, Callable[[str, str], None]], CompletionEngine] | None = None):
        super().__init__("fim-server", __version__, protocol_cls=FimProtocol, notebook_document_sync=notebooks.SYNC)
        self.open_files = Workspace()
        self.documents = self.open_files.documents
        self.encoding = UTF16
        self.redactor = Redactor()
        self.configuration = Configuration()
        self.client_kind = OTHER  # who is talking: the fix a message names depends on it (lsp/client.py)
        self._client_has_inline = False
        self._pending_problems: list[str] = []
        self._refusals: dict[str, str] = {}  # uri -> why it gets no completions (logged once)
        self._status = ("idle", "")  # the last fimServer/status sent
        self._status_wanted = self._status
        self._status_flush: asyncio.TimerHandle | None = None
        settings = Settings()
        self.redactor.add(settings.resolved_api_key())
        factory = engine_factory or (lambda s, notify: CompletionEngine(s, notify=notify))
        self.engine: CompletionEngine = factory(settings, self.notify)
        self.engine.connect(on_status=self.send_status, with_snippets=self.open_files.snippet_hook(self.engine))

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> int:
        """Serve LSP on stdio until ``exit`` or end of input; returns the exit code."""
        return serve_stdio(self, stdin, stdout)

    # -- messages -------------------------------------------------------------
    def notify(self, level: str, message: str) -> None:
        """One ``window/showMessage`` (the engine decides when one is due), naming
        the fix in the words of the client in use."""
        message = for_client(message, self.engine.settings, self.client_kind)
        self.window_show_message(
            types.ShowMessageParams(type=_MESSAGE_TYPES.get(level, types.MessageType.Info), message=self.redactor.redact(message))
        )

    def send_status(self, state: str, reason: str) -> None:
        """``fimServer/status`` {state: busy | idle | error, reason}, sent on changes
        only and STATUS_DELAY_S after the change: a state that flips back within that
        time (a provider answering in a few milliseconds) costs no message and no
        flicker, and the message is never written ahead of a request or an answer."""
        self._status_wanted = (state, for_client(reason, self.engine.settings, self.client_kind))
        if self._status_flush is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._flush_status()
            return
        self._status_flush = loop.call_later(STATUS_DELAY_S, self._flush_status)

    def _flush_status(self) -> None:
        self._status_flush = None
        wanted = self._status_wanted
        if wanted == self._status:
            return
        self._status = wanted
        params = {"state": wanted[0], "reason": self.redactor.redact(wanted[1])}
        if wanted[0] == "error":  # fatal (needs the user) or transient, seconds to the retry
            params.update(self.engine.failure())
        self.protocol.notify(STATUS_NOTIFICATION, params)

    def send_log(self, levelno: int, text: str) -> None:
        kind = next((t for lvl, t in _LOG_TYPES if levelno >= lvl), types.MessageType.Log)
        self.window_log_message(types.LogMessageParams(type=kind, message=self.redactor.redact(text)))

    def report_server_error(self, error: Exception, source) -> None:
        # An internal error is logged, never shown as a popup per keystroke.
        log.error("internal error (%s): %s", getattr(source, "__name__", source), error)

    # -- settings -------------------------------------------------------------
    def apply_settings(self, user_action: bool = False) -> None:
        """The merged settings (see ``configuration``) handed to the engine.

        A configuration change from the user (``user_action``) also lifts a block
        left by a fatal provider error, even when the values stayed the same (the
        user may have fixed the account or the environment instead).
        """
        settings, problems = self.configuration.merged()
        self.redactor.add(settings.resolved_api_key())
        self._warn(problems)
        if settings != self.engine.settings:
            self.use_settings(settings)
            log.info("settings applied: %s", describe(settings))
        elif user_action:
            self.engine.lift_block()

    def use_settings(self, settings: Settings) -> None:
        """New settings for every later request. The snippet chooser's last choice
        goes too: it was made under the old exclusions."""
        old = self.engine.settings
        self.engine.update_settings(settings)
        self.open_files.settings_changed()
        repo.settings_changed(self, old, settings)

    def _warn(self, problems: list[str]) -> None:
        warning = self.configuration.news(problems)
        if warning:
            self.notify("warning", warning)

    async def pull_configuration(self, user_action: bool = False) -> None:
        if not self.configuration.can_pull:
            if user_action:
                self.apply_settings(user_action)
            return
        folders = self.workspace_folders()
        answered, result = await pull_section(self.workspace_configuration_async, folders)
        if not answered:
            return
        self.configuration.pulled(result, folders)
        self.apply_settings(user_action)

    def workspace_folders(self) -> list[str]:
        """The URIs of the workspace folders the client named (at most MAX_FOLDERS)."""
        try:
            workspace = self.workspace
        except Exception:  # before initialize there is no workspace
            return []
        folders = [folder.uri for folder in workspace.folders.values()]
        if not folders and workspace.root_uri:
            folders = [workspace.root_uri]
        return folders[:MAX_FOLDERS]

    # -- documents ------------------------------------------------------------
    def open_document(self, params: types.DidOpenTextDocumentParams) -> None:
        doc = params.text_document
        self.open_files.open(doc.uri, doc.text, doc.version, doc.language_id)
        self.open_files.document_changed(doc.uri, doc.language_id, doc.text)  # the index: live text wins

    def close_document(self, uri: str) -> None:
        self.open_files.close(uri)
        self.open_files.document_closed(uri)
        self.engine.forget(uri)

    def apply_changes(self, params: types.DidChangeTextDocumentParams) -> None:
        self.apply_edits(params.text_document.uri, params.text_document.version, params.content_changes)

    def apply_edits(self, uri: str, version: int | None, changes) -> None:
        """Content changes of a file or of a notebook cell, in the negotiated encoding."""
        doc = self.documents.get(uri)
        if doc is None:
            log.warning("change for a document that is not open: %s", uri)
            return
        self.engine.count("changes")
        self.open_files.busy()  # a keystroke: the index's worker yields to what follows
        if doc.version is not None and version is not None and version <= doc.version:
            log.warning("change with version %s after version %s for %s; applied anyway", version, doc.version, uri)
        record = self.open_files.notebooks.touched(uri) is None  # a cell's lines are not the notebook's
        for change in changes:
            rng = getattr(change, "range", None)
            if rng is not None and record:
                self.open_files.recent_edits.record(uri, rng.start.line)
            if rng is None:
                doc.apply_change(change.text)
            else:
                doc.apply_change(
                    change.text,
                    (rng.start.line, rng.start.character),
                    (rng.end.line, rng.end.character),
                    self.encoding,
                )
        doc.version = version

    def context_at(self, uri: str, position: types.Position, selected: types.SelectedCompletionInfo | None = None):
        """The cursor context, or None (with a log line) for a bad document or position."""
        self.open_files.busy()  # the index's worker yields to this request
        doc = self.documents.get(uri)
        if doc is None:
            log.info("completion asked for a document that is not open: %s", uri)
            return None
        if position.line < 0 or position.character < 0 or position.line >= len(doc.lines):
            log.info("completion asked at %s:%s, outside the document (%s lines)", position.line, position.character, len(doc.lines))
            return None
        line, col = doc.to_codepoints(position.line, position.character, self.encoding)
        item = None
        if selected_applies(selected, position):
            _, start = doc.to_codepoints(line, selected.range.start.character, self.encoding)
            _, end = doc.to_codepoints(line, selected.range.end.character, self.encoding)
            item = Selected(start, end, selected.text)
        try:
            return self.open_files.context(doc, line, col, self.engine.settings, item)
        except NoContext as refusal:
            self._refused(uri, str(refusal))
            return None

    def _refused(self, uri: str, reason: str | None) -> bool:
        """No completion where ``reason`` says why: one log line per document and
        reason (not one per keystroke)."""
        if reason is None:
            return False
        if self._refusals.get(uri) != reason:
            self._refusals[uri] = reason
            if len(self._refusals) > 256:
                self._refusals.pop(next(iter(self._refusals)))
            log.info("no completions in %s: %s", uri, reason)
        return True


def selected_applies(selected: types.SelectedCompletionInfo | None, position: types.Position) -> bool:
    """Whether a selected completion-menu item shapes the completion: it is on the
    cursor's line (and on that line only); then the ghost text completes as if it
    were inserted, and the answer replaces its range."""
    return selected is not None and selected.range.start.line == position.line == selected.range.end.line


# -- handlers: module-level functions, registered on each server by create_server ---
def initialize(ls: FimServer, params: types.InitializeParams) -> None:
    caps = params.capabilities
    ls._client_has_inline = bool(caps.text_document and caps.text_document.inline_completion is not None)
    settings, problems = ls.configuration.initialize(params)
    ls.client_kind = client_kind(params.client_info, params.initialization_options)
    ls.redactor.add(settings.resolved_api_key())
    ls.use_settings(settings)
    ls._pending_problems = problems


async def initialized(ls: FimServer, params: types.InitializedParams) -> None:
    ls._warn(ls._pending_problems)
    log.info(
        "fim-server %s ready: provider %s, model %s, position encoding %s",
        __version__,
        ls.engine.settings.provider,
        ls.engine.settings.resolved_model(),
        ls.encoding,
    )
    ls.engine.prepare()  # build the HTTP client now, not on the first keystroke
    await ls.pull_configuration()
    await repo.initialized(ls)  # the workspace index, on its own thread


async def did_change_configuration(ls: FimServer, params: types.DidChangeConfigurationParams) -> None:
    if ls.configuration.push(params.settings):
        ls.apply_settings(user_action=True)
    else:
        await ls.pull_configuration(user_action=True)
    await repo.configuration_changed(ls)  # the editor's files.exclude, read again


async def inline_completion(ls: FimServer, params: types.InlineCompletionParams):
    selected = params.context.selected_completion_info if params.context else None
    ctx = ls.context_at(params.text_document.uri, params.position, selected)
    if ctx is None:
        return []
    trigger = Trigger.INVOKED if params.context and params.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked else Trigger.AUTOMATIC
    suggestions = await ls.engine.complete(ctx, trigger)
    texts = [s.text for s in suggestions]
    spans = dict(replace_after=[s.replace_after for s in suggestions], line_suffix=ctx.line_suffix, encoding=ls.encoding)
    if selected_applies(selected, params.position):
        return convert.inline_items(texts, params.position, selected.range, selected.text, **spans)
    return convert.inline_items(texts, params.position, **spans)


async def completion(ls: FimServer, params: types.CompletionParams):
    fallback = ls.engine.settings.completion_fallback
    if fallback == "never" or (fallback == "auto" and ls._client_has_inline):
        return None
    ctx = ls.context_at(params.text_document.uri, params.position)
    if ctx is None:
        return None
    suggestions = await ls.engine.complete(ctx, Trigger.AUTOMATIC)
    items = convert.completion_items(
        [s.text for s in suggestions], ctx, params.position, ls.encoding, [s.replace_after for s in suggestions]
    )
    return types.CompletionList(is_incomplete=True, items=items)


def stats(ls: FimServer, *args) -> dict:
    return {
        **ls.engine.snapshot(),
        "open_documents": len(ls.documents),
        "pending_handlers": len(ls.protocol._request_futures),
        **resource_counts(ls.engine.http_client),
        **repo.stats(ls),
        "setup": setup_summary(ls.engine.settings),
    }


def setup_summary(settings: Settings) -> dict:
    """What an editor shows as the set-up (:FimStatus): provider, model, address,
    and whether a key is set, never the key."""
    return {
        "provider": settings.provider,
        "model": settings.resolved_model(),
        "baseUrl": settings.resolved_base_url(),
        "keySet": bool(settings.resolved_api_key()),
        "keyEnv": settings.defaults.key_env,
        "keyRequired": settings.defaults.key_required,
    }


def document_text(ls: FimServer, *args) -> str | None:
    uri = args[0] if args and isinstance(args[0], str) else None
    doc = ls.documents.get(uri) if uri else None
    return None if doc is None else doc.source


def provider_times(ls: FimServer, *args) -> list[float]:
    return ls.engine.drain_provider_seconds()


async def shutdown(ls: FimServer, *args) -> None:
    ls.open_files.stop_index()
    await ls.engine.aclose()


def create_server(engine_factory=None) -> FimServer:
    server = FimServer(engine_factory)
    server.feature(types.INITIALIZE)(initialize)
    server.feature(types.INITIALIZED)(initialized)
    server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)(did_change_configuration)
    server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())(inline_completion)
    server.feature(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionOptions(trigger_characters=COMPLETION_TRIGGERS, resolve_provider=False),
    )(completion)
    server.command(STATS_COMMAND)(stats)
    server.command(DOCUMENT_TEXT_COMMAND)(document_text)
    server.command(PROVIDER_TIMES_COMMAND)(provider_times)
    feedback.register(server)  # didShowCompletion, didPartiallyAcceptCompletion, the accept command
    keycheck.register(server)  # fimServer.checkKey: one request after an editor stored a key
    repo.register(server)  # watched files, workspace folders, saves: the index stays current
    server.feature(types.SHUTDOWN)(shutdown)
    return server


def attach_client_log(server: FimServer, verbose: bool) -> None:
    handler = ClientLogHandler(server.send_log, logging.DEBUG if verbose else logging.INFO)
    handler.addFilter(server.redactor)
    logger = logging.getLogger(LOGGER_NAME)
    logger.addFilter(server.redactor)
    logger.addHandler(handler)
