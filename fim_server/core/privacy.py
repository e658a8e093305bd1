"""What may leave the machine: the one place that decides whether a document's
text may go to the provider, and warnings about insecure transport.

Every piece of code that puts document text into a request (the current file,
and snippets of other open documents) must ask ``may_send(uri, language_id,
settings)`` first. A ``file:`` URI is also judged by the file it resolves to, so
a link with an innocent name (``notes.py -> .env``) is excluded like its target.
What may be sent still passes ``mask_secrets`` (private key blocks, keys of known
shapes, passwords in URLs, secret-named string values become ``***``) on its way
into a request (``core/prompt.py``).
"""

from __future__ import annotations

import ipaddress
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Iterable
from urllib.parse import unquote, urlsplit

from fim_server.core.globs import compile_glob
from fim_server.redaction import mask_content

# Files that hold secrets: never sent, whatever the settings say. Globs without a
# "/" match the file name; globs with one match the end of the path. SECURITY.md
# lists them; tests/unit/test_privacy.py opens each kind.
DEFAULT_EXCLUDE_GLOBS: tuple[str, ...] = (
    # environment files: .env, .env.local, .env-local, .env_production, .env~, .envrc, ...
    ".env*",
    "*.env",
    ".envs/**",
    # private keys and certificates with keys
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.keystore",
    "*.jks",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    ".ssh/**",
    # credential files of tools
    ".netrc",
    "_netrc",
    ".npmrc",
    ".yarnrc.yml",
    ".pypirc",
    ".pgpass",
    ".git-credentials",
    ".htpasswd",
    ".git/config",
    ".vault-token",
    ".config/gh/hosts.yml",
    ".config/hub",
    ".cargo/credentials",
    ".cargo/credentials.toml",
    ".m2/settings.xml",
    ".m2/settings-security.xml",
    "gradle.properties",
    ".gem/credentials",
    ".composer/auth.json",
    ".config/composer/auth.json",
    ".terraformrc",
    ".terraform.d/credentials.tfrc.json",
    ".boto",
    ".s3cfg",
    "*.gpg",
    ".gnupg/**",
    # cloud credentials
    ".aws/credentials",
    ".aws/config",
    "gcloud/application_default_credentials.json",
    "gcloud/credentials.db",
    "gcloud/access_tokens.db",
    "application_default_credentials.json",
    ".azure/**",
    ".kube/config",
    ".docker/config.json",
    "credentials.json",
    "service-account*.json",
    "*.tfvars",
    "terraform.tfstate*",
    "secrets.yml",
    "secrets.yaml",
    "secrets.json",
    "secrets.toml",
)
# Language ids whose documents are environment files, whatever their name.
SECRET_LANGUAGES: frozenset[str] = frozenset({"dotenv"})

def uri_path(uri: str) -> str:
    """The path part of a document URI, percent-decoded, with ``/`` separators."""
    parts = urlsplit(uri)
    path = unquote(parts.path) if parts.scheme else unquote(uri)
    return path.replace("\\", "/")


@lru_cache(maxsize=512)
def _compile(glob: str):
    """A glob as a matcher over a path (``match``): ``**`` spans folders, ``*`` and ``?`` do not."""
    return compile_glob(glob, escapes=False, git_brackets=False, flags=re.IGNORECASE)


def matching_glob(uri: str, globs: Iterable[str]) -> str | None:
    """The first glob that matches the document, or None.

    A glob without ``/`` is tested against the file name; one with ``/`` against
    every tail of the path (``.aws/credentials`` matches ``/home/u/.aws/credentials``);
    a glob starting with ``/`` against the whole path.
    """
    path = uri_path(uri)
    parts = [p for p in path.split("/") if p]
    name = parts[-1] if parts else path
    tails = ["/".join(parts[i:]) for i in range(len(parts))]
    for glob in globs:
        pattern = _compile(glob.strip().lstrip("/") if glob.startswith("/") else glob.strip())
        if "/" not in glob:
            if pattern.match(name):
                return glob
        elif glob.startswith("/"):
            if pattern.match("/".join(parts)):
                return glob
        elif any(pattern.match(tail) for tail in tails):
            return glob
    return None


def exclusion_reason(uri: str, language_id: str, settings) -> str | None:
    """Why this document must not be sent (plain words), or None when it may be.

    ``settings`` needs ``exclude_globs`` (the user's globs, added to the defaults)
    and ``disabled_languages``. A ``file:`` URI that resolves elsewhere (a
    symbolic link, or one in its folders) is judged by its target as well.
    """
    disabled, globs = tuple(settings.disabled_languages), tuple(getattr(settings, "exclude_globs", ()))
    reason = _reason(uri, language_id, disabled, globs)
    if reason is not None:
        return reason
    target = resolved_file_uri(uri)
    if target is not None:
        reason = _reason(target, "", disabled, globs)
        if reason is not None:
            return f"it is a link to {uri_path(target)}, and {reason}"
    return None


def folder_exclusion(uri: str, settings) -> str | None:
    """The glob that excludes every file under this folder, or None: a glob ending
    in ``/**`` whose folder part matches the folder as ``matching_glob`` matches a
    file (``.ssh/**``, ``private/**``). The index never lists such a folder."""
    for glob in DEFAULT_EXCLUDE_GLOBS + tuple(getattr(settings, "exclude_globs", ())):
        stripped = glob.strip()
        if stripped.endswith("/**") and len(stripped) > 3 and matching_glob(uri, (stripped[:-3],)) is not None:
            return glob
    return None


def resolved_file_uri(uri: str) -> str | None:
    """The URI of the file a ``file:`` URI resolves to, when that is another path
    (a symbolic link on the way); None for other schemes and plain files."""
    parts = urlsplit(uri)
    if parts.scheme != "file":
        return None
    path = unquote(parts.path)
    try:
        real = os.path.realpath(path)
    except (OSError, ValueError):
        return None
    if real == path or real == os.path.normpath(path):
        return None
    return Path(real).as_uri()


@lru_cache(maxsize=4096)  # asked on every keystroke; the answer depends only on these
def _reason(uri: str, language_id: str, disabled_languages: tuple[str, ...], exclude_globs: tuple[str, ...]) -> str | None:
    if language_id and language_id in disabled_languages:
        return f"language {language_id!r} is in fimServer.disabledLanguages"
    if language_id.lower() in SECRET_LANGUAGES:
        return f"its language is {language_id!r} (environment files hold secrets)"
    glob = matching_glob(uri, DEFAULT_EXCLUDE_GLOBS)
    if glob is not None:
        return f"it matches the built-in exclusion {glob!r} (files that hold secrets)"
    glob = matching_glob(uri, exclude_globs)
    if glob is not None:
        return f"it matches fimServer.excludeGlobs {glob!r}"
    return None


def may_send(uri: str, language_id: str, settings) -> bool:
    """Whether the text of this document may leave the machine (current file or context)."""
    return exclusion_reason(uri, language_id, settings) is None


def mask_secrets(text: str, known: Iterable[str] = ()) -> str:
    """Document text as it may leave the machine: secret-looking parts of an
    ordinary file masked (``fim_server.redaction.mask_content``), and the
    ``known`` secrets (the configured key) wherever they appear."""
    return mask_content(text, known)


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def transport_warning(base_url: str) -> str | None:
    """A warning when code and the API key would cross the network unencrypted."""
    parts = urlsplit(base_url)
    if parts.scheme != "http" or is_loopback(parts.hostname or ""):
        return None
    return (
        f"fimServer.baseUrl {base_url} uses plain http to a host that is not this machine: "
        "your code and API key travel unencrypted; use https://"
    )
