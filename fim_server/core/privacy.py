"""What may leave the machine: the one place that decides whether a document's
text may go to the provider, and warnings about insecure transport.

Every piece of code that puts document text into a request (the current file,
and any future "context from other open documents") must ask
``may_send(uri, language_id, settings)`` first. Pure functions, no state.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from functools import lru_cache
from typing import Iterable
from urllib.parse import unquote, urlsplit

# Files that hold secrets: never sent, whatever the settings say. Globs without a
# "/" match the file name; globs with one match the end of the path.
DEFAULT_EXCLUDE_GLOBS: tuple[str, ...] = (
    # environment files
    ".env",
    ".env.*",
    "*.env",
    ".envrc",
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
    ".ssh/*",
    # credential files of tools
    ".netrc",
    "_netrc",
    ".npmrc",
    ".yarnrc.yml",
    ".pypirc",
    ".pgpass",
    ".git-credentials",
    ".htpasswd",
    "*.gpg",
    ".gnupg/*",
    # cloud credentials
    ".aws/credentials",
    ".aws/config",
    "gcloud/application_default_credentials.json",
    "gcloud/credentials.db",
    "gcloud/access_tokens.db",
    "application_default_credentials.json",
    ".azure/*",
    ".kube/config",
    ".docker/config.json",
    "credentials.json",
    "service-account*.json",
    "*.tfvars",
    "terraform.tfstate*",
    "secrets.yml",
    "secrets.yaml",
)

def uri_path(uri: str) -> str:
    """The path part of a document URI, percent-decoded, with ``/`` separators."""
    parts = urlsplit(uri)
    path = unquote(parts.path) if parts.scheme else unquote(uri)
    return path.replace("\\", "/")


@lru_cache(maxsize=512)
def _compile(glob: str) -> re.Pattern[str]:
    """A glob as a regex over a path: ``**`` spans folders, ``*`` and ``?`` do not."""
    out = []
    i = 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        else:
            ch = glob[i]
            if ch == "*":
                out.append("[^/]*")
            elif ch == "?":
                out.append("[^/]")
            elif ch == "[":
                end = glob.find("]", i + 1)
                if end < 0:
                    out.append(re.escape(ch))
                else:
                    out.append(fnmatch.translate(glob[i : end + 1])[4:-3])  # the bracket class only
                    i = end
            else:
                out.append(re.escape(ch))
            i += 1
    return re.compile("".join(out) + r"\Z", re.IGNORECASE)


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
    and ``disabled_languages``.
    """
    return _reason(uri, language_id, tuple(settings.disabled_languages), tuple(getattr(settings, "exclude_globs", ())))


@lru_cache(maxsize=4096)  # asked on every keystroke; the answer depends only on these
def _reason(uri: str, language_id: str, disabled_languages: tuple[str, ...], exclude_globs: tuple[str, ...]) -> str | None:
    if language_id and language_id in disabled_languages:
        return f"language {language_id!r} is in fimServer.disabledLanguages"
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
