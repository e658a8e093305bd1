"""``complete --workspace DIR``: a folder indexed the way the server indexes an
editor's workspace folder, so a one-off completion gets the repository context a
completion in the editor would (``repoContext``, ``repoContextMaxFiles`` and the
exclusions apply; nothing is read that the server would not read)."""

from __future__ import annotations

import os
from pathlib import Path

from fim_server.core.privacy import exclusion_reason
from fim_server.core.workspace import Workspace
from fim_server.settings import Settings


def index_folder(workspace: Workspace, folder: str, settings: Settings) -> int:
    """Index ``folder`` into ``workspace`` here and now; the number of files indexed
    (0 where the settings turn the repository context off). ``ValueError`` for a
    path that is not a folder, and for the home folder or ``/`` (not a project:
    the server refuses them too)."""
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise ValueError(f"--workspace {folder}: not a folder")
    real = os.path.realpath(path)
    if real in (os.path.realpath(os.path.expanduser("~")), "/"):
        raise ValueError(f"--workspace {folder}: the home folder or / is not a project (name the project's folder)")
    if not (settings.repo_context and settings.workspace_context and settings.repo_context_max_files > 0):
        return 0

    def may_read(file: str, language: str) -> bool:  # asked before a file is opened
        return exclusion_reason(Path(file).as_uri(), language, settings) is None

    workspace.start_index([real], may_read, settings.repo_context_max_files, background=False)
    return len(workspace.repo)
