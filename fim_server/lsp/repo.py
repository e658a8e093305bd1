"""The repository index at the LSP edge: which folders it covers, and the
notifications that keep it current (``core/repo`` does the work, on its own thread).

- the workspace folders of ``initialize`` (or its ``rootUri``), and
  ``workspace/didChangeWorkspaceFolders``;
- ``workspace/didChangeWatchedFiles``, registered with ``client/registerCapability``
  when the client can (created and changed files are read again, deleted ones leave);
- ``textDocument/didOpen`` and ``didSave``: the live text of an open document wins
  over the disk; ``didClose``: the disk counts again.

The editor's ``files.exclude`` (asked with ``workspace/configuration`` at the start
and again on each ``workspace/didChangeConfiguration``) hides files from the index
too; when it changes the index starts again, like for a change of the exclusions.

Settings: ``repoContext`` (and ``workspaceContext``) on or off, ``repoContextMaxFiles``;
a change of the exclusions or disabled languages indexes again from the start, so a
file that became excluded leaves at once and is never read again.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types

from fim_server.core.privacy import exclusion_reason, folder_exclusion, uri_path
from fim_server.core.language import EXTENSIONS
from fim_server.core.repo.walker import hidden_by_globs, not_a_project
from fim_server.core.workspace import repo_wanted
from fim_server.settings import Settings

if TYPE_CHECKING:
    from fim_server.lsp.server import FimServer

log = logging.getLogger(__name__)

WATCHER_ID = "fimServer.repoIndex.watcher"


def _folders(ls: "FimServer") -> list[str]:
    """The folders to index: not the home folder or the file system's root (an
    editor started there, Neovim's root being the current directory)."""
    out = []
    for uri in ls.workspace_folders():
        if not uri.startswith("file:"):
            continue
        path = uri_path(uri)
        if not_a_project(path):
            log.info("not indexing %s: the home folder or the root is not a project", path)
            continue
        out.append(path)
    return out


def start(ls: "FimServer") -> None:
    """Index the workspace folders (again) on the worker thread, if the settings ask."""
    workspace = ls.open_files
    settings = ls.engine.settings
    folders = _folders(ls)
    if not repo_wanted(settings) or not folders:
        workspace.stop_index()
        return

    editor_excludes = tuple(getattr(ls, "_repo_editor_excludes", ()))
    ls._repo_folders = folders  # a folder added later is judged by files.exclude too

    def may_read(path: str, language: str) -> bool:
        # asked before a file is opened, under the settings of the moment
        if exclusion_reason(Path(path).as_uri(), language, ls.engine.settings) is not None:
            return False
        return not editor_excludes or not hidden_by_globs(path, ls._repo_folders, editor_excludes)

    def may_enter(folder: str) -> bool:
        # asked before a folder is listed: one that hides all its files is not entered
        if folder_exclusion(Path(folder).as_uri(), ls.engine.settings) is not None:
            return False
        return not editor_excludes or not hidden_by_globs(folder, ls._repo_folders, editor_excludes)

    workspace.start_index(folders, may_read, settings.repo_context_max_files, may_enter=may_enter)
    log.info("indexing %s in the background (at most %s files)", ", ".join(folders), settings.repo_context_max_files)


def settings_changed(ls: "FimServer", old: Settings, new: Settings) -> None:
    """Start, stop or restart the index for new settings (only once initialized)."""
    if not getattr(ls, "_repo_ready", False):
        return
    keys = lambda s: (repo_wanted(s), s.repo_context_max_files, tuple(s.exclude_globs), tuple(s.disabled_languages))
    if keys(old) != keys(new):
        start(ls)


async def editor_excludes(ls: "FimServer") -> tuple[str, ...] | None:
    """The globs of the editor's ``files.exclude`` (VS Code) for the workspace
    folders: the index reads none of those files either. Empty when the client
    does not answer ``workspace/configuration`` or has no such setting; None when
    the question failed (the globs known so far still count). Asked while the index
    is off too, so that turning it on finds them."""
    folders = [uri for uri in ls.workspace_folders() if uri.startswith("file:")]
    if not ls.configuration.can_pull or not folders:
        return ()
    items = [types.ConfigurationItem(section="files.exclude", scope_uri=f) for f in folders]
    try:
        result = await asyncio.wait_for(ls.workspace_configuration_async(types.ConfigurationParams(items=items)), 5)
    except Exception as exc:
        log.info("could not read files.exclude: %s", exc)
        return None
    globs: list[str] = []
    for value in result or []:
        if isinstance(value, dict):
            globs += [glob for glob, on in value.items() if isinstance(glob, str) and on is True]
    return tuple(dict.fromkeys(globs))


async def configuration_changed(ls: "FimServer") -> None:
    """``workspace/didChangeConfiguration`` (VS Code's extension sends one when
    ``files.exclude`` changes): read ``files.exclude`` again; when it changed, index
    again from the start (what it now hides leaves at once and is not read again,
    what it no longer hides is read)."""
    if not getattr(ls, "_repo_ready", False):
        return
    globs = await editor_excludes(ls)
    if globs is None or globs == ls._repo_editor_excludes:
        return
    log.info("files.exclude changed: indexing again")
    ls._repo_editor_excludes = globs
    start(ls)


async def initialized(ls: "FimServer") -> None:
    ls._repo_editor_excludes = await editor_excludes(ls) or ()
    ls._repo_ready = True
    start(ls)
    caps = ls.client_capabilities.workspace if ls.client_capabilities else None
    watched = caps.did_change_watched_files if caps else None
    if watched is None or not watched.dynamic_registration:
        return
    pattern = "**/*.{" + ",".join(sorted({e.lstrip(".") for e in EXTENSIONS})) + "}"
    options = types.DidChangeWatchedFilesRegistrationOptions(
        watchers=[types.FileSystemWatcher(glob_pattern=pattern), types.FileSystemWatcher(glob_pattern="**/.gitignore")]
    )
    registration = types.Registration(id=WATCHER_ID, method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                                      register_options=options)
    try:
        await asyncio.wait_for(ls.client_register_capability_async(types.RegistrationParams([registration])), 5)
    except Exception as exc:  # the index still follows saves and open documents
        log.info("the client did not register the file watcher: %s", exc)


def watched_files(ls: "FimServer", params: types.DidChangeWatchedFilesParams) -> None:
    indexer = ls.open_files.indexer
    if indexer is None:
        return
    for change in params.changes:
        if not change.uri.startswith("file:"):
            continue
        path = uri_path(change.uri)
        if path.endswith("/.gitignore"):
            start(ls)  # the rules changed: what may be read is decided again
            return
        if change.type == types.FileChangeType.Deleted:
            indexer.deleted(path)
        else:
            indexer.changed(path)


async def folders_changed(ls: "FimServer", params: types.DidChangeWorkspaceFoldersParams) -> None:
    """Index an added folder and drop a removed one; ``files.exclude`` is read again
    first (it may differ per folder), so a file it hides in the new folder is never read."""
    if not getattr(ls, "_repo_ready", False):
        return
    globs = await editor_excludes(ls)
    indexer = ls.open_files.indexer
    if indexer is None or (globs is not None and globs != ls._repo_editor_excludes):
        if globs is not None:
            ls._repo_editor_excludes = globs
        start(ls)
        return
    ls._repo_folders = _folders(ls)
    added = [uri_path(f.uri) for f in params.event.added or [] if f.uri.startswith("file:")]
    added = [path for path in added if path in ls._repo_folders]  # not the home folder, not past MAX_FOLDERS
    removed = [uri_path(f.uri) for f in params.event.removed or [] if f.uri.startswith("file:")]
    indexer.folders(added, removed)


def saved(ls: "FimServer", params: types.DidSaveTextDocumentParams) -> None:
    doc = ls.documents.get(params.text_document.uri)
    if doc is not None:
        ls.open_files.document_changed(doc.uri, doc.language_id, doc.source)


def stats(ls: "FimServer") -> dict:
    workspace = ls.open_files
    if workspace.repo is None or workspace.indexer is None:
        return {"repo_files": 0, "repo_walked": False}
    return {
        "repo_files": len(workspace.repo),
        "repo_walked": workspace.indexer.walked.is_set(),
        "repo_index_seconds": round(workspace.indexer.seconds, 3),
    }


def register(server: "FimServer") -> None:
    server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)(watched_files)
    server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)(folders_changed)
    server.feature(types.TEXT_DOCUMENT_DID_SAVE)(saved)
