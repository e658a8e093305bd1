"""privacy: which documents may leave the machine, and transport warnings (tables)."""

from __future__ import annotations

import pytest

from fim_server.settings import Settings
from fim_server.core.health import ProviderHealth
from fim_server.providers import errors
from fim_server.core.privacy import DEFAULT_EXCLUDE_GLOBS, exclusion_reason, matching_glob, may_send, transport_warning

NEVER_SENT = [
    "file:///p/.env",
    "file:///p/.env.local",
    "file:///p/.env.production",
    "file:///p/settings.env",
    "file:///p/.envrc",
    "file:///p/cert.pem",
    "file:///p/tls.key",
    "file:///p/store.p12",
    "file:///home/u/.ssh/id_rsa",
    "file:///home/u/.ssh/id_rsa.pub",
    "file:///home/u/id_ed25519",
    "file:///home/u/id_ecdsa_sk",
    "file:///home/u/.ssh/config",
    "file:///home/u/.netrc",
    "file:///home/u/.npmrc",
    "file:///home/u/.pypirc",
    "file:///home/u/.pgpass",
    "file:///home/u/.git-credentials",
    "file:///home/u/.aws/credentials",
    "file:///home/u/.aws/config",
    "file:///home/u/.config/gcloud/application_default_credentials.json",
    "file:///home/u/.config/gcloud/credentials.db",
    "file:///home/u/.azure/accessTokens.json",
    "file:///home/u/.kube/config",
    "file:///home/u/.docker/config.json",
    "file:///p/terraform.tfstate",
    "file:///p/prod.tfvars",
    "file:///c%3A/Users/u/.ENV",  # Windows, percent-encoded, upper case
    "file:///p/my%20keys/server.KEY",
    "vscode-remote://ssh-remote%2Bbox/home/u/.env",
    "untitled:.env",
]
SENT = [
    "file:///p/main.py",
    "file:///p/environment.py",  # not .env
    "file:///p/keyboard.ts",  # not *.key
    "file:///p/docs/ssh.md",
    "file:///p/src/config.json",  # not .docker/config.json
    "file:///p/aws/credentials.py",
    "file:///p/env/lib.py",
    "untitled:Untitled-1",
]


@pytest.mark.parametrize("uri", NEVER_SENT)
def test_secret_files_are_never_sent(uri):
    assert not may_send(uri, "plaintext", Settings())
    assert "built-in exclusion" in exclusion_reason(uri, "plaintext", Settings())


@pytest.mark.parametrize("uri", SENT)
def test_ordinary_files_are_sent(uri):
    assert may_send(uri, "python", Settings())


@pytest.mark.parametrize(
    "glob, uri, matches",
    [
        ("**/secrets/**", "file:///p/secrets/a.py", True),
        ("**/secrets/**", "file:///p/deep/secrets/x/y.py", True),
        ("**/secrets/**", "file:///p/secretsauce/a.py", False),
        ("*.secret.py", "file:///p/app/keys.secret.py", True),
        ("*.secret.py", "file:///p/app/keys.py", False),
        ("internal/*", "file:///p/internal/plan.py", True),
        ("internal/*", "file:///p/internal/sub/plan.py", False),
        ("/p/private/**", "file:///p/private/a/b.py", True),
        ("/p/private/**", "file:///q/p/private/a.py", False),
        ("config?.yml", "file:///p/config1.yml", True),
        ("[ab].txt", "file:///p/a.txt", True),
        ("[ab].txt", "file:///p/c.txt", False),
    ],
)
def test_user_globs(glob, uri, matches):
    settings = Settings(exclude_globs=(glob,))
    assert (matching_glob(uri, settings.exclude_globs) == glob) is matches
    assert may_send(uri, "python", settings) is not matches
    if matches:
        assert "fimServer.excludeGlobs" in exclusion_reason(uri, "python", settings)


def test_disabled_languages():
    settings = Settings(disabled_languages=("markdown",))
    assert not may_send("file:///p/README.md", "markdown", settings)
    assert "disabledLanguages" in exclusion_reason("file:///p/README.md", "markdown", settings)
    assert may_send("file:///p/a.py", "python", settings)


def test_user_globs_cannot_remove_the_defaults():
    assert not may_send("file:///p/.env", "dotenv", Settings(exclude_globs=()))
    assert not may_send("file:///p/.env", "dotenv", Settings(exclude_globs=("nothing",), disabled_languages=()))
    assert ".env" in DEFAULT_EXCLUDE_GLOBS and "*.pem" in DEFAULT_EXCLUDE_GLOBS


@pytest.mark.parametrize(
    "url, warns",
    [
        ("https://api.deepseek.com/beta", False),
        ("http://127.0.0.1:8080", False),
        ("http://127.5.6.7", False),
        ("http://localhost:11434", False),
        ("http://[::1]:8000", False),
        ("http://api.example.com/v1", True),
        ("http://10.0.0.5:8000", True),
        ("http://localhost.example.com", True),
    ],
)
def test_transport_warning(url, warns):
    warning = transport_warning(url)
    assert (warning is not None) is warns
    if warns:
        assert "plain http" in warning and url in warning


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_fatal_block_allows_one_probe_per_interval():
    clock = Clock()
    health = ProviderHealth(clock, rng=lambda: 1.0)
    health.fatal_retry_s = 60
    verdict = health.failed(errors.InsufficientBalance("top up", status=402))
    assert verdict.notice == "top up"
    clock.now += 59
    assert not health.may_call()
    clock.now += 1
    assert health.may_call()  # the probe
    assert not health.may_call()  # only one
    assert health.failed(errors.InsufficientBalance("top up", status=402)).notice is None  # same episode
    clock.now += 30
    assert not health.may_call()
    clock.now += 31
    assert health.may_call()
    assert health.succeeded() is True  # healed: calls flow again
    assert health.may_call() and health.may_call()


def test_fatal_block_without_probe_interval_waits_for_settings():
    clock = Clock()
    health = ProviderHealth(clock)
    health.fatal_retry_s = 0
    health.failed(errors.AuthenticationFailed("key", status=401))
    clock.now += 1e6
    assert not health.may_call()
