"""From a cursor context and the settings to the request a provider receives (pure)."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from fim_server.settings import Settings
from fim_server.core.context import CursorContext
from fim_server.core.privacy import mask_secrets
from fim_server.redaction import secret_forms
from fim_server.core.language import comment_marker
from fim_server.core.postprocess.single_line import wants_single_line
from fim_server.providers.base import FimRequest, encodable


def build_request(ctx: CursorContext, settings: Settings) -> FimRequest:
    """Prompt = the prefix window, suffix = the suffix window (secret-looking
    parts of both, and of the snippets, masked: ``privacy.mask_secrets``).

    Mid-line (code follows the cursor) only one line is shown, so a newline stop
    saves the tokens of the lines that would be thrown away.
    """
    stop = list(settings.stop)
    single = wants_single_line(ctx)
    if settings.single_line_mid_line and single:
        stop.append("\n")
    known = secret_forms(settings.resolved_api_key())
    return FimRequest(
        prompt=encodable(mask_secrets(ctx.prefix, known)),
        suffix=encodable(mask_secrets(ctx.suffix, known)),
        max_tokens=settings.max_tokens,
        temperature=settings.temperature,
        stop=tuple(dict.fromkeys(stop)),
        stream=settings.stream,
        path=_path_of(ctx.notebook or ctx.uri),
        extra=tuple((path, mask_secrets(text, known)) for path, text in ctx.snippets),
        language_id=ctx.language_id,
        comment=comment_marker(ctx.language_id) or "",
        first_line_only=settings.stream_early_stop and single,
    )


def _path_of(uri: str) -> str:
    """A short path for the model: the last two parts of the URI's path."""
    path = unquote(urlsplit(uri).path) or uri
    return "/".join(path.rstrip("/").split("/")[-2:])
