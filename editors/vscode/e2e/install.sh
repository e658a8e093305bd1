#!/usr/bin/env bash
# Installs code-server and playwright-core for the VS Code end-to-end test.
# Needs Debian's ripgrep, libkrb5-dev and pkg-config (see .ci/run): code-server's
# ripgrep postinstall would download a binary, so a cache made from /usr/bin/rg
# is put where it looks first.
set -euo pipefail
cd "$(dirname "$0")"
cache="${TMPDIR:-/tmp}/vscode-ripgrep-cache-1.15.11"
archive="$cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
if [ ! -f "$archive" ]; then
  mkdir -p "$cache"
  work="$(mktemp -d)"
  cp "$(command -v rg)" "$work/rg"
  tar -czf "$archive" -C "$work" rg
  rm -rf "$work"
fi
export npm_config_unsafe_perm=true npm_config_yes=true
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
# The server's dependencies as wheels: the test that installs the extension alone
# lets its private venv install from here (PIP_NO_INDEX), so the test needs no network.
python3 -m pip download --quiet --disable-pip-version-check --dest wheelhouse ../../..
