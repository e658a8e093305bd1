"""``complete --workspace DIR``: a folder indexed the way the server indexes an
editor's workspace folder, so a one-off completion gets the repository context a
completion in the editor would (``repoContext``, ``repoContextMaxFiles`` and the
exclusions apply; nothing is read that the server would not read)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from fim_server.core.privacy import exclusion_reason, folder_exclusion
from fim_server.core.repo.walker import not_a_project
from fim_server.core.workspace import Workspace, repo_wanted
from fim_server.settings import Settings


def index_folder(workspace: Workspace, folder: str, settings: Settings) -> int:
    """Index ``folder`` into ``workspace`` here and now; the number of files indexed
    (0 where the settings turn the repository context off). ``ValueError`` for a
    path that is not a folder, and for the home folder or ``/`` (not a project:
    the server refuses them too)."""
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise ValueError(f"--workspace {folder}: not a folder")
    if not_a_project(str(path)):
        raise ValueError(f"--workspace {folder}: the home folder or / is not a project (name the project's folder)")
    if not repo_wanted(settings):
        return 0
    workspace.start_index([os.path.realpath(path)], readable(settings), settings.repo_context_max_files, background=False,
                          may_enter=enterable(settings))
    return len(workspace.repo)


def readable(settings: Settings) -> Callable[[str, str], bool]:
    """``may_read(path, languageId)`` for the index of a one-off command: what the
    exclusions and disabled languages of ``settings`` allow (asked before a file
    is opened)."""
    return lambda path, language: exclusion_reason(Path(path).as_uri(), language, settings) is None


def enterable(settings: Settings) -> Callable[[str], bool]:
    """``may_enter(path)``: a folder the exclusions of ``settings`` do not hide whole."""
    return lambda path: folder_exclusion(Path(path).as_uri(), settings) is None
