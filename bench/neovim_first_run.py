"""From a fresh machine to the first ghost text in Neovim, timed step by step.

A fresh HOME and XDG folders, a copy of this repository as the plugin (what a
plugin manager's clone gives), no fim-server on PATH; then

  1. nvim --headless -c FimInstall -c qa        (the plugin's build step)
  2. Neovim with setup({ demo = true }): open a file, type, wait for ghost text

and prints the seconds of each. ``--before REV`` times the set-up the README gave
before :FimInstall existed, with the repository as it was at REV (256d3f1 is the
commit before this work): a venv and ``pip install .`` by hand, then Neovim with
``cmd`` pointing into that venv (same ghost-text step, answered by a fake
DeepSeek, since that server had no --demo).

    python bench/neovim_first_run.py [--before 256d3f1]

Needs nvim and pynvim (the test extra) and pip's usual index (PyPI, or the
machine's configured mirror): the install downloads the server's dependencies.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.editors.test_neovim import NOT_COPIED  # noqa: E402  (what a clone leaves out)
from tests.editors.tools import which  # noqa: E402


def fresh_env(tmp: Path) -> dict[str, str]:
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    python = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin") or os.path.realpath(sys.executable)
    (bin_dir / "python3").symlink_to(python)
    env = {
        "HOME": str(tmp / "home"),
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "XDG_CONFIG_HOME": str(tmp / "home" / ".config"),
        "XDG_DATA_HOME": str(tmp / "data"),
        "XDG_STATE_HOME": str(tmp / "state"),
        "XDG_CACHE_HOME": str(tmp / "cache"),
        "TERM": "xterm",
    }
    env.update({k: v for k, v in os.environ.items() if k.startswith("PIP_") and k != "PIP_CACHE_DIR"})
    (tmp / "home" / ".config" / "nvim").mkdir(parents=True)
    assert shutil.which("fim-server", path=env["PATH"]) is None
    return env


def first_ghost(nvim: str, env: dict[str, str], plugin: Path, setup: str, args: list, tmp: Path) -> float:
    import pynvim

    started = time.monotonic()
    nv = pynvim.attach("child", argv=["env", "-i", *(f"{k}={v}" for k, v in env.items()), nvim, "--embed", "--headless"])
    try:
        nv.exec_lua(f"local rtp, a, b = ...; vim.opt.rtp:append(rtp); vim.cmd.runtime('plugin/fim.lua'); require('fim').setup({setup})",
                    str(plugin / "editors" / "neovim"), *args)
        path = tmp / "add.py"
        path.write_text("def add(a, b):\n    return\n")
        nv.command(f"edit {path}")
        deadline = time.monotonic() + 30
        while not nv.exec_lua("local c = vim.lsp.get_clients({bufnr = 0})[1]; return c ~= nil and c.initialized == true"):
            if time.monotonic() > deadline:
                raise SystemExit("the server did not start within 30 s")
            time.sleep(0.05)
        nv.command("normal! 2G$")
        nv.input("a ")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            marks = nv.exec_lua("return vim.api.nvim_buf_get_extmarks(0, require('fim.ghost').ns, 0, -1, {details = true})")
            if marks:
                return time.monotonic() - started
            time.sleep(0.05)
        messages = nv.exec_lua("return vim.api.nvim_exec2('messages', {output = true}).output")
        status = nv.exec_lua("return require('fim').status()")
        raise SystemExit(f"no ghost text within 60 s; messages: {messages}; status: {status}")
    finally:
        try:
            nv.command("qa!")
        except Exception:
            pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", metavar="REV", help="time the manual venv set-up of the repository at REV instead")
    args = parser.parse_args()
    nvim = which("nvim")
    if nvim is None:
        raise SystemExit("nvim not found (pip install -e '.[test]')")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        env = fresh_env(tmp)
        plugin = tmp / "data" / "nvim" / "lazy" / "fim-server"
        started = time.monotonic()
        if args.before:
            plugin.mkdir(parents=True)
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.before], capture_output=True, check=True).stdout
            subprocess.run(["tar", "-x", "-C", str(plugin)], input=archive, check=True)
        else:
            shutil.copytree(ROOT, plugin, ignore=NOT_COPIED, symlinks=True)
        steps = [("copy of the repository (the clone)", time.monotonic() - started)]
        started = time.monotonic()
        if args.before:
            venv = tmp / "venv"
            subprocess.run(["python3", "-m", "venv", str(venv)], env=env, check=True)
            subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", str(plugin)], env=env, check=True)
            steps.append(("python3 -m venv + pip install . (by hand)", time.monotonic() - started))
            from fim_server.fakes.deepseek import FakeDeepSeek, Reply

            with FakeDeepSeek(default=Reply(text="a + b")) as fake:
                steps.append(("Neovim to the first ghost text", first_ghost(
                    nvim, env, plugin, "{cmd = {a}, baseUrl = b, apiKey = 'k'}",
                    [str(venv / "bin" / "fim-server"), fake.url], tmp)))
        else:
            done = subprocess.run([nvim, "--headless", "--cmd", f"set rtp+={plugin / 'editors' / 'neovim'}", "-c", "FimInstall", "-c", "qa"],
                                  env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(done.stderr)
            steps.append(("nvim --headless -c FimInstall -c qa", time.monotonic() - started))
            steps.append(("Neovim to the first ghost text (demo = true)", first_ghost(nvim, env, plugin, "{demo = true}", [], tmp)))
    for what, seconds in steps:
        print(f"{seconds:7.1f} s  {what}")
    total = sum(s for _, s in steps)
    print(f"{total:7.1f} s  total ({total / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
