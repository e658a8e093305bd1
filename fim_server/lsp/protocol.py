"""pygls, adjusted: the protocol subclass (message dispatch, answers to malformed
requests, masked error answers, our document store fed by the sync notifications)
and a stdin reader that runs on the event loop.

Nothing here knows about completions; the server (``lsp/server.py``) does.
"""

from __future__ import annotations

import asyncio
import contextvars
import io
import logging
import os
import re
import stat
import sys
import threading
from typing import TYPE_CHECKING, Any, BinaryIO

import attrs
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidRequest
from pygls.io_ import StdinAsyncReader, StdoutWriter, run_async
from pygls.protocol import LanguageServerProtocol, lsp_method

from fim_server.core.documents import UTF8, UTF16
from fim_server.lsp import notebooks

if TYPE_CHECKING:
    from fim_server.lsp.server import FimServer

log = logging.getLogger(__name__)


def choose_encoding(offered: list[str] | None) -> str:
    """UTF-8 when the client offers it (no conversion of ASCII-free lines needed on
    its side), otherwise UTF-16, which every client must support."""
    return UTF8 if offered and UTF8 in offered else UTF16


class FimProtocol(LanguageServerProtocol):
    """pygls's protocol with these changes: our document store replaces pygls's
    workspace copy (edits touch only the changed lines), the position encoding
    prefers UTF-8, requests are dispatched without pygls's slow type checks,
    malformed requests get an error answer instead of none, error answers are
    masked, and finished handler futures are not kept forever."""

    @property
    def fim(self) -> "FimServer":
        return self._server  # type: ignore[return-value]

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams):
        general = params.capabilities.general
        offered = list(general.position_encodings or []) if general else []
        encoding = choose_encoding([str(e.value if hasattr(e, "value") else e) for e in offered])
        general = attrs.evolve(general or types.GeneralClientCapabilities(), position_encodings=[encoding])
        capabilities = attrs.evolve(params.capabilities, general=general)
        self.fim.encoding = encoding
        result = yield from super().lsp_initialize(attrs.evolve(params, capabilities=capabilities))
        return result

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams):
        self.fim.open_document(params)
        yield from ()

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams):
        self.fim.apply_changes(params)
        yield from ()

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams):
        self.fim.close_document(params.text_document.uri)
        yield from ()

    # notebooks: our store, not pygls's workspace copy (lsp/notebooks.py)
    @lsp_method(types.NOTEBOOK_DOCUMENT_DID_OPEN)
    def lsp_notebook_document__did_open(self, params: types.DidOpenNotebookDocumentParams):
        notebooks.did_open(self.fim, params)
        yield from ()

    @lsp_method(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
    def lsp_notebook_document__did_change(self, params: types.DidChangeNotebookDocumentParams):
        notebooks.did_change(self.fim, params)
        yield from ()

    @lsp_method(types.NOTEBOOK_DOCUMENT_DID_SAVE)
    def lsp_notebook_document__did_save(self, params: types.DidSaveNotebookDocumentParams):
        notebooks.did_save(self.fim, params)
        yield from ()

    @lsp_method(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def lsp_notebook_document__did_close(self, params: types.DidCloseNotebookDocumentParams):
        notebooks.did_close(self.fim, params)
        yield from ()

    def handle_message(self, message):
        """pygls tells requests from notifications with isinstance checks against
        runtime-checkable Protocols, about 0.1 ms a message on Python 3.11: for
        those two (nearly every message) the same test by attributes. A request
        with another jsonrpc version gets an error answer; answers from the client,
        notifications with another version and messages after shutdown go the usual
        way."""
        method = getattr(message, "method", None)
        if method is not None and message.jsonrpc != self.VERSION and hasattr(message, "id") and not self._shutdown:
            # pygls drops it unanswered, and the client would wait forever: an error answer
            log.info("request %r with jsonrpc %r answered with an error", method, message.jsonrpc)
            error = JsonRpcInvalidRequest(f'"jsonrpc" must be "2.0", not {message.jsonrpc!r}')
            self._send_response(message.id, None, error.to_response_error())
            return None
        if method is None or message.jsonrpc != self.VERSION or self._shutdown:
            return super().handle_message(message)
        context = contextvars.copy_context()
        if hasattr(message, "id"):
            context.run(self._handle_request, message.id, method, getattr(message, "params", None))
        else:
            context.run(self._handle_notification, method, getattr(message, "params", None))

    def structure_message(self, data):
        """pygls drops a request whose params do not fit the protocol's types
        without answering it, so the editor would wait forever: answer it with the
        error (a log line follows from the reader loop)."""
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            msg_id = data.get("id") if isinstance(data, dict) and "method" in data else None
            if isinstance(msg_id, (int, str)) and not isinstance(msg_id, bool):
                self._send_response(msg_id, None, exc.to_response_error())
            raise

    def _send_response(self, msg_id, result=None, error=None):
        # An error answer carries an exception's text and traceback: mask secrets in both.
        if error is not None:
            redact = self.fim.redactor.redact
            data = error.data
            if isinstance(data, dict) and isinstance(data.get("traceback"), list):
                data = {**data, "traceback": [redact(str(line)) for line in data["traceback"]]}
            elif isinstance(data, str):
                data = redact(data)
            error = attrs.evolve(error, message=redact(error.message), data=data)
        super()._send_response(msg_id, result, error)

    def _execute_handler(self, msg_id, handler, callback, args=None, kwargs=None):
        super()._execute_handler(msg_id, handler, callback, args, kwargs)
        future = self._request_futures.get(msg_id)
        if future is not None:
            futures = self._request_futures

            def prune(done, msg_id=msg_id):
                if futures.get(msg_id) is done:
                    del futures[msg_id]

            if future.done():
                prune(future)
            else:
                future.add_done_callback(prune)


_HEADER_LINE = re.compile(rb"[A-Za-z][A-Za-z0-9-]*:")
_LATE_CONTENT_LENGTH = re.compile(rb"Content-Length: \d+\r\n\Z")


def recover_header(line: bytes) -> bytes:
    """A header line as the message loop should see it. After a message whose
    ``Content-Length`` was too short, the rest of its body and the next message's
    first header arrive as one line (``...}}Content-Length: 57``): when such a
    line is no header itself but ends with a whole ``Content-Length`` header, that
    header is what it returns, so the next message is read; anything else is
    returned as it came."""
    if line[:1].isalpha() and _HEADER_LINE.match(line) or not line.strip():
        return line
    found = _LATE_CONTENT_LENGTH.search(line)
    if found is None:
        return line
    log.info("skipped %d bytes after a message (its Content-Length was too short); reading on at the next header",
             found.start())
    return found.group(0)


class _PipeReader:
    """stdin read by the event loop itself. pygls's default reader hands every
    header line and body to a worker thread; on a pipe that costs more than the
    rest of a keystroke's handling."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self._stream = stream

    async def readline(self) -> bytes:
        try:
            return recover_header(await self._stream.readline())
        except ValueError:  # a header line past the limit: not LSP; skip it
            return b"X-Skipped: too long\r\n"

    async def readexactly(self, n: int) -> bytes:
        try:
            return await self._stream.readexactly(n)
        except asyncio.IncompleteReadError:
            return b""


async def _stdin_reader(stdin: BinaryIO, executor) -> Any:
    loop = asyncio.get_running_loop()
    try:
        mode = os.fstat(stdin.fileno()).st_mode
    except (AttributeError, ValueError, OSError, io.UnsupportedOperation):
        mode = 0
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        # a file, /dev/null or a terminal: epoll refuses the first two (after connect_read_pipe
        # has returned, where it cannot be caught), so read them on a worker thread
        return StdinAsyncReader(stdin, executor)
    stream = asyncio.StreamReader(limit=1 << 16, loop=loop)
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream, loop=loop), stdin)
    except (ValueError, OSError):  # a regular file or something else a loop cannot watch
        return StdinAsyncReader(stdin, executor)
    return _PipeReader(stream)


def serve_stdio(server: Any, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> int:
    """Serve LSP on stdio until ``exit`` or end of input; returns the exit code."""
    server._stop_event = threading.Event()
    stdin = stdin or sys.stdin.buffer
    server.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))

    async def serve() -> None:
        reader = await _stdin_reader(stdin, server.thread_pool)
        await run_async(
            stop_event=server._stop_event,
            reader=reader,
            protocol=server.protocol,
            logger=logging.getLogger("pygls.io_"),
            error_handler=server.report_server_error,
        )

    code = 0
    try:
        asyncio.run(serve())
    except SystemExit as exc:  # the exit notification: 0 after shutdown, else 1
        code = exc.code if isinstance(exc.code, int) else 0
    except (BrokenPipeError, KeyboardInterrupt):
        log.info("the client went away")
    finally:
        server.shutdown()
    return code
