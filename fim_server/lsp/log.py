"""Logging: to the client's log (``window/logMessage``) and optionally a file,
with secrets masked everywhere and pygls's own records kept out of the client log."""

from __future__ import annotations

import logging
from typing import Callable, Mapping

from fim_server.providers.catalog import environment_keys
from fim_server.redaction import redact, secret_forms

LOGGER_NAME = "fim_server"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class Redactor(logging.Filter):
    """Replaces every known secret, and anything shaped like a key setting, a
    bearer token, a password in a URL or a key (``fim_server.redaction``), with
    ``***`` in log records and messages. pygls logs the initialize parameters and
    configuration answers verbatim, before the server has read the key from them:
    the shapes catch those.

    It starts out knowing the value of every provider's key variable
    (``providers.catalog.KEY_VARIABLES``) that is set, used or not."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self._secrets: list[str] = []
        for key in environment_keys(environ):
            self.add(key)

    def add(self, secret: str | None) -> None:
        forms = [f for f in secret_forms(secret) if f not in self._secrets]
        if forms:
            self._secrets = sorted(self._secrets + forms, key=len, reverse=True)

    def redact(self, text: str) -> str:
        return redact(text, self._secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def crash_report(error: BaseException, redactor: Redactor) -> str:
    """What a crash prints on stderr: one line, then the traceback, secrets masked."""
    import traceback

    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return redactor.redact(f"fim-server stopped by an unexpected error: {error}\n{text}")


class ClientLogHandler(logging.Handler):
    """Forwards records to the editor through ``send(level, text)``.

    Records from pygls itself are skipped: they describe the messages this handler
    sends, so forwarding them would echo every log message back as another one.
    """

    def __init__(self, send: Callable[[int, str], None], level: int = logging.INFO) -> None:
        super().__init__(level)
        self._send = send
        self._busy = False

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("pygls") or self._busy:
            return
        self._busy = True
        try:
            self._send(record.levelno, self.format(record))
        except Exception:  # the client may be gone; logging must never raise
            pass
        finally:
            self._busy = False


def configure(verbose: bool = False, log_file: str | None = None, redactor: Redactor | None = None) -> logging.Logger:
    """Set up the package logger (and pygls's into the file); nothing goes to stdout."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False
    if redactor is not None:
        logger.addFilter(redactor)
    if log_file:
        handler = logging.FileHandler(log_file, encoding="utf-8")
        handler.setFormatter(logging.Formatter(FORMAT))
        if redactor is not None:
            handler.addFilter(redactor)
        logger.addHandler(handler)
        pygls_logger = logging.getLogger("pygls")
        pygls_logger.setLevel(logging.DEBUG if verbose else logging.WARNING)
        pygls_logger.addHandler(handler)
    return logger
