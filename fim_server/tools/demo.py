"""``--demo``: answers from the built-in fake DeepSeek on 127.0.0.1, so a newcomer
sees completions with no key and no network (``fim-server --demo`` serves LSP
that way; ``fim-server complete --demo`` completes once)."""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from fim_server.core.engine import CompletionEngine
from fim_server.fakes.deepseek import FakeDeepSeek, RecordedRequest, Reply
from fim_server.settings import Settings

DEMO_KEY = "demo-key"  # what the fake expects; not a secret, never sent off this machine


def server_reply(request: RecordedRequest) -> Reply:
    """The server's demo answer: ``a + b`` after ``return `` (examples/add.py), else
    a call that says where it came from."""
    prompt = str(request.body.get("prompt") or "")
    if prompt.rstrip(" ").endswith("return"):
        return Reply(text="a + b" if prompt.endswith(" ") else " a + b")
    return Reply(text="fim_server_demo()")


SERVER_TEXT: Callable[[RecordedRequest], Reply] = server_reply


def start_fake(text: str | Callable[[RecordedRequest], Reply] = "a + b") -> FakeDeepSeek:
    """The fake, started; ``text`` is its answer (or a function of the request)."""
    default = text if callable(text) else Reply(text=text)
    return FakeDeepSeek(default=default, api_key=DEMO_KEY).start()


def pinned(settings: Settings, fake: FakeDeepSeek) -> Settings:
    """``settings`` with the provider, address and key of the fake, whatever the
    editor sent (a demo must not reach a real provider with a real key)."""
    return replace(settings, provider="deepseek", base_url=fake.url, api_key=DEMO_KEY, ca_bundle=None)


def engine_factory(fake: FakeDeepSeek):
    """For ``create_server``: an engine whose settings always point at the fake."""

    class DemoEngine(CompletionEngine):
        def update_settings(self, settings: Settings) -> None:
            super().update_settings(pinned(settings, fake))

    return lambda settings, notify: DemoEngine(pinned(settings, fake), notify=notify)
