"""The studio window: prompt bar, transport, timeline, status bar, menus.

It wires widgets to the controller and shows messages; the work itself is done by
``SessionController`` (generation, mix, import), ``ProjectFiles`` (files, autosave) and
``exporter`` (export). Nothing here blocks the event loop except the person's own file
dialogs.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox, QVBoxLayout, QWidget

from engine.backends import available_backends
from engine.prompt import analyze_prompt
from resonant_studio import __version__
from resonant_studio.qt.engine_thread import EngineThread
from resonant_studio.core.export import has_notes, run_export
from resonant_studio.qt.library_dock import install_library_dock
from resonant_studio.qt.menus import MenuActions, MenuHandlers
from resonant_studio.qt.notifier import Message, Notifier
from resonant_studio.core.playback import Player
from resonant_studio.qt.preset_controls import PresetControls
from resonant_studio.qt.project_files import ProjectFiles
from resonant_studio.qt.transport_link import TransportLink
from resonant_studio.qt.controller import USER_ERRORS, PlayerFactory, SessionController
from resonant_studio.core.settings import Settings
from tracks import Session, Track
from widgets.export_dialog import ExportDialog
from widgets.generation_status import GenerationStatus
from widgets.message_banner import MessageBanner
from widgets.prompt_bar import PromptBar
from widgets.timeline import Timeline
from widgets.transport import Transport

PLAYHEAD_POLL_MS = 33
STATUS_SECONDS = 6


class MainWindow(QMainWindow):
    def __init__(self, *, settings: Settings | None = None, player_factory: PlayerFactory = Player) -> None:
        super().__init__()
        self.setWindowTitle("Resonant Studio")
        self.resize(1280, 760)
        self.settings = settings or Settings()
        self.notifier = Notifier(self)
        self.engine = EngineThread(self)
        self.engine.start()
        # the default engine and the prompt reader are warmed on the engine thread while the window opens
        self.engine.preload("composer", then=lambda: analyze_prompt("warm up: house, 120 bpm, C minor"))
        self.controller = SessionController(self.notifier, self.engine, player_factory=player_factory, parent=self)
        self.projects = ProjectFiles(self.controller, self.settings, self.notifier, self)
        self.export_dialog: ExportDialog | None = None
        self._shut_down = False

        engines = [e for e in available_backends() if e == "composer"] + \
                  [e for e in available_backends() if e != "composer"]
        self.prompt_bar = PromptBar(engines, self)
        self.prompt_bar.set_engine(self.settings.get("engine", "composer"))
        self.transport = Transport(self)
        self.banner = MessageBanner(self)
        self.timeline = Timeline(self)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        for w in (self.prompt_bar, self.transport, self.banner):
            layout.addWidget(w)
        layout.addWidget(self.timeline, 1)
        self.setCentralWidget(central)
        self.generation_status = GenerationStatus(self)
        self.statusBar().addPermanentWidget(self.generation_status)

        self.actions = MenuActions(self, self._menu_handlers())
        self._connect()
        # style/role/quality pickers in the prompt bar
        self.presets = PresetControls(self.prompt_bar, self.settings, self.notifier, self.actions,
                                      session=lambda: self.controller.session, parent=self)
        # "Like This Song"
        self.library_dock = install_library_dock(self, self.controller, self.notifier, self.prompt_bar, self.actions,
                                                 player_factory=player_factory)
        self._on_session_changed(None)
        self._show_audio_state()
        self.transport_link = TransportLink(self.transport, self.timeline, lambda: self.controller.player,
                                            lambda: self.controller.session, self.notifier, self)
        self.playhead_timer = QTimer(self)
        self.playhead_timer.setInterval(PLAYHEAD_POLL_MS)
        self.playhead_timer.timeout.connect(self._poll_playhead)
        self.playhead_timer.start()

    def _menu_handlers(self) -> MenuHandlers:
        c = self.controller
        return MenuHandlers(
            new=self.new_session, open=lambda: self.open_project(), open_folder=self.open_project, save=self.save,
            save_as=lambda: self.save_as(), import_audio=self.import_audio, export=self.show_export_dialog,
            quit=self.close, undo=c.undo, redo=c.redo, generate=self.generate, cancel=c.cancel,
            play=self.toggle_play, stop=self.stop, set_loop=self._set_loop, zoom=self.timeline.zoom,
            zoom_fit=self.timeline.fit, about=self.about,
            history=lambda: c.session.history if c.session is not None else None,
            recent=self.projects.recent, clear_recent=self.settings.clear_recent_projects)

    def _connect(self) -> None:
        c = self.controller
        self.notifier.posted.connect(self._show_message)
        self.prompt_bar.generate_requested.connect(self.generate)
        self.prompt_bar.engine_box.currentTextChanged.connect(lambda name: self.settings.set("engine", name))
        self.generation_status.cancel_requested.connect(c.cancel)
        self.transport.play_toggled.connect(self.toggle_play)
        self.transport.stop_clicked.connect(self.stop)
        self.transport.loop_toggled.connect(self._set_loop)
        self.timeline.regenerate_requested.connect(self.regenerate)
        self.timeline.seek_requested.connect(self.seek)
        self.timeline.files_dropped.connect(c.import_audio)
        self.timeline.error.connect(self.notifier.error)
        c.session_changed.connect(self._on_session_changed)
        c.busy_changed.connect(self._on_busy)
        c.generation_started.connect(self.generation_status.start)
        c.generation_progress.connect(self.generation_status.update_progress)
        c.dirty_changed.connect(self.setWindowModified)
        self.projects.recent_changed.connect(self.actions.refresh_recent)

    # --- session ------------------------------------------------------------------------------
    @property
    def session(self) -> Session | None:
        return self.controller.session

    def _on_session_changed(self, session: Session | None) -> None:
        old = self.timeline.session
        if old is not None:
            old.history.changed.disconnect(self.actions.refresh_undo)
            old.context_changed.disconnect(self._show_session_info)
        self.timeline.set_session(session)
        if session is not None:
            session.history.changed.connect(self.actions.refresh_undo, max_args=0)
            session.context_changed.connect(self._show_session_info, max_args=0)
            if session.prompt and not self.prompt_bar.prompt():
                self.prompt_bar.set_prompt(session.prompt)
        self._show_session_info()
        self.actions.refresh_undo()
        self._update_title()

    def _show_session_info(self, *_: object) -> None:
        s = self.session
        if s is None:
            self.transport.set_info("")
            return
        num, den = s.meter
        self.transport.set_info(f"{s.tempo:g} bpm   {num}/{den}   {s.key_name}   {s.bars} bars")

    def _update_title(self) -> None:
        c = self.controller
        name = c.folder.name if c.folder is not None else (self.session.name if self.session else "Untitled")
        self.setWindowTitle(f"{name}[*] — Resonant Studio")
        self.setWindowModified(c.dirty)

    # --- generation -------------------------------------------------------------------------------
    def generate(self) -> None:
        bar = self.prompt_bar
        try:  # a chosen style/role/quality preset resolves here; None leaves the plain path
            config = self.presets.resolve(bar.prompt(), bar.seed(), bar.bars())
        except USER_ERRORS as exc:
            self.notifier.error(str(exc))
            return
        self.controller.generate(bar.prompt(), engine=bar.engine(), bars=bar.bars(), seed=bar.seed(), config=config)

    def regenerate(self, track: Track) -> None:
        self.controller.regenerate(track, engine=self.prompt_bar.engine())

    def _on_busy(self, busy: bool) -> None:
        self.prompt_bar.set_busy(busy)
        self.actions.cancel.setEnabled(busy)
        self.timeline.set_busy(busy)
        if not busy:
            self.generation_status.finish()

    # --- playback -----------------------------------------------------------------------------------
    @property
    def player(self) -> Player:
        return self.controller.player

    def _show_audio_state(self) -> None:
        self.transport.set_unavailable(self.player.unavailable_reason)

    def toggle_play(self) -> None:
        if not self.player.available:
            self.notifier.info(self.player.unavailable_reason or "cannot play")
        self.player.toggle()
        self._poll_playhead()

    def stop(self) -> None:
        self.player.stop()
        self._poll_playhead()

    def seek(self, seconds: float) -> None:
        self.player.seek(int(seconds * self.player.sample_rate))
        self._poll_playhead()

    def _set_loop(self, on: bool) -> None:
        """The Loop menu item and the transport's loop button show one state."""
        self.player.loop = on
        for control in (self.actions.loop, self.transport.loop_button):
            with QSignalBlocker(control):
                control.setChecked(on)

    def _poll_playhead(self) -> None:
        p = self.player
        seconds = p.seconds
        self.transport_link.tick()
        self.timeline.set_playhead(seconds, playing=p.playing)
        s = self.session
        if s is not None:
            self.transport.set_position(seconds, s.tempo, s.beats_per_bar)
        self.transport.set_playing(p.playing)

    # --- messages -----------------------------------------------------------------------------------
    def _show_message(self, message: Message) -> None:
        self.statusBar().showMessage(message.text, STATUS_SECONDS * 1000)
        if message.level == "error":
            self.banner.show_message(message.text, "error")
        elif message.level == "offer":
            self.banner.show_message(message.text, "info", list(message.actions))

    # --- files --------------------------------------------------------------------------------------
    def new_session(self) -> None:
        if self._confirm_discard():
            self.projects.new()
            self._update_title()

    def open_project(self, folder: str | None = None) -> None:
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self, "Open project", str(self._default_folder()))
            if not folder:
                return
        if self._confirm_discard():
            self.projects.open(folder)
            self._update_title()

    def save(self) -> bool:
        if self.controller.folder is None:
            return self.save_as()
        ok = self.projects.save()
        self._update_title()
        return ok

    def save_as(self, folder: str | None = None) -> bool:
        if folder is None:
            name = self.session.name if self.session else "untitled"
            folder, _ = QFileDialog.getSaveFileName(self, "Save project as",
                                                    str(self._default_folder() / f"{name}.resonant"))
            if not folder:
                return False
        ok = self.projects.save_as(folder)
        self._update_title()
        return ok

    def _default_folder(self) -> Path:
        if self.controller.folder is not None:
            return self.controller.folder.parent
        return Path(self.settings.get("last_folder") or Path.home())

    def import_audio(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Import audio", str(self._default_folder()),
                                                "Audio (*.wav *.flac *.ogg *.aif *.aiff *.mp3);;All files (*)")
        if paths:
            self.controller.import_audio(paths)

    # --- export -------------------------------------------------------------------------------------
    def show_export_dialog(self) -> ExportDialog | None:
        s = self.session
        if s is None:
            self.notifier.error("nothing to export yet: generate or import something first")
            return None
        folder = Path(self.settings.get("export_folder") or self._default_folder())
        dialog = ExportDialog(folder, s.name, has_notes=has_notes(s), parent=self)
        dialog.accepted.connect(lambda: self._export(dialog))
        dialog.finished.connect(dialog.deleteLater)
        self.export_dialog = dialog
        dialog.open()  # window-modal but not blocking: the event loop keeps running
        return dialog

    def _export(self, dialog: ExportDialog) -> None:
        s = self.session
        if s is None:
            return
        choices = dialog.choices()
        try:
            written, notes = run_export(s, choices)
        except USER_ERRORS as exc:
            self.notifier.error(f"export failed: {exc}")
            return
        self.settings.set("export_folder", str(choices.folder))
        extra = (" " + " ".join(notes)) if notes else ""
        self.notifier.info(f"exported {len(written)} file{'s' if len(written) != 1 else ''} to {choices.folder}{extra}")

    # --- closing ------------------------------------------------------------------------------------
    def ask_save_changes(self) -> QMessageBox.StandardButton:
        """Asked when closing or replacing a session with unsaved changes (tests replace it)."""
        return QMessageBox.question(self, "Unsaved changes", "Save the changes to this session first?",
                                    QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                                    | QMessageBox.StandardButton.Cancel)

    def _confirm_discard(self) -> bool:
        if not self.controller.dirty or self.session is None:
            return True
        answer = self.ask_save_changes()
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        if not self._confirm_discard():
            event.ignore()
            return
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Stop timers, playback and the engine thread; forget the crash marker. Idempotent."""
        if self._shut_down:
            return
        self._shut_down = True
        self.playhead_timer.stop()
        self.projects.closed_cleanly()
        self.timeline.unbind()
        self.library_dock.shutdown()
        self.controller.shutdown()
        self.engine.shutdown()

    def about(self) -> None:
        QMessageBox.about(self, "About Resonant Studio",
                          f"<b>Resonant Studio</b> {__version__}<br>Describe music, get separate tracks, "
                          "lock what you like, regenerate the rest.")

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Escape and self.controller.busy:
            self.controller.cancel()
            return
        super().keyPressEvent(event)
