"""From a cursor context and the settings to the request a provider receives (pure)."""

from __future__ import annotations

from .config import Settings
from .context import CursorContext
from .postprocess.single_line import wants_single_line
from .providers.base import FimRequest


def build_request(ctx: CursorContext, settings: Settings) -> FimRequest:
    """Prompt = the prefix window, suffix = the suffix window.

    Mid-line (code follows the cursor) only one line is shown, so a newline stop
    saves the tokens of the lines that would be thrown away.
    """
    stop = list(settings.stop)
    single = wants_single_line(ctx)
    if settings.single_line_mid_line and single:
        stop.append("\n")
    return FimRequest(
        prompt=ctx.prefix,
        suffix=ctx.suffix,
        max_tokens=settings.max_tokens,
        temperature=settings.temperature,
        stop=tuple(dict.fromkeys(stop)),
        stream=settings.stream,
        first_line_only=settings.stream_early_stop and single,
    )
