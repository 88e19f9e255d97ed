"""Write files so that a crash leaves either the old file or the new one, never half of one.

The pattern is the usual one: write a temp file in the target's own folder (so the rename
cannot cross filesystems), flush and fsync it, then ``os.replace`` it over the target. The
rename is the commit point. Temp files start with a dot and end in ``.tmp`` so a reader can
recognise (and a later save can sweep) leftovers from a crash.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Iterator

TEMP_SUFFIX = ".tmp"


def temp_path_for(target: Path) -> Path:
    """Create an empty temp file beside ``target`` and return its path."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent)
    os.close(fd)
    return Path(name)


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder: Path) -> None:
    """Make a rename durable. Best effort: some platforms (Windows) cannot open a folder."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def remove_quietly(path: Path) -> None:
    with suppress(OSError):
        path.unlink()


@contextmanager
def staged(target: Path) -> Iterator[Path]:
    """Yield a temp path beside ``target``; on a clean exit it is fsynced (not yet renamed).

    On an exception the temp file is removed and the exception propagates. The caller
    commits with :func:`commit` — separate so several files can be staged before any of
    them replaces its target.
    """
    tmp = temp_path_for(target)
    try:
        yield tmp
        fsync_file(tmp)
    except BaseException:
        remove_quietly(tmp)
        raise


def commit(tmp: Path, target: Path) -> None:
    """Rename a staged temp file over ``target`` and make the rename durable."""
    os.replace(tmp, target)
    fsync_dir(target.parent)


def write_bytes_atomic(target: Path, data: bytes) -> None:
    """Replace ``target`` with ``data`` atomically."""
    with staged(target) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
    try:
        commit(tmp, target)
    except BaseException:
        remove_quietly(tmp)
        raise


def describe_os_error(err: OSError) -> str:
    """A short lower-case reason for an OSError ("permission denied", "no space left on device")."""
    reason = err.strerror or str(err) or type(err).__name__
    return reason[0].lower() + reason[1:] if reason else reason
