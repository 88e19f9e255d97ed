"""The project folder is a boundary: what the app reads, writes and deletes stays inside it.

A project folder can come from anyone (a download, a shared drive), so nothing inside it is
trusted to point elsewhere. ``takes/`` must be a real folder, never a symbolic link (a save
would otherwise write takes, and a sweep delete files, wherever the link points); take files
and documents are opened without following links. The folder itself may be reached through
a link: the person chose that path.

The sweep after a save deletes a file only when this app wrote it, by two tests together:

* a take file (``takes/<id>.flac``, a regular file, not a link) that the document being
  replaced listed and that neither the new document nor a kept autosave lists;
* a temp file whose name says it was written by a process of this host that has died
  (see :func:`tracks.atomic.is_stale_temp`); a live process's temp file is never touched;
* a take file named in the journal of a save whose process died before it committed
  (``takes/.new-takes.<host>-<pid>.<n>.json``, written before the save writes any new
  take file and removed when it ends) and that no document lists.

Anything else in the folder (a user's recording, a file of unknown shape, a take file no
document ever listed) is left alone.
"""

from __future__ import annotations

import json
import os
import re
import stat
import uuid
from pathlib import Path

from tracks.atomic import HOST_TAG, is_stale_temp, pid_alive, remove_quietly, write_bytes_atomic
from tracks.project_format import (
    TAKE_SUFFIX, TAKES_DIR, MalformedDocument, NewerSchema, check_document, is_safe_id,
)
from engine.safe_load import SafeLoadError, load_json_file


class OutsideProject(ValueError):
    """A path inside the project would lead outside it; the message says which and why."""


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return path.lstat()
    except OSError:  # missing, or a parent that is not a folder
        return None


def check_takes_dir(project: Path) -> Path:
    """``project/takes`` if it is a real folder or absent; OutsideProject if it is a link or a file."""
    takes = project / TAKES_DIR
    info = _lstat(takes)
    if info is None or stat.S_ISDIR(info.st_mode):
        return takes
    if stat.S_ISLNK(info.st_mode):
        raise OutsideProject(f"its {TAKES_DIR} folder is a symbolic link, which this app does not follow "
                             "(replace it with a real folder holding the take files)")
    raise OutsideProject(f"its {TAKES_DIR} entry is a file, not a folder")


def is_link(path: Path) -> bool:
    info = _lstat(path)
    return info is not None and stat.S_ISLNK(info.st_mode)


def is_regular_file(path: Path) -> bool:
    """A regular file reached without following a link."""
    info = _lstat(path)
    return info is not None and stat.S_ISREG(info.st_mode)


def listed_take_ids(document: Path) -> set[str] | None:
    """The take ids a document lists; None when it is missing, a link, or cannot be read.

    None means "unknown", which callers treat as "delete nothing on its account".
    """
    if not is_regular_file(document):
        return None
    try:
        doc = check_document(load_json_file(document, follow_symlinks=False))
    except (SafeLoadError, MalformedDocument, NewerSchema, OSError):
        return None
    return {t.id for track in doc.tracks for t in track.takes if t.file is not None}


_JOURNAL = re.compile(r"^\.new-takes\.([0-9a-f]{8})-([0-9]+)\.[0-9a-f]+\.json$")


def write_journal(takes: Path, take_ids: list[str]) -> Path:
    """Record the take files a save is about to write, so a crash leaves them sweepable."""
    journal = takes / f".new-takes.{HOST_TAG}-{os.getpid()}.{uuid.uuid4().hex[:8]}.json"
    write_bytes_atomic(journal, json.dumps(take_ids).encode("utf-8"))
    return journal


def _dead_journals(takes: Path) -> list[tuple[Path, set[str]]]:
    found = []
    try:
        entries = list(os.scandir(takes))
    except OSError:
        return found
    for entry in entries:
        m = _JOURNAL.match(entry.name)
        if not m or m.group(1) != HOST_TAG or not entry.is_file(follow_symlinks=False):
            continue
        pid = int(m.group(2))
        if pid == os.getpid() or pid_alive(pid):
            continue
        try:
            ids = load_json_file(entry.path, max_bytes=1 << 20, follow_symlinks=False)
        except (SafeLoadError, OSError):
            ids = []
        found.append((Path(entry.path), {i for i in ids if is_safe_id(i)} if isinstance(ids, list) else set()))
    return found


def sweep(project: Path, replaced: set[str], keep: set[str]) -> list[Path]:
    """Delete take files in ``replaced`` but not in ``keep``, and dead writers' temp files.

    Returns what was removed. Never follows a link, never deletes anything else.
    """
    removed: list[Path] = []
    try:
        takes = check_takes_dir(project)
    except OutsideProject:
        return removed
    journals = _dead_journals(takes)
    for journal, ids in journals:
        replaced = replaced | ids
    for take_id in sorted(replaced - keep):
        target = takes / f"{take_id}{TAKE_SUFFIX}"
        if is_regular_file(target):
            remove_quietly(target)
            removed.append(target)
    for journal, _ in journals:
        remove_quietly(journal)
        removed.append(journal)
    for folder in (project, takes):
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if is_stale_temp(entry.name) and entry.is_file(follow_symlinks=False):
                remove_quietly(Path(entry.path))
                removed.append(Path(entry.path))
    return removed
