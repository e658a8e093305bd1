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
    # issue 13: what the first list missed
    "file:///p/.env-local",
    "file:///p/.env_production",
    "file:///p/.env~",
    "file:///p/.envs/.production/.django",
    "file:///p/.git/config",
    "file:///p/config/secrets.json",
    "file:///home/u/.config/gh/hosts.yml",
    "file:///home/u/.cargo/credentials.toml",
    "file:///home/u/.vault-token",
    "file:///home/u/.m2/settings.xml",
    "file:///p/gradle.properties",
    "file:///home/u/.gradle/gradle.properties",
    "file:///home/u/.ssh/keys/work/deploy",
    "file:///home/u/.ssh/config.d/hosts",
    "file:///home/u/.gnupg/private-keys-v1.d/abc.key",
]
SENT = [
    "file:///p/main.py",
    "file:///p/environment.py",  # not .env
    "file:///p/keyboard.ts",  # not *.key
    "file:///p/docs/ssh.md",
    "file:///p/src/config.json",  # not .docker/config.json
    "file:///p/aws/credentials.py",
    "file:///p/env/lib.py",
    "file:///p/src/git/config.py",  # not .git/config
    "file:///p/secrets_test.py",
    "file:///p/gradle/wrapper/gradle-wrapper.properties",
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
    assert ".env*" in DEFAULT_EXCLUDE_GLOBS and "*.pem" in DEFAULT_EXCLUDE_GLOBS


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


def test_dotenv_language_is_never_sent_whatever_the_name():
    reason = exclusion_reason("untitled:Untitled-2", "dotenv", Settings())
    assert reason is not None and "dotenv" in reason
    assert not may_send("file:///p/settings.txt", "dotenv", Settings())


def test_a_link_with_an_innocent_name_is_judged_by_its_target(tmp_path):
    secret = tmp_path / ".env"
    secret.write_text("API_KEY=sk-canary-linked\n")
    link = tmp_path / "notes.py"
    link.symlink_to(secret)
    folder_link = tmp_path / "src"
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "deploy.py").write_text("x = 1\n")
    folder_link.symlink_to(tmp_path / ".ssh")
    for path in (link, folder_link / "deploy.py"):
        reason = exclusion_reason(path.as_uri(), "python", Settings())
        assert reason is not None and "link to" in reason, path
    plain = tmp_path / "plain.py"
    plain.write_text("x = 1\n")
    assert may_send(plain.as_uri(), "python", Settings())
    assert may_send((tmp_path / "missing.py").as_uri(), "python", Settings())  # unsaved: judged by its name
