"""New, Open, Save, Save As, recent projects, autosave every minute, and crash recovery.

While a session is open, the settings name the folder it autosaves to (the project folder,
or an "untitled" folder in the user data dir); a clean exit clears that name. At start-up,
a name still there means the last run ended without closing, and if that folder holds an
autosave newer than its last save, the work is offered back.
"""

from __future__ import annotations

import os
import shutil
from contextlib import suppress
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from resonant_studio.core.settings import Settings, autosave_dir
from resonant_studio.qt.controller import SessionController
from resonant_studio.qt.notifier import Notifier
from resonant_studio.qt.worker import USER_ERRORS, Task, Worker, sentence
from tracks import Session, Track, project
from tracks.project_lock import ProjectLock

AUTOSAVE_SECONDS = 60
RUNNING_KEY = "running_session"


def autosave_interval_ms() -> int:
    """Every minute; RESONANT_AUTOSAVE_SECONDS changes it (for trying crash recovery by hand)."""
    try:
        seconds = float(os.environ.get("RESONANT_AUTOSAVE_SECONDS", AUTOSAVE_SECONDS))
    except ValueError:
        seconds = AUTOSAVE_SECONDS
    return max(1000, int(seconds * 1000))


def untitled_folder() -> Path:
    return autosave_dir() / f"untitled{project.PROJECT_SUFFIX}"


def detached_copy(session: Session) -> Session:
    """A copy of ``session`` for another thread to save: same ids, settings and (immutable,
    shared) takes, no history and no listeners. Built with the document's public API."""
    copy = Session(session.context, name=session.name, sample_rate=session.sample_rate, prompt=session.prompt)
    for t in session.tracks:
        track = Track(t.name, t.role, muted=t.muted, solo=t.solo, gain_db=t.gain_db, pan=t.pan, id=t.id)
        for take in t.takes:
            track.add_take(take, activate=False)
        track.active_index = t.active_index
        track.locked = t.locked
        copy.add_track(track, record=False)
    return copy


def _write_autosave(session: Session, folder: Path) -> Path:
    folder.parent.mkdir(parents=True, exist_ok=True)
    return project.save_autosave(session, folder)


class ProjectFiles(QObject):
    recent_changed = Signal()
    activity = Signal(str)      # "Saving song.resonant…": the status bar shows it while the disk works
    saved = Signal(object)      # Path, after Save / Save As wrote the project
    opened = Signal(object)     # Path, after Open read it
    failed = Signal(str)        # a save or an open failed (also said through the notifier)

    def __init__(self, controller: SessionController, settings: Settings, notifier: Notifier,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.settings = settings
        self.notifier = notifier
        self._autosaved_revision = -1
        self._autosave_task: Task | None = None
        self._lock: ProjectLock | None = None   # the open project's lock, held by this window
        self.worker = Worker("files", self)
        self.timer = QTimer(self)
        self.timer.setInterval(autosave_interval_ms())
        self.timer.timeout.connect(self.autosave)
        self.timer.start()
        controller.session_changed.connect(self._on_session_changed)

    @property
    def busy(self) -> bool:
        """True while an autosave, save or open is queued or running."""
        return self.worker.busy

    # --- where this session autosaves ---------------------------------------------------------
    def autosave_folder(self) -> Path:
        return self.controller.folder or untitled_folder()

    def _on_session_changed(self, session) -> None:
        self._autosaved_revision = self.controller.revision if not self.controller.dirty else -1
        if session is not None:
            self.settings.set(RUNNING_KEY, str(self.autosave_folder()))

    def autosave(self, *, wait: bool = False) -> Path | None:
        """Autosave if anything changed since the last save or autosave.

        Encoding new takes to FLAC takes a few hundred milliseconds, so a detached copy of
        the session is written on the files worker. ``wait`` blocks until it is written and
        returns its path (tests, and a clean exit).
        """
        c = self.controller
        pending = self._autosave_task
        if pending is not None and not pending.finished:
            return _quietly(pending) if wait else None  # one autosave at a time
        if c.session is None or not c.dirty or c.revision == self._autosaved_revision:
            return None
        folder = self.autosave_folder()
        revision = c.revision
        copy = detached_copy(c.session)
        task = self.worker.submit(lambda _t: _write_autosave(copy, folder),
                                  done=lambda path: self._on_autosaved(path, revision),
                                  failed=lambda exc: self.notifier.error(f"autosave failed: {sentence(exc)}"))
        self._autosave_task = task
        if not wait:
            return None
        path = _quietly(task)
        if path is not None:
            self._autosaved_revision = revision
        return path

    def _on_autosaved(self, path: Path, revision: int) -> None:
        self._autosaved_revision = max(self._autosaved_revision, revision)
        self.settings.set(RUNNING_KEY, str(path.parent))

    def wait_for_autosave(self) -> None:
        if self._autosave_task is not None:
            _quietly(self._autosave_task)

    def closed_cleanly(self) -> None:
        """Called on a normal exit, after the person saved or chose to discard: nothing to
        recover next time, so this session's autosave goes too."""
        self.timer.stop()
        self.worker.shutdown(timeout=60.0)  # what is queued (an autosave, a save) is written first
        self.settings.set(RUNNING_KEY, None)
        remove_autosave(self.controller.folder)
        self._hold(None)

    # --- recovery ---------------------------------------------------------------------------------
    def check_recovery(self) -> bool:
        """Offer the autosaved work of a run that did not close; True when an offer was made."""
        folder = self.settings.get(RUNNING_KEY)
        if not folder or not project.has_newer_autosave(folder):
            return False
        name = "your untitled session" if Path(folder) == untitled_folder() else Path(folder).name
        self.notifier.offer(f"Resonant Studio did not close properly last time: {name} has work that was "
                            f"autosaved after its last save",
                            [("Recover", lambda: self.recover(folder)), ("Discard", lambda: self.discard(folder))])
        return True

    def recover(self, folder: str | Path) -> bool:
        """Read the autosave on the files worker; the session appears when it is read."""
        folder = Path(folder)
        self.activity.emit("Recovering the autosaved work…")
        self.worker.submit(lambda _t: project.load_autosave(folder), done=lambda s: self._on_recovered(s, folder),
                           failed=lambda exc: self._on_failed(f"the autosave could not be opened: {sentence(exc)}"))
        return True

    def _on_recovered(self, session: Session, folder: Path) -> None:
        saved_folder = None if folder == untitled_folder() else folder
        self.controller.set_session(session, saved_folder, dirty=True)
        self.notifier.info(f"recovered the autosaved work of {session.name}: save it to keep it")
        self.opened.emit(folder)

    def discard(self, folder: str | Path) -> None:
        folder = Path(folder)
        remove_autosave(None if folder == untitled_folder() else folder)
        self.notifier.info("the autosaved work was discarded")

    # --- files ------------------------------------------------------------------------------------
    def _hold(self, lock: ProjectLock | None) -> None:
        """Keep ``lock`` (already acquired) as the window's, releasing the one it had."""
        old, self._lock = self._lock, lock
        if old is not None:  # the same folder again is fine: the lock counts its holders
            old.release()

    def new(self) -> None:
        self._hold(None)
        self.controller.set_session(None, None)
        self.worker.submit(lambda _t: shutil.rmtree(untitled_folder(), ignore_errors=True))

    def open(self, folder: str | Path, then: Callable[[], None] | None = None) -> bool:
        """Read the project on the files worker; the session appears when it is read (``opened``)."""
        folder = Path(folder)
        self.activity.emit(f"Opening {folder.name}…")
        self.worker.submit(lambda task: self._read(folder, task.report),
                           done=lambda result: self._on_opened(*result, then),
                           failed=lambda exc: self._on_failed(f"{sentence(exc)}"),
                           progress=lambda f, m: self.activity.emit(f"Opening {folder.name}: {m} ({f:.0%})…"))
        return True

    @staticmethod
    def _read(folder: Path, progress=None) -> tuple[Session, Path, bool, ProjectLock]:
        path = project.project_path(folder) if not folder.exists() else folder
        if not path.is_dir():  # a missing project: the loader's own sentence, and no folder made for a lock
            project.load_project(folder)
        lock = ProjectLock(path, what=WINDOW)
        lock.acquire()
        try:
            session = project.load_project(path, progress=progress)
            return session, path, project.has_newer_autosave(path), lock
        except BaseException:
            lock.release()
            raise

    def _on_opened(self, session: Session, path: Path, newer_autosave: bool, lock: ProjectLock,
                   then: Callable[[], None] | None) -> None:
        self._hold(lock)
        self.controller.set_session(session, path)
        self._remember(path)
        self.notifier.info(f"opened {path.name}")
        if newer_autosave:
            self.notifier.offer(f"{path.name} has autosaved work newer than its last save",
                                [("Recover", lambda: self.recover(path)), ("Ignore", lambda: None)])
        self.opened.emit(path)
        if then is not None:
            then()

    def _on_failed(self, text: str) -> None:
        self.notifier.error(text)
        self.failed.emit(text)

    def save(self, then: Callable[[], None] | None = None) -> bool:
        """Save to the project's folder; False (and nothing written) when it has none yet."""
        if self.controller.folder is None:
            return False
        return self.save_as(self.controller.folder, then)

    def save_as(self, folder: str | Path, then: Callable[[], None] | None = None) -> bool:
        """Start writing the project (``saved`` says when it is on disk, then ``then()`` runs);
        False when there is nothing to save."""
        c = self.controller
        if c.session is None:
            self.notifier.error("nothing to save yet: generate or import something first")
            return False
        session = c.session
        revision = c.revision
        copy = detached_copy(session)
        self.activity.emit(f"Saving {Path(folder).name}…")
        self.worker.submit(lambda task: _save_holding_lock(copy, Path(folder), task.report),
                           progress=lambda f, m: self.activity.emit(f"Saving {Path(folder).name}: {m} ({f:.0%})…"),
                           done=lambda result: self._on_saved(session, *result, revision, then),
                           failed=lambda exc: self._on_failed(f"{sentence(exc)}"))
        return True

    def _on_saved(self, session: Session, path: Path, lock: ProjectLock, revision: int,
                  then: Callable[[], None] | None) -> None:
        c = self.controller
        if c.session is session:
            self._hold(lock)
            was_untitled = c.folder is None
            c.folder = path
            if c.revision == revision:  # nothing changed while it was written
                c.set_dirty(False)
                self._autosaved_revision = revision
            self.settings.set(RUNNING_KEY, str(path))
            if was_untitled:
                self.worker.submit(lambda _t: shutil.rmtree(untitled_folder(), ignore_errors=True))
        else:
            lock.release()
        self._remember(path)
        self.notifier.info(f"saved {path}", topic="save")
        self.saved.emit(path)
        if then is not None:
            then()

    def _remember(self, path: Path) -> None:
        self.settings.add_recent_project(path)
        self.recent_changed.emit()

    def recent(self) -> list[str]:
        return self.settings.recent_projects()


WINDOW = "the Resonant Studio window"


def _save_holding_lock(session: Session, folder: Path, progress=None) -> tuple[Path, ProjectLock]:
    """Save and keep the project's lock (the window holds it while the project is open)."""
    lock = ProjectLock(folder, what=WINDOW)
    lock.acquire()
    try:
        return project.save_project(session, lock.folder, progress=progress), lock
    except BaseException:
        lock.release()
        raise


def _quietly(task: Task) -> Path | None:
    """Wait for a files task; None when it failed (the failure is reported by its callback)."""
    try:
        return task.wait()
    except USER_ERRORS:
        return None


def remove_autosave(folder: Path | None) -> None:
    """Drop the autosave of a saved project (``folder``) or of the untitled session (None)."""
    if folder is None:
        shutil.rmtree(untitled_folder(), ignore_errors=True)
        return
    with suppress(*USER_ERRORS):  # none was written, or another process has the project now
        project.discard_autosave(folder)
