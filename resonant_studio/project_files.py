"""New, Open, Save, Save As, recent projects, autosave every minute, and crash recovery.

While a session is open, the settings name the folder it autosaves to (the project folder,
or an "untitled" folder in the user data dir); a clean exit clears that name. At start-up,
a name still there means the last run ended without closing, and if that folder holds an
autosave newer than its last save, the work is offered back.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from resonant_studio.notifier import Notifier
from resonant_studio.session_controller import USER_ERRORS, SessionController
from resonant_studio.settings import Settings, autosave_dir
from tracks import project

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


class ProjectFiles(QObject):
    recent_changed = Signal()

    def __init__(self, controller: SessionController, settings: Settings, notifier: Notifier,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.settings = settings
        self.notifier = notifier
        self._autosaved_clean = True
        self.timer = QTimer(self)
        self.timer.setInterval(autosave_interval_ms())
        self.timer.timeout.connect(self.autosave)
        self.timer.start()
        controller.session_changed.connect(self._on_session_changed)
        controller.dirty_changed.connect(self._on_dirty)

    # --- where this session autosaves ---------------------------------------------------------
    def autosave_folder(self) -> Path:
        return self.controller.folder or untitled_folder()

    def _on_session_changed(self, session) -> None:
        self._autosaved_clean = not self.controller.dirty
        if session is not None:
            self.settings.set(RUNNING_KEY, str(self.autosave_folder()))

    def _on_dirty(self, dirty: bool) -> None:
        if dirty:
            self._autosaved_clean = False

    def autosave(self) -> Path | None:
        """Write the autosave if anything changed since the last save or autosave."""
        c = self.controller
        if c.session is None or not c.dirty or self._autosaved_clean:
            return None
        folder = self.autosave_folder()
        try:
            folder.parent.mkdir(parents=True, exist_ok=True)
            path = project.save_autosave(c.session, folder)
        except USER_ERRORS as exc:
            self.notifier.error(f"autosave failed: {exc}")
            return None
        self._autosaved_clean = True
        self.settings.set(RUNNING_KEY, str(folder))
        return path

    def closed_cleanly(self) -> None:
        """Called on a normal exit, after the person saved or chose to discard: nothing to
        recover next time, so this session's autosave goes too."""
        self.timer.stop()
        self.settings.set(RUNNING_KEY, None)
        folder = self.controller.folder
        if folder is None:
            shutil.rmtree(untitled_folder(), ignore_errors=True)
        else:
            try:
                project.autosave_path(folder).unlink()
            except OSError:
                pass  # none was written

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
        if folder == untitled_folder():
            shutil.rmtree(folder, ignore_errors=True)
        else:
            try:
                project.autosave_path(folder).unlink()
            except OSError:
                pass
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
        try:
            path = project.save_project(c.session, folder)
        except USER_ERRORS as exc:
            self.notifier.error(str(exc))
            return False
        c.folder = path
        c.set_dirty(False)
        self._autosaved_clean = True
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
