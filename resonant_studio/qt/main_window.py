"""The studio window: prompt bar, transport, timeline, status bar, menus.

It wires widgets to the controller and shows messages; the work itself is done by
``SessionController`` (generation, mix, import), ``ProjectFiles`` (files, autosave) and
``exporter`` (export). Nothing here blocks the event loop except the person's own file
dialogs.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QByteArray, QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox, QVBoxLayout, QWidget

from engine.backends import available_backends
from engine.prompt import analyze_prompt
from resonant_studio import __version__
from resonant_studio.qt.engine_thread import EngineThread
from resonant_studio.core.export import existing_targets, has_notes, run_export
from resonant_studio.core.heap import freeze_long_lived
from resonant_studio.qt.library_dock import install_library_dock
from resonant_studio.qt.models_dialog import install_models_action
from resonant_studio.qt.menus import CommandKeysOverFields, MenuActions, MenuHandlers
from resonant_studio.qt.notifier import Message, Notifier
from resonant_studio.core.playback import Player
from resonant_studio.qt.preset_controls import PresetControls
from resonant_studio.qt.project_files import ProjectFiles, detached_copy
from resonant_studio.qt.transport_link import TransportLink
from resonant_studio.qt.worker import sentence
from resonant_studio.generation.section import Section, section_from_seconds
from resonant_studio.qt.controller import USER_ERRORS, PlayerFactory, SessionController
from resonant_studio.core.settings import Settings
from tracks import Session, Track
from tracks.export_choices import ExportChoices
from widgets.export_dialog import ExportDialog
from widgets.generation_status import GenerationStatus
from widgets.message_banner import MessageBanner
from widgets.prompt_bar import PromptBar
from widgets.timeline import Timeline
from widgets.transport import Transport

PLAYHEAD_POLL_MS = 33
GEOMETRY_KEY = "window_geometry"
STATE_KEY = "window_state"
STATUS_SECONDS = 6


def _warm_up() -> None:
    """Engine-thread work right after the window opens: the prompt reader's tables, and the
    loudness meter's scipy filters. Importing scipy holds the GIL for about half a second; done
    here, it happens while the person reads the window, not in the middle of their first export.

    Then everything alive so far (modules, Qt wrappers, tables: ~140,000 objects) is moved out of
    the cyclic garbage collector's sight with ``gc.freeze()``. A full collection walks every
    tracked object holding the GIL, and one that fell in the middle of an export froze the window
    65-85 ms; these objects live as long as the process, so walking them finds nothing to free.
    Measured: the longest stall during that export went from 65-145 ms to 20-40 ms."""
    analyze_prompt("warm up: house, 120 bpm, C minor")
    import pyloudnorm  # noqa: F401

    if gc.get_freeze_count() == 0:  # once a process: a later window would freeze its predecessors' garbage
        freeze_long_lived()  # no collect first: that would be the very walk this avoids


class MainWindow(QMainWindow):
    exported = Signal(list)   # the paths an Export wrote
    def __init__(self, *, settings: Settings | None = None, player_factory: PlayerFactory = Player) -> None:
        super().__init__()
        self.setWindowTitle("Resonant Studio")
        self.resize(1280, 760)
        self.settings = settings or Settings()
        self.notifier = Notifier(self)
        self.engine = EngineThread(self)
        self.engine.start()
        # the default engine and the prompt reader are warmed on the engine thread while the window opens
        self._warm_up_started = False  # the engine warms up once the window is on screen (showEvent)
        self.warmed_up = False  # set on the engine thread when that warm-up has finished
        self.controller = SessionController(self.notifier, self.engine, player_factory=player_factory, parent=self)
        self.projects = ProjectFiles(self.controller, self.settings, self.notifier, self)
        self.export_dialog: ExportDialog | None = None
        self._shut_down = False
        self._closing_ok = False
        self._banner_topic = ""
        self._last_export: ExportChoices | None = None

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
        self.prompt_bar.prompt_edit.installEventFilter(CommandKeysOverFields(self.actions))
        self._add_transport_actions()
        self._connect()
        # style/role/quality pickers in the prompt bar
        self.presets = PresetControls(self.prompt_bar, self.settings, self.notifier, self.actions,
                                      session=lambda: self.controller.session, parent=self)
        self.models = install_models_action(self.actions, self.notifier, self, presets=self.presets)
        # "Like This Song"
        self.library_dock = install_library_dock(self, self.controller, self.notifier, self.prompt_bar, self.actions,
                                                 player_factory=player_factory)
        self._restore_layout()
        self._on_session_changed(None)
        self._show_audio_state()
        self.transport_link = TransportLink(self.transport, self.timeline, lambda: self.controller.player,
                                            lambda: self.controller.session, self.notifier, self)
        self.playhead_timer = QTimer(self)
        self.playhead_timer.setInterval(PLAYHEAD_POLL_MS)
        self.playhead_timer.timeout.connect(self._poll_playhead)
        self.playhead_timer.start()

    def _add_transport_actions(self) -> None:
        """Metronome, count-in, follow and "loop selection" in the Transport menu, one state with
        the transport's buttons (the buttons stay the source of truth)."""
        a = self.actions
        t = self.transport
        a.menus["transport"].addSeparator()
        for key, text, tip, button, shortcut in (
                ("metronome", "&Metronome", "Click on every beat while playing", t.metronome_button, "Ctrl+K"),
                ("count_in", "&Count-In", "One bar of clicks before playing starts", t.count_in_button, None),
                ("follow", "&Follow Playhead", "Scroll the lanes along while playing", t.follow_button, "Ctrl+F")):
            action = a.add(key, text, tip, None, shortcut, menu="transport")
            action.setCheckable(True)
            action.setChecked(button.isChecked())
            action.toggled.connect(lambda on, b=button: b.isChecked() != on and b.setChecked(on))
            button.toggled.connect(lambda on, act=action: act.isChecked() != on and act.setChecked(on))
        a.add("loop_selection", "Loop &Selected Bars",
              "Loop the bars selected on the ruler (the whole piece when none are)", self._loop_selection,
              "Ctrl+Shift+L", menu="transport")

    def _loop_selection(self) -> None:
        if self.timeline.loop_region() is None and self.session is not None:
            self.timeline.set_loop_bars(1, self.session.bars)
        self._set_loop(True)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if not self._warm_up_started:
            # after the first paint: the warm-up's imports hold the GIL, so started in the
            # constructor they delayed the window itself
            self._warm_up_started = True
            QTimer.singleShot(0, lambda: self.engine.preload("composer", then=self._warm_up))

    def _warm_up(self) -> None:  # on the engine thread
        _warm_up()
        self.warmed_up = True

    def _menu_handlers(self) -> MenuHandlers:
        c = self.controller
        return MenuHandlers(
            new=self.new_session, open=lambda: self.open_project(), open_folder=self.open_project, save=self.save,
            save_as=lambda: self.save_as(), import_audio=self.import_audio, export=self.show_export_dialog,
            quit=self.close, undo=c.undo, redo=c.redo, generate=self.generate,
            regenerate_selection=self.regenerate_selection, cancel=c.cancel,
            play=self.toggle_play, stop=self.stop, set_loop=self._set_loop, zoom=self.timeline.zoom,
            zoom_fit=self.timeline.fit, about=self.about, shortcuts=self.show_shortcuts,
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
        c.generation_applied.connect(lambda takes: self.prompt_bar.show_seed(takes[0].seed if takes else None))
        self.projects.recent_changed.connect(self.actions.refresh_recent)
        self.projects.activity.connect(self._show_activity)

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
        seed = bar.seed_for_generation()  # a new variation each time, unless the seed is pinned
        try:  # a chosen style/role/quality preset resolves here; None leaves the plain path
            config = self.presets.resolve(bar.prompt(), seed, bar.bars())
        except USER_ERRORS as exc:
            self.notifier.error(str(exc))
            return
        self.controller.generate(bar.prompt(), engine=bar.engine(), bars=bar.bars(), seed=seed, config=config)

    def regenerate(self, track: Track) -> None:
        """A lane's Regenerate: the whole track, or only the selected bars when a range is
        selected on the ruler (the loop region)."""
        section = self.selected_section()
        seed = self.prompt_bar.seed() if self.prompt_bar.seed_pinned else None  # None: a new variation
        if section is not None:
            self.controller.regenerate_section([track], section, engine=self.prompt_bar.engine(), seed=seed)
        else:
            self.controller.regenerate(track, engine=self.prompt_bar.engine(), seed=seed)

    def regenerate_selection(self) -> None:
        """Generate > Regenerate Selected Bars: the selected bars of every unlocked track."""
        section = self.selected_section()
        s = self.session
        if s is None or section is None:
            self.notifier.error("select bars first: drag across the ruler above the lanes")
            return
        targets = [t for t in s.tracks if not t.locked and t.active_take is not None]
        seed = self.prompt_bar.seed() if self.prompt_bar.seed_pinned else None
        self.controller.regenerate_section(targets, section, engine=self.prompt_bar.engine(), seed=seed)

    def selected_section(self) -> Section | None:
        s, region = self.session, self.timeline.loop_region()
        if s is None or region is None or region[1] <= region[0]:
            return None
        return section_from_seconds(region[0], region[1], s.beats_per_bar * 60.0 / s.tempo, s.bars)

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
        if message.level == "info" and message.topic and self._banner_topic == message.topic:
            self.banner.dismiss()  # what failed has now worked
            self._banner_topic = ""
        if message.level == "error":
            self._banner_topic = message.topic
            self.banner.show_message(message.text, "error")
        elif message.level == "offer":
            self.banner.show_message(message.text, "info", list(message.actions))

    # --- files: each runs on the files worker; the window goes on while the disk works --------
    def new_session(self) -> None:
        self._after_saving_changes(self._new_now)

    def _new_now(self) -> None:
        self.presets.clear_sticky()  # a new piece starts from what is typed, not the last piece's style
        self.projects.new()
        self._update_title()

    def open_project(self, folder: str | None = None) -> None:
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self, "Open project", str(self._default_folder()))
            if not folder:
                return
        self._after_saving_changes(lambda: self.projects.open(folder, then=self._update_title))

    def save(self, then: Callable[[], None] | None = None) -> bool:
        """Start saving (``projects.saved`` says when it is on disk); False when nothing started."""
        if self.controller.folder is None:
            return self.save_as(then=then)
        return self.projects.save(then=self._then_update_title(then))

    def save_as(self, folder: str | None = None, then: Callable[[], None] | None = None) -> bool:
        if folder is None:
            name = self.session.name if self.session else "untitled"
            folder, _ = QFileDialog.getSaveFileName(self, "Save project as",
                                                    str(self._default_folder() / f"{name}.resonant"))
            if not folder:
                return False
        return self.projects.save_as(folder, then=self._then_update_title(then))

    def _then_update_title(self, then: Callable[[], None] | None) -> Callable[[], None]:
        def after() -> None:
            self._update_title()
            if then is not None:
                then()
        return after

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
        if self._last_export is not None:
            dialog.apply(self._last_export)
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
        existing = existing_targets(choices)
        if existing and not self.confirm_overwrite(existing):
            self._last_export = choices
            return
        copy = detached_copy(s)
        self._show_activity(f"Exporting {choices.name}…")
        self.projects.worker.submit(lambda _t: run_export(copy, choices),
                                    done=lambda result: self._exported(choices, result.written, list(result.notes)),
                                    failed=lambda exc: self._export_failed(choices, exc))

    def confirm_overwrite(self, paths: list[Path]) -> bool:
        """Asked before an export replaces files (tests replace it)."""
        names = ", ".join(p.name for p in paths[:3]) + (" …" if len(paths) > 3 else "")
        answer = QMessageBox.question(self, "Replace files?", f"{names} already exist in {paths[0].parent}. "
                                      "Replace them?", QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def _export_failed(self, choices: ExportChoices, exc: BaseException) -> None:
        self._last_export = choices  # the next Export dialog opens with what was asked
        self.notifier.error(f"export failed: {sentence(exc)}", topic="export")

    def _exported(self, choices: ExportChoices, written: list[Path], notes: list[str]) -> None:
        self.settings.set("export_folder", str(choices.folder))
        extra = (" " + " ".join(notes)) if notes else ""
        self._last_export = choices
        self.notifier.info(f"exported {len(written)} file{'s' if len(written) != 1 else ''} to {choices.folder}{extra}",
                           topic="export")
        self.exported.emit(written)

    def _show_activity(self, text: str) -> None:
        self.statusBar().showMessage(text)

    # --- closing ------------------------------------------------------------------------------------
    def ask_save_changes(self) -> QMessageBox.StandardButton:
        """Asked when closing or replacing a session with unsaved changes (tests replace it)."""
        return QMessageBox.question(self, "Unsaved changes", "Save the changes to this session first?",
                                    QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                                    | QMessageBox.StandardButton.Cancel)

    def _after_saving_changes(self, then: Callable[[], None]) -> None:
        """Run ``then`` once unsaved changes are saved or discarded (asking first); not at all on Cancel
        or when the save fails."""
        if not self.controller.dirty or self.session is None:
            then()
            return
        answer = self.ask_save_changes()
        if answer == QMessageBox.StandardButton.Save:
            self.save(then=lambda: then() if not self.controller.dirty else None)
        elif answer == QMessageBox.StandardButton.Discard:
            then()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        answer = None
        if not (self._closing_ok or not self.controller.dirty or self.session is None):
            answer = self.ask_save_changes()
        if answer in (None, QMessageBox.StandardButton.Discard):
            self.shutdown()
            event.accept()
            return
        event.ignore()
        if answer == QMessageBox.StandardButton.Save:  # closes once the save is on disk
            self.save(then=lambda: QTimer.singleShot(0, self._close_now) if not self.controller.dirty else None)

    def _close_now(self) -> None:
        self._closing_ok = True
        self.close()

    def _restore_layout(self) -> None:
        """The size, position and dock layout of the last session (settings), if they fit a screen."""
        geometry, state = self.settings.get(GEOMETRY_KEY), self.settings.get(STATE_KEY)
        try:
            if isinstance(geometry, str):
                self.restoreGeometry(QByteArray.fromBase64(geometry.encode("ascii")))
            if isinstance(state, str):
                self.restoreState(QByteArray.fromBase64(state.encode("ascii")))
        except (ValueError, UnicodeError):
            pass  # a damaged entry: the default layout, written anew on quit

    def save_layout(self) -> None:
        self.settings.set(GEOMETRY_KEY, bytes(self.saveGeometry().toBase64()).decode("ascii"))
        self.settings.set(STATE_KEY, bytes(self.saveState().toBase64()).decode("ascii"))

    def shutdown(self) -> None:
        """Stop timers, playback and the engine thread; forget the crash marker. Idempotent."""
        if self._shut_down:
            return
        self._shut_down = True
        self.save_layout()
        self.playhead_timer.stop()
        self.projects.closed_cleanly()
        self.timeline.unbind()
        self.library_dock.shutdown()
        self.controller.shutdown()
        self.engine.shutdown()

    def show_shortcuts(self) -> QMessageBox:
        rows = "".join(f"<tr><td>{what}</td><td>&nbsp;&nbsp;<b>{keys}</b></td></tr>"
                       for what, keys in self.actions.shortcut_table())
        box = QMessageBox(QMessageBox.Icon.NoIcon, "Keyboard Shortcuts", f"<table>{rows}</table>",
                          QMessageBox.StandardButton.Close, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # not modal to the event loop: the studio keeps running
        self.shortcuts_box = box
        return box

    def about(self) -> None:
        QMessageBox.about(self, "About Resonant Studio",
                          f"<b>Resonant Studio</b> {__version__}<br>Describe music, get separate tracks, "
                          "lock what you like, regenerate the rest.")

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Escape and self.controller.busy:
            self.controller.cancel()
            return
        super().keyPressEvent(event)
