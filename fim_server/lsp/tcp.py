"""TCP mode (``fim-server --tcp``): one client, proven by a token, LSP only.

Anything on the machine can open a connection to a loopback port, a web page
included (a ``POST`` with a text body). So:

* the first message of a connection must be ``initialize`` whose
  ``initializationOptions`` hold ``tcpToken`` equal to the server's token (given
  with ``--tcp-token`` or ``FIM_SERVER_TCP_TOKEN``, else made up at start and
  printed on stderr); the token is taken out before anything else sees the
  parameters (pygls's log, the settings);
* a connection that starts like an HTTP request (``GET /``, ``POST / HTTP/1.1``)
  or with a header LSP does not have gets ``403`` and is closed;
* until a connection has passed that check nothing of it reaches the session,
  and nothing of the session is written to it;
* one session at a time: while a client is served, every other connection is
  closed at once (it can neither read nor change the session nor end it); the
  server ends when its client disconnects, as with stdio.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import secrets
import threading
from typing import Any, Callable

from pygls.io_ import run_async

from fim_server.lsp.protocol import recover_header

log = logging.getLogger(__name__)

TOKEN_OPTION = "tcpToken"
TOKEN_ENV = "FIM_SERVER_TCP_TOKEN"
FIRST_MESSAGE_S = 10.0  # a connection that has not sent its initialize by then is closed
MAX_FIRST_MESSAGE = 1 << 20
_HTTP_START = re.compile(rb"(?:GET|POST|PUT|HEAD|OPTIONS|DELETE|PATCH|CONNECT|TRACE|PRI) |HTTP/")
_LSP_HEADER = re.compile(rb"(?i)(?:content-length|content-type):")
FORBIDDEN = b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 33\r\nConnection: close\r\n\r\nfim-server speaks LSP, not HTTP.\n"


def new_token() -> str:
    return secrets.token_urlsafe(24)


class Refused(Exception):
    """A connection that may not become (or join) the session; the text says why."""


def check_first(body: bytes, token: str) -> bytes:
    """The first message, with the token taken out; ``Refused`` unless it is an
    ``initialize`` request carrying the right token."""
    try:
        message = json.loads(body)
    except ValueError:
        raise Refused("the first message is not JSON") from None
    if not isinstance(message, dict) or message.get("method") != "initialize":
        raise Refused("the first message is not initialize")
    params = message.get("params")
    options = params.get("initializationOptions") if isinstance(params, dict) else None
    given = options.pop(TOKEN_OPTION, None) if isinstance(options, dict) else None
    if not isinstance(given, str) or not hmac.compare_digest(given.encode(), token.encode()):
        raise Refused(f"initializationOptions.{TOKEN_OPTION} is missing or wrong")
    return json.dumps(message).encode()


class GateReader:
    """The reader the message loop gets for one connection: before the session is
    granted, it checks the first header line (LSP, not HTTP) and the first body
    (``check_first``), then calls ``grant``; afterwards it passes bytes through,
    recovering at the next header after a too-short ``Content-Length``."""

    def __init__(self, stream: asyncio.StreamReader, token: str, grant: Callable[[], None], peer: Any) -> None:
        self._stream = stream
        self._token = token
        self._grant = grant
        self._peer = peer
        self.granted = False
        self.refusal: str | None = None
        self.http = False
        self._deadline: float | None = None  # the whole first message must come by then

    async def _read(self, call):
        if self.granted:
            return await call
        loop = asyncio.get_running_loop()
        if self._deadline is None:
            self._deadline = loop.time() + FIRST_MESSAGE_S
        return await asyncio.wait_for(call, max(0.0, self._deadline - loop.time()))

    async def readline(self) -> bytes:
        try:
            line = await self._read(self._stream.readline())
        except (ValueError, asyncio.TimeoutError, ConnectionError) as exc:
            return self._refuse(f"no LSP header ({type(exc).__name__})") if not self.granted else b"X-Skipped: too long\r\n"
        if not self.granted and line.strip():
            if _HTTP_START.match(line):
                self.http = True
                return self._refuse("it starts like an HTTP request")
            if not _LSP_HEADER.match(line):
                return self._refuse("its first line is not an LSP header")
        return recover_header(line) if self.granted else line

    async def readexactly(self, n: int) -> bytes:
        if not self.granted and n > MAX_FIRST_MESSAGE:
            return self._refuse(f"a first message of {n} bytes")
        try:
            body = await self._read(self._stream.readexactly(n))
        except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
            return b""
        if self.granted:
            return body
        try:
            body = check_first(body, self._token)
            self._grant()
        except Refused as refusal:
            return self._refuse(str(refusal))
        self.granted = True
        return body

    def _refuse(self, why: str) -> bytes:
        self.refusal = why
        return b""


def serve_tcp(server: Any, host: str, port: int, token: str, on_listen: Callable[[str, int], None] | None = None) -> int:
    """Serve one LSP client on TCP until it disconnects (see the module docstring)."""
    server._stop_event = stop = threading.Event()
    state: dict[str, Any] = {"session": None}

    async def main() -> None:
        finished = asyncio.Event()

        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            peer = writer.get_extra_info("peername")
            if state["session"] is not None:
                log.warning("refused a connection from %s: TCP mode serves one client at a time", peer)
                writer.close()
                return

            def grant() -> None:
                if state["session"] is not None:
                    raise Refused("another client holds the session")
                state["session"] = writer
                server.protocol.set_writer(writer)
                log.info("TCP client %s accepted", peer)

            gate = GateReader(reader, token, grant, peer)
            try:
                await run_async(stop_event=stop, reader=gate, protocol=server.protocol,
                                logger=logging.getLogger("pygls.io_"), error_handler=server.report_server_error)
            except (ConnectionError, SystemExit) as exc:
                if isinstance(exc, SystemExit):
                    state["exit"] = exc.code
            finally:
                if gate.refusal is not None and not gate.granted:
                    log.warning("refused a connection from %s: %s", peer, gate.refusal)
                    if gate.http:
                        writer.write(FORBIDDEN)
                        try:
                            await writer.drain()
                        except ConnectionError:
                            pass
                writer.close()
                if gate.granted:
                    finished.set()

        listener = await asyncio.start_server(connection, host, port)
        bound = listener.sockets[0].getsockname()
        if on_listen is not None:
            on_listen(bound[0], bound[1])
        async with listener:
            await finished.wait()

    code = 0
    try:
        asyncio.run(main())
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    exit_code = state.get("exit")
    return exit_code if isinstance(exit_code, int) else code
