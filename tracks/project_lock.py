"""One writer at a time: an advisory lock on a project folder, naming who holds it.

The window holds a project's lock from the moment it opens it until it closes it; each CLI
command that changes a project holds it from the open to the save. A second writer gets
:class:`ProjectLockedError`, one sentence naming the holder ("... is open in Resonant Studio
(window, pid 4242 on studio-mac) since 10:31: close it there, or wait").

The lock is ``<project>/.resonant.lock``. On POSIX it is an ``flock`` on that file, so the
kernel releases it when the holder dies, even by SIGKILL: a stale lock cannot block anyone.
The file's text (pid, host, what, since) is only there to name the holder. The holder
deletes the file as it releases the lock, so a project nobody is changing has none; a
locker checks, once it holds the flock, that the file it locked is still the one at the
path (not one deleted meanwhile), so the deletion cannot let two writers in. Where
``fcntl`` is missing the lock falls back to creating the file exclusively, and a lock
whose pid is dead on this host is stale and taken over.

Locks are re-entrant within one process (a window's save while it holds the lock, a
command that calls another), counted per folder: this is a lock between processes, not
between threads of one process (the window already lets one autosave run at a time).
"""

from __future__ import annotations

import json
import os
import socket
import stat
import threading
import time
from contextlib import suppress, contextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Iterator

from tracks.atomic import pid_alive
from tracks.errors import ProjectError, ProjectLockedError
from tracks.project_format import LOCK_FILE

if TYPE_CHECKING:
    from tracks.session import Session
MAX_HOLDER_BYTES = 4096

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]


class LockFailed(ProjectError):
    """The lock file cannot be made (the folder is read-only, its parent missing...);
    ``reason`` is the bare cause, for callers that say what they were doing."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def _cannot_lock(folder: Path, err: OSError) -> LockFailed:
    reason = (err.strerror or str(err)).lower()
    return LockFailed(f"cannot lock {folder}: {reason}", reason)


_held: dict[str, tuple[int, int]] = {}  # folder -> (fd, count) held by this process
_held_lock = threading.Lock()


def _describe_holder(text: str, folder: Path) -> str:
    try:
        info = json.loads(text) if len(text) <= MAX_HOLDER_BYTES else {}
    except ValueError:
        info = {}
    if not isinstance(info, dict) or "pid" not in info:
        return f"{folder} is being changed by another Resonant Studio process: wait for it to finish, then try again"
    since = info.get("since")
    when = ""
    if isinstance(since, (int, float)):
        when = f" since {datetime.fromtimestamp(since).strftime('%H:%M:%S')}"
    what = str(info.get("what") or "another process")[:60]
    host = str(info.get("host") or "?")[:60]
    return (f"{folder} is open in Resonant Studio elsewhere ({what}, pid {info.get('pid')} on {host}{when}): "
            "close it there or wait for it to finish, then try again")


def _holder_text(what: str) -> bytes:
    return json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "what": what,
                       "since": time.time()}).encode("utf-8")


def _open_lock_file(path: Path, flags: int) -> int:
    fd = os.open(path, flags | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0), 0o666)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(21, "the lock file is not a regular file")
    return fd


def _read_fd(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, MAX_HOLDER_BYTES + 1).decode("utf-8", "replace")


def _write_fd(fd: int, data: bytes) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, data)


class ProjectLock:
    """``with ProjectLock(folder, what="resonant lock"):`` ... changes to the project ...

    ``timeout`` seconds to wait for a busy lock (0: fail at once). The folder is created if
    it does not exist yet (a first save), and removed again on release if it is still empty.
    """

    def __init__(self, folder: str | os.PathLike, *, what: str = "", timeout: float = 0.0,
                 poll: float = 0.05) -> None:
        from tracks.project import project_path  # project.py saves under this lock, so import late

        self.folder = project_path(folder)
        self.what = what or "a Resonant Studio process"
        self.timeout = timeout
        self.poll = poll
        self._made_folder = False

    @property
    def path(self) -> Path:
        return self.folder / LOCK_FILE

    def __enter__(self) -> "ProjectLock":
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()

    def acquire(self) -> None:
        key = os.path.realpath(self.folder)  # one key however the folder is reached
        with _held_lock:
            if key in _held:
                fd, count = _held[key]
                _held[key] = (fd, count + 1)
                return
        try:
            if not self.folder.exists():
                with suppress(FileExistsError):  # another process made it first: fine
                    self.folder.mkdir()
                    self._made_folder = True
        except OSError as err:
            raise _cannot_lock(self.folder, err) from None
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fd = self._try_lock()
            except OSError as err:
                raise _cannot_lock(self.folder, err) from None
            if fd is not None:
                with _held_lock:
                    _held[key] = (fd, 1)
                return
            if time.monotonic() >= deadline:
                raise ProjectLockedError(_describe_holder(self._holder_text(), self.folder))
            time.sleep(self.poll)

    def release(self) -> None:
        key = os.path.realpath(self.folder)  # one key however the folder is reached
        with _held_lock:
            if key not in _held:
                return
            fd, count = _held[key]
            if count > 1:
                _held[key] = (fd, count - 1)
                return
            del _held[key]
        unused_folder = self._made_folder and _only_lock_file(self.folder)
        try:
            with suppress(OSError):  # already gone: nothing to tidy
                os.unlink(self.path)  # while still holding it: see the module docstring
        finally:
            os.close(fd)  # releases the flock
        if unused_folder:
            with suppress(OSError):  # something else is in it now: leave it
                self.folder.rmdir()

    # --- one attempt -----------------------------------------------------------------------
    def _try_lock(self) -> int | None:
        if fcntl is None:
            return self._try_exclusive()
        fd = _open_lock_file(self.path, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except OSError:
            os.close(fd)
            raise
        try:
            same = os.path.samestat(os.fstat(fd), os.lstat(self.path))
        except OSError:
            same = False
        if not same:  # unlinked by its last holder between our open and our flock: try again
            os.close(fd)
            return None
        _write_fd(fd, _holder_text(self.what))
        return fd

    def _try_exclusive(self) -> int | None:
        """No flock: O_EXCL creation; a holder that died on this host leaves a stale file."""
        try:
            fd = _open_lock_file(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL)
        except FileExistsError:
            text = self._holder_text()
            try:
                info = json.loads(text)
            except ValueError:
                info = {}
            if (isinstance(info, dict) and info.get("host") == socket.gethostname()
                    and isinstance(info.get("pid"), int) and not pid_alive(info["pid"])):
                try:
                    os.unlink(self.path)  # stale: its holder died; try once more at once
                    fd = _open_lock_file(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL)
                except OSError:
                    return None
                _write_fd(fd, _holder_text(self.what))
                return fd
            return None
        _write_fd(fd, _holder_text(self.what))
        return fd

    def _holder_text(self) -> str:
        try:
            fd = _open_lock_file(self.path, os.O_RDONLY)
        except OSError:
            return ""
        try:
            return _read_fd(fd)
        finally:
            os.close(fd)


@contextmanager
def changing_project(folder: str | os.PathLike, *, what: str, timeout: float = 0.0) -> Iterator[Session]:
    """``with changing_project(folder, what="resonant lock") as session:`` change it; saved on exit.

    The lock is held from the open to the save, so no other writer can come in between;
    an exception inside the block saves nothing. What a CLI command that changes a project
    wraps its work in.
    """
    from tracks.project import load_project, save_project

    with ProjectLock(folder, what=what, timeout=timeout) as lock:
        session = load_project(lock.folder)
        yield session
        save_project(session, lock.folder)


def _only_lock_file(folder: Path) -> bool:
    try:
        return [p.name for p in folder.iterdir()] == [LOCK_FILE]
    except OSError:
        return False


def holds_lock(folder: str | os.PathLike) -> bool:
    """True when this process holds ``folder``'s lock (a save can assert it)."""
    from tracks.project import project_path

    return os.path.realpath(project_path(folder)) in _held
