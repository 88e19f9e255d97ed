"""Write files so that a crash leaves either the old file or the new one, never half of one.

The pattern is the usual one: write a temp file in the target's own folder (so the rename
cannot cross filesystems), flush and fsync it, then ``os.replace`` it over the target. The
rename is the commit point. Temp files start with a dot, carry the writer's host tag and
pid, and end in ``.tmp`` (``.session.json.3f2a91c0-4242.k2j1x.tmp``): a later save sweeps a
leftover only when its writer is a process of this host that is no longer alive, so one
process never deletes the temp file another one is still writing.

``mkstemp`` creates files mode 0600; a take or an export is a document the user made, so
each temp file is given the mode a plain ``open()`` would have given it (0666 less the umask).
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import tempfile
import threading
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Iterator

TEMP_SUFFIX = ".tmp"
HOST_TAG = hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]
_TEMP_NAME = re.compile(r"^\..+\.([0-9a-f]{8})-([0-9]+)\.[^.]*\.tmp$")
_umask_lock = threading.Lock()


def current_umask() -> int:
    """The process umask, read without changing it where the platform allows (Linux /proc)."""
    with suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    with _umask_lock:  # elsewhere the only way to read it is to set it and put it back
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def default_file_mode() -> int:
    """The mode ``open(path, "w")`` would give a new file: 0666 less the umask."""
    return 0o666 & ~current_umask()


def temp_path_for(target: Path) -> Path:
    """Create an empty temp file beside ``target`` (mode as per the umask) and return its path."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.{HOST_TAG}-{os.getpid()}.", suffix=TEMP_SUFFIX,
                                dir=target.parent)
    try:
        with suppress(OSError, NotImplementedError):
            os.fchmod(fd, default_file_mode()) if hasattr(os, "fchmod") else os.chmod(name, default_file_mode())
    finally:
        os.close(fd)
    return Path(name)


def pid_alive(pid: int) -> bool:
    """True when a process with this id exists on this host (or we cannot tell)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def is_stale_temp(name: str) -> bool:
    """A temp file name of ours whose writer, a process on this host, has died.

    Temp files of live processes, of other hosts (a shared drive) and of unknown shape are
    never stale: the sweep leaves them alone.
    """
    m = _TEMP_NAME.match(name)
    if not m or m.group(1) != HOST_TAG:
        return False
    pid = int(m.group(2))
    return pid != os.getpid() and not pid_alive(pid)


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
