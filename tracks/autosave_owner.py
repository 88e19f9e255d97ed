"""Which autosaves this process owns, so that a save never deletes another process's autosave.

A window autosaves its unsaved work; a CLI command saving the same project (if the lock
were bypassed) or a second window must not delete that work. An explicit save removes
``autosave.json`` only when this process wrote it (or opened it, recovering it) and nobody
has rewritten it since: the file's inode, mtime and size must still be what they were.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

_owned: dict[str, tuple[int, int, int]] = {}  # absolute path -> (inode, mtime_ns, size)
_lock = threading.Lock()


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        info = path.lstat()
    except OSError:
        return None
    return info.st_ino, info.st_mtime_ns, info.st_size


def adopt(path: Path) -> None:
    """Remember that this process wrote (or opened) ``path`` as it is now."""
    sig = _signature(path)
    if sig is not None:
        with _lock:
            _owned[os.path.abspath(path)] = sig


def owns(path: Path) -> bool:
    """True when ``path`` is still exactly the autosave this process wrote or opened."""
    sig = _signature(path)
    with _lock:
        return sig is not None and _owned.get(os.path.abspath(path)) == sig


def forget(path: Path) -> None:
    with _lock:
        _owned.pop(os.path.abspath(path), None)
