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
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from resonant_studio.qt.notifier import Notifier
from resonant_studio.qt.controller import USER_ERRORS, SessionController
from resonant_studio.core.settings import Settings, autosave_dir
from tracks import Session, Track, project

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
    _autosave_done = Signal(object, int)   # (Future, revision), from the writer thread

    def __init__(self, controller: SessionController, settings: Settings, notifier: Notifier,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.settings = settings
        self.notifier = notifier
        self._autosaved_revision = -1
        self._pending: Future | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="autosave")
        self._autosave_done.connect(self._on_autosave_done)
        self.timer = QTimer(self)
        self.timer.setInterval(autosave_interval_ms())
        self.timer.timeout.connect(self.autosave)
        self.timer.start()
        controller.session_changed.connect(self._on_session_changed)

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
        the session (sharing its immutable takes) is written on a worker thread. ``wait``
        blocks until it is written and returns its path (tests, and the moment before a
        manual save).
        """
        c = self.controller
        if self._pending is not None and not self._pending.done():
            return self._pending.result() if wait else None  # one autosave at a time
        if c.session is None or not c.dirty or c.revision == self._autosaved_revision:
            return None
        folder = self.autosave_folder()
        revision = c.revision
        copy = detached_copy(c.session)
        future = self._pool.submit(_write_autosave, copy, folder)
        self._pending = future
        future.add_done_callback(lambda f: self._autosave_done.emit(f, revision))
        if not wait:
            return None
        try:
            path = future.result()
        except USER_ERRORS:
            return None  # reported by _on_autosave_done
        self._autosaved_revision = revision
        return path

    def _on_autosave_done(self, future: Future, revision: int) -> None:
        error = future.exception()
        if error is not None:
            self.notifier.error(f"autosave failed: {error}")
            return
        self._autosaved_revision = revision
        self.settings.set(RUNNING_KEY, str(future.result().parent))

    def wait_for_autosave(self) -> None:
        if self._pending is not None:
            with suppress(*USER_ERRORS):  # already reported by _on_autosave_done
                self._pending.result()

    def closed_cleanly(self) -> None:
        """Called on a normal exit, after the person saved or chose to discard: nothing to
        recover next time, so this session's autosave goes too."""
        self.timer.stop()
        self.wait_for_autosave()
        self._pool.shutdown(wait=True)
        self.settings.set(RUNNING_KEY, None)
        remove_autosave(self.controller.folder)

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
        folder = Path(folder)
        try:
            session = project.load_autosave(folder)
        except USER_ERRORS as exc:
            self.notifier.error(f"the autosave could not be opened: {exc}")
            return False
        saved_folder = None if folder == untitled_folder() else folder
        self.controller.set_session(session, saved_folder, dirty=True)
        self.notifier.info(f"recovered the autosaved work of {session.name}: save it to keep it")
        return True

    def discard(self, folder: str | Path) -> None:
        folder = Path(folder)
        remove_autosave(None if folder == untitled_folder() else folder)
        self.notifier.info("the autosaved work was discarded")

    # --- files ------------------------------------------------------------------------------------
    def new(self) -> None:
        self.controller.set_session(None, None)
        shutil.rmtree(untitled_folder(), ignore_errors=True)

    def open(self, folder: str | Path) -> bool:
        try:
            session = project.load_project(folder)
        except USER_ERRORS as exc:
            self.notifier.error(str(exc))
            return False
        path = project.project_path(folder) if not Path(folder).exists() else Path(folder)
        self.controller.set_session(session, path)
        self._remember(path)
        self.notifier.info(f"opened {path.name}")
        if project.has_newer_autosave(path):
            self.notifier.offer(f"{path.name} has autosaved work newer than its last save",
                                [("Recover", lambda: self.recover(path)), ("Ignore", lambda: None)])
        return True

    def save(self) -> bool:
        """Save to the project's folder; False (and nothing written) when it has none yet."""
        if self.controller.folder is None:
            return False
        return self.save_as(self.controller.folder)

    def save_as(self, folder: str | Path) -> bool:
        c = self.controller
        if c.session is None:
            self.notifier.error("nothing to save yet: generate or import something first")
            return False
        was_untitled = c.folder is None
        self.wait_for_autosave()  # never two writers in one folder
        try:
            path = project.save_project(c.session, folder)
        except USER_ERRORS as exc:
            self.notifier.error(str(exc))
            return False
        c.folder = path
        c.set_dirty(False)
        self._autosaved_revision = c.revision
        self.settings.set(RUNNING_KEY, str(path))
        if was_untitled:
            shutil.rmtree(untitled_folder(), ignore_errors=True)
        self._remember(path)
        self.notifier.info(f"saved {path}")
        return True

    def _remember(self, path: Path) -> None:
        self.settings.add_recent_project(path)
        self.recent_changed.emit()

    def recent(self) -> list[str]:
        return self.settings.recent_projects()


def remove_autosave(folder: Path | None) -> None:
    """Drop the autosave of a saved project (``folder``) or of the untitled session (None)."""
    if folder is None:
        shutil.rmtree(untitled_folder(), ignore_errors=True)
        return
    with suppress(OSError):  # none was written
        project.autosave_path(folder).unlink()
