"""Several files replaced together: all the new ones, or (on any failure) all the old ones.

An export is a mix plus stems; a render is an export plus a project save. Writing them one
after another leaves half a result when the disk fills up part way (a new mix beside old
stems, or a mix and no project). :class:`FileSet` stages every file under a temp name in
its target's folder first; only when all are written does it rename them into place. Each
target that already exists is hard-linked to a backup name before it is replaced, so a
rename that fails part way puts every earlier target back as it was. A failure at any
point removes every temp file and backup the set made.

A SIGKILL during the renames can still leave some targets new and some old (plus backups
named like crash leftovers, ``.<name>.<host>-<pid>.*.tmp``); that window is a few renames
long, where before it was the whole export.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable

from tracks.atomic import fsync_dir, fsync_file, remove_quietly, temp_path_for


class FileSet:
    """``stage(target, write)`` for each file, then ``commit()``; ``discard()`` on failure.

    ``write(tmp_path)`` writes the file's content to the temp path it is handed. Usable as a
    context manager: leaving the block by an exception discards whatever was staged.
    """

    def __init__(self) -> None:
        self._staged: list[tuple[Path, Path]] = []  # (temp, target)
        self.failed_target: Path | None = None  # the target a failed commit() was renaming

    def __enter__(self) -> "FileSet":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.discard()

    @property
    def targets(self) -> tuple[Path, ...]:
        return tuple(t for _, t in self._staged)

    def stage(self, target: Path, write: Callable[[Path], None]) -> None:
        """Write one file under a temp name beside ``target`` (fsynced); raises what ``write`` raises."""
        if target.is_dir():
            raise IsADirectoryError(21, "a folder with that name is in the way", str(target))
        tmp = temp_path_for(target)
        self._staged.append((tmp, target))
        write(tmp)
        fsync_file(tmp)

    def commit(self) -> None:
        """Rename every staged file over its target; on a failure restore every earlier target."""
        backups: list[tuple[Path, Path | None]] = []  # (target, backup of its old content or None)
        try:
            for tmp, target in self._staged:
                backup = None
                if target.is_file() and not target.is_symlink():
                    backup = temp_path_for(target)
                    os.unlink(backup)
                    try:
                        os.link(target, backup)
                    except OSError:  # a filesystem without hard links (exFAT): copy instead
                        shutil.copy2(target, backup)
                backups.append((target, backup))
                self.failed_target = target
                os.replace(tmp, target)
            self.failed_target = None
        except BaseException:
            self._roll_back(backups)
            self.discard()
            raise
        for _, backup in backups:
            if backup is not None:
                remove_quietly(backup)
        for folder in {t.parent for _, t in self._staged}:
            fsync_dir(folder)
        self._staged = []

    def discard(self) -> None:
        """Remove every temp file not yet renamed (the targets are left as they are)."""
        for tmp, _ in self._staged:
            remove_quietly(tmp)
        self._staged = []

    @staticmethod
    def _roll_back(backups: list[tuple[Path, Path | None]]) -> None:
        """Put back each target that was replaced (the last one may not have been)."""
        for target, backup in reversed(backups):
            if backup is not None:
                try:
                    same = os.path.samestat(os.lstat(backup), os.lstat(target))
                except OSError:
                    same = False
                try:
                    # rename() between two links of one file does nothing, so a target that was
                    # never replaced (still the backup's inode) only loses its backup name
                    if same:
                        os.unlink(backup)
                    else:
                        os.replace(backup, target)
                except OSError:
                    pass  # the old content stays under the backup name rather than be lost
            else:
                remove_quietly(target)
