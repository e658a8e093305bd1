"""Provider failures, split into those that heal by themselves and those that need
the user to change something.

* ``TransientError`` (timeouts, 429, 500, 503, dropped connections, garbled
  answers): no items, back off, warn once per episode, recover by themselves.
* ``FatalError`` (400, 401, 402, 422, an unknown model): tell the user once what to
  change, then send nothing until the settings change.

Every message is written for the user and never contains the API key.
"""

from __future__ import annotations


class ProviderError(Exception):
    """A provider call that produced no completion."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class TransientError(ProviderError):
    """Worth retrying later; ``retry_after`` (seconds) when the provider said so."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class RateLimited(TransientError):
    pass


class ProviderUnavailable(TransientError):
    """5xx answers, refused or dropped connections."""


class ProviderTimeout(TransientError):
    pass


class BadResponse(TransientError):
    """An answer that does not parse as the provider's format."""


class FatalError(ProviderError):
    """Needs a change of settings (or account) before another request can succeed."""


class AuthenticationFailed(FatalError):
    pass


class InsufficientBalance(FatalError):
    pass


class ModelRejected(FatalError):
    pass


class RequestRejected(FatalError):
    pass


class MissingApiKey(FatalError):
    pass
