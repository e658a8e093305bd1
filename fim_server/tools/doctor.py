"""``fim-server doctor``: check a setup the way the editor would use it, in plain words.

Steps, each reported as ``ok``, ``FAIL`` or ``skip`` with one sentence:
settings valid, API key present (masked), provider reachable, the model
available (``GET /models`` or the provider's equivalent), one tiny FIM request
with its latency and usage. The exit code is 0 only when nothing failed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
import os
import time
from typing import Mapping

import httpx

from fim_server.providers import errors
from fim_server.settings import Settings, mask
from fim_server.providers.http import make_client
from fim_server.providers import FimRequest, create_provider

PROBE_PREFIX = "def add(a, b):\n    return "
PROBE_SUFFIX = "\n\nprint(add(1, 2))\n"
PROBE_TOKENS = 16


@dataclass
class Check:
    name: str
    status: str  # "ok", "FAIL", "skip" or "warn"
    detail: str

    def line(self) -> str:
        return f"  {self.status:<5} {self.name}: {self.detail}"


async def diagnose(
    settings: Settings,
    problems: list[str],
    *,
    client: httpx.AsyncClient | None = None,
    environ: Mapping[str, str] | None = None,
    timeout_s: float | None = None,
) -> list[Check]:
    env = os.environ if environ is None else environ
    timeout = timeout_s if timeout_s is not None else max(settings.timeout_ms / 1000, 10.0)
    checks: list[Check] = []
    model, base_url = settings.resolved_model(), settings.resolved_base_url()

    if problems:
        checks.append(Check("settings", "FAIL", "; ".join(problems)))
    else:
        checks.append(Check("settings", "ok", f"valid: provider {settings.provider}, baseUrl {base_url}, "
                                               f"model {model}, template {settings.template}"))

    key = settings.resolved_api_key(env)
    defaults = settings.defaults
    if key:
        checks.append(Check("API key", "ok", f"{mask(key)} from {settings.api_key_source(env)}"))
    elif defaults.key_required:
        checks.append(Check("API key", "FAIL", f"none ({settings.api_key_source(env)}): {settings.key_hint()}"))
        checks.append(Check("reachable", "skip", "no key to ask with"))
        return checks
    else:
        checks.append(Check("API key", "ok", f"none set; {settings.provider} servers usually need none "
                                             f"({settings.key_hint()} if yours does)"))

    own = client is None
    client = client or make_client()
    try:
        provider = create_provider(settings, client)
        checks += await _within(timeout, _reach_and_model(provider, settings, timeout), "reachable")
        if any(c.status == "FAIL" and c.name in ("reachable", "API key accepted") for c in checks):
            checks.append(Check("FIM request", "skip", "not sent: fix the problem above first"))
            return checks
        checks += await _within(timeout, _probe(provider, settings, timeout), "FIM request")
    finally:
        if own:
            await client.aclose()
    return checks


async def _within(timeout: float, check, name: str) -> list[Check]:
    """A whole check within ``timeout`` seconds: httpx's timeouts bound each read,
    so an upstream that drips a byte now and then would hold a check for ever."""
    try:
        result = await asyncio.wait_for(check, timeout)
    except asyncio.TimeoutError:
        return [Check(name, "FAIL", f"no complete answer within {timeout:g} s (the server is too slow or stalled)")]
    return result if isinstance(result, list) else [result]


async def _reach_and_model(provider, settings: Settings, timeout: float) -> list[Check]:
    model = settings.resolved_model()
    started = time.perf_counter()
    try:
        if settings.provider == "llamacpp":
            await provider.health(timeout)
        models = await provider.list_models(timeout)
    except errors.AuthenticationFailed as error:
        return [Check("reachable", "ok", f"{provider.base_url} answers"), Check("API key accepted", "FAIL", error.message)]
    except (errors.ProviderUnavailable, errors.ProviderTimeout) as error:
        return [Check("reachable", "FAIL", error.message)]
    except errors.ProviderError as error:
        return [Check("reachable", "ok", f"{provider.base_url} answers"),
                Check("model", "warn", f"cannot list the models ({error.message}); the FIM request below decides")]
    elapsed = (time.perf_counter() - started) * 1000
    out = [Check("reachable", "ok", f"{provider.base_url} answered in {elapsed:.0f} ms")]
    if settings.provider == "llamacpp":
        out.append(Check("model", "ok", f"llama.cpp serves {', '.join(models) or 'one model'} (ready)"))
        out.append(await _llama_context(provider, settings, timeout))
    elif model in models:
        out.append(Check("model", "ok", f"{model} is available"))
    else:
        offered = ", ".join(models[:12]) + (" ..." if len(models) > 12 else "") if models else "nothing"
        out.append(Check("model", "FAIL", f"{model!r} is not offered; the server lists {offered}: set fimServer.model"))
    return out


async def _llama_context(provider, settings: Settings, timeout: float) -> Check:
    """llama.cpp's ``/props``: is each slot's context large enough for fim-server's prompts?"""
    from fim_server.providers.llamacpp import prompt_tokens_at_most, server_facts

    try:
        _, props = await provider.get_json("/props", timeout)
    except errors.ProviderError as error:
        return Check("context", "warn", f"cannot read /props ({error.message}); the context size is not checked")
    n_ctx, slots, model = server_facts(props)
    need = prompt_tokens_at_most(settings)
    if not n_ctx:
        return Check("context", "warn", "/props does not say the context size; it is not checked")
    facts = f"{n_ctx} tokens per slot, {slots or '?'} slot(s){', model ' + model if model else ''}"
    if n_ctx < need:
        return Check("context", "FAIL", f"{facts}: smaller than a prompt with its answer (about {need} tokens); start "
                                        f"llama-server with -c {(slots or 1) * max(4096, need)} or more (-c is shared by the slots)")
    return Check("context", "ok", f"{facts}: holds a prompt with its answer (about {need} tokens)")


async def _probe(provider, settings: Settings, timeout: float) -> Check:
    request = FimRequest(prompt=PROBE_PREFIX, suffix=PROBE_SUFFIX, max_tokens=PROBE_TOKENS,
                         temperature=settings.temperature, stop=settings.stop, stream=settings.stream, path="doctor.py")
    started = time.perf_counter()
    try:
        completion = await provider.complete(request, timeout)
    except errors.ProviderError as error:
        return Check("FIM request", "FAIL", error.message)
    elapsed = (time.perf_counter() - started) * 1000
    usage = completion.usage
    template = getattr(provider, "template", None)
    note = f"; the server rejects `suffix`, so raw prompts use the {template.name} template" if getattr(
        provider, "raw_mode", False) and template else ""
    if settings.provider == "llamacpp":
        note = f"; {provider.layout_note()}"
    return Check(
        "FIM request",
        "ok",
        f"answered in {elapsed:.0f} ms with {completion.text[:60]!r} (finish {completion.finish_reason or '-'}; "
        f"tokens: prompt {usage.prompt_tokens}, completion {usage.completion_tokens}, "
        f"cache hit {usage.cache_hit_tokens}){note}",
    )


# settings that choose where code and the key go, or what is never sent: when a project
# folder set them, doctor says so as a warning (a cloned repository can carry settings)
GUARDED = ("provider", "baseUrl", "caBundle", "excludeGlobs", "apiKey")


def origins_check(origins: Mapping[str, str], told: object = None) -> Check:
    """Where each setting that is not a default came from: ``--set``, the settings file,
    or, when the client says so in the file's ``$sources`` (``{"baseUrl": "folder
    /repo"}``), the client's own account (user settings, a folder, ...)."""
    said = {str(k): str(v)[:200] for k, v in told.items()} if isinstance(told, dict) else {}
    if not origins and not said:
        return Check("setting sources", "ok", "all defaults (no settings file, no --set)")
    parts, folder = [], []
    for name in sorted(set(origins) | set(said)):
        where = said.get(name) or origins.get(name, "?")
        if name in said and origins.get(name) == "--set":
            where = "--set"  # the command line wins over what the file says
        parts.append(f"{name} from {where}")
        if name in GUARDED and "folder" in where.lower():
            folder.append(name)
    if folder:
        return Check("setting sources", "warn", "; ".join(parts) + f" (set by a project folder: {', '.join(folder)}; "
                                                "check that you trust it)")
    return Check("setting sources", "ok", "; ".join(parts))


def report(settings: Settings, checks: list[Check]) -> tuple[str, int]:
    """The printed report and the exit code (0 only when nothing failed)."""
    failed = [c for c in checks if c.status == "FAIL"]
    lines = [f"fim-server doctor: provider {settings.provider}", *(c.line() for c in checks)]
    if failed:
        lines.append(f"{len(failed)} problem{'s' if len(failed) > 1 else ''}: completions will not work until fixed.")
    else:
        lines.append("All checks passed: completions should work with these settings.")
    return "\n".join(lines), 1 if failed else 0


def as_json(settings: Settings, checks: list[Check]) -> dict:
    """The report for programs (the Neovim plugin's :checkhealth): the resolved
    provider, model and address, which variable holds the key (never the key), the
    checks, and ``ok``."""
    defaults = settings.defaults
    return {
        "provider": settings.provider,
        "model": settings.resolved_model(),
        "baseUrl": settings.resolved_base_url(),
        "keyEnv": defaults.key_env,
        "keyRequired": defaults.key_required,
        "checks": [{"name": c.name, "status": c.status, "detail": _without_key(c, settings)} for c in checks],
        "ok": not any(c.status == "FAIL" for c in checks),
    }


def _without_key(check: Check, settings: Settings) -> str:
    """The detail, where the key's check shows not even the masked key: only where it comes from."""
    if check.name == "API key" and check.status == "ok" and settings.resolved_api_key():
        return f"present ({settings.api_key_source()})"
    return check.detail
