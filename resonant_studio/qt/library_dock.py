"""The "Like This Song" dock: the reference panel wired to the library worker and the session.

The panel (widgets/) shows plain data and emits requests; ``LibraryService`` does the work
on its own thread; this class passes data between them and applies "Use as reference" to
the session on the UI thread. Every generated take is handed to the library so the person
can search their own history by prompt.

It is handed what it uses (the controller for the session, player, busy state and reference;
the notifier; the prompt bar; the action registry for its View-menu toggle) and never reaches
into the window.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

from PySide6.QtCore import Qt, QThread, QTimer
from PySide6.QtWidgets import QAbstractButton, QDockWidget, QMainWindow

from engine.analysis import AudioAnalysis
from resonant_studio.core.errors import AppError
from resonant_studio.qt.library_service import LibraryService
from resonant_studio.qt.mix_renderer import snapshot
from resonant_studio.core.imports import conform_locked
from resonant_studio.core.steering import Steering, apply_reference, steer, timing_offer
from resonant_studio.qt.menus import ActionRegistry
from resonant_studio.qt.notifier import Notifier
from tracks import Session
from widgets.prompt_bar import PromptBar
from widgets.reference_panel import ReferencePanel

TAKE_INDEX_DELAY_MS = 3000


def analysis_for_panel(a: AudioAnalysis) -> dict[str, Any]:
    return {**a.to_dict(), "waveform": a.waveform}


class DockController(Protocol):
    """What the dock needs of the session controller."""

    session: Session | None
    busy: bool
    reference: Any
    player: Any


class LibraryDock(QDockWidget):
    def __init__(self, parent: QMainWindow, controller: DockController, notifier: Notifier, prompt_bar: PromptBar,
                 *, player_factory: Callable[[int], Any] | None = None,
                 library_factory: Callable[[], Any] | None = None) -> None:
        super().__init__("Like This Song", parent)
        self.setObjectName("likeThisSongDock")
        self.controller = controller
        self.notifier = notifier
        self.prompt_bar = prompt_bar
        self.panel = ReferencePanel(self)
        self.setWidget(self.panel)
        self.service = LibraryService(self, library_factory=library_factory)
        self.service.start(QThread.Priority.LowPriority)
        self._player_factory = player_factory
        self._preview = None
        self._analyses: dict[str, AudioAnalysis] = {}
        self._pending_takes: list = []
        self._last_search: tuple[str, Any] | None = None   # ("like", analysis) or ("text", words)
        self._reference_after: str | None = None  # a double-clicked result, analysed to become the reference
        self._preview_path: str | None = None
        self._take_timer = QTimer(self)
        self._take_timer.setSingleShot(True)
        self._take_timer.setInterval(TAKE_INDEX_DELAY_MS)
        self._take_timer.timeout.connect(self._flush_takes)
        self.steering: Steering | None = None
        """The last "Use as reference": its ``reference`` is what a request's ``reference`` takes."""

        p, s = self.panel, self.service
        p.file_dropped.connect(self.analyze)
        p.index_folder_requested.connect(self.index_folder)
        p.search_text_requested.connect(self.search_text)
        p.use_as_reference_requested.connect(self.use_as_reference)
        p.play_requested.connect(self.preview)
        p.stop_requested.connect(self.stop_preview)
        p.reference_requested.connect(self.make_reference)
        p.source_changed.connect(lambda _source: self._search_again())
        s.analysed.connect(self._on_analysed)
        s.results.connect(p.show_results)
        s.progress.connect(p.show_progress)
        s.indexed.connect(lambda report: p.show_progress(1.0, report.summary()))
        s.preview_ready.connect(self._play_preview)
        s.failed.connect(self._on_failed)
        if hasattr(controller, "generation_applied"):
            controller.generation_applied.connect(self.index_takes)

    # --- requests -----------------------------------------------------------------------------------
    def analyze(self, path: str) -> None:
        self.panel.show_message(f"Analysing {path}…")
        self.service.analyze(path, source=self.panel.source())

    def search_text(self, text: str) -> None:
        self._last_search = ("text", text)
        self.service.search_text(text, source=self.panel.source())

    def _search_again(self) -> None:
        """The source filter changed: the last search again, with it."""
        if self._last_search is None:
            return
        kind, what = self._last_search
        if kind == "text":
            self.service.search_text(what, source=self.panel.source())
        else:
            self.service.search_like(what, source=self.panel.source())

    def make_reference(self, path: str) -> None:
        """A result double-clicked: analyse it (if need be), then use it as the reference."""
        analysis = self._analyses.get(path)
        if analysis is not None:
            self.panel.show_analysis(analysis_for_panel(analysis))
            self.use_as_reference({"path": path})
            return
        self._reference_after = path
        self.panel.show_message(f"Analysing {path}…")
        self.service.analyze(path, search=False)

    def index_folder(self, folder: str) -> None:
        self.panel.show_progress(0.0, f"Indexing {folder}…")
        self.service.index_folder(folder)

    def index_takes(self, takes: list) -> None:
        """Queue new takes for the library; they are analysed once generation has been quiet
        for ``TAKE_INDEX_DELAY_MS``, so indexing never competes with generating or playing."""
        session = self.controller.session
        if session is None or not takes:
            return
        # one library item per generation: the mix as it sounds now, with the new takes attached
        # (indexing each stem flooded Like This Song with the app's own parts)
        prompt = takes[0].prompt
        self._pending_takes.append((takes[0].id, snapshot(session, 0), session.sample_rate, prompt,
                                    prompt[:60] or session.name, [t.id for t in takes]))
        self._take_timer.start()

    def _flush_takes(self) -> None:
        if self.controller.busy:
            self._take_timer.start()
            return
        generations, self._pending_takes = self._pending_takes, []
        if generations:
            self.service.index_generations(generations)

    def use_as_reference(self, data: dict) -> None:
        analysis = self._analyses.get(str(data.get("path", "")))
        if analysis is None:
            return
        continue_audio = bool(data.get("continue_audio"))
        session = self.controller.session
        try:
            if session is not None:
                self.steering = apply_reference(session, analysis, continue_audio=continue_audio)
            else:
                self.steering = steer({}, self.prompt_bar.prompt(), analysis, continue_audio=continue_audio)
        except AppError as exc:
            self._notify(str(exc), error=True)
            return
        self.controller.reference = self.steering.reference
        self.prompt_bar.set_prompt(self.steering.prompt)
        self._notify(f"Following {analysis.title}: " + ("; ".join(self.steering.changes) or "nothing to change"))
        offer = timing_offer(session, analysis) if session is not None else None
        if offer:  # locked tracks play in the session's tempo and key: ask before changing them
            self.notifier.offer(f"{analysis.title} would change the {offer}; your locked tracks keep the session's",
                                [("Follow it and fit the locked tracks", lambda: self.follow_timing(analysis)),
                                 ("Keep the session's", lambda: None)])

    def follow_timing(self, analysis: AudioAnalysis) -> None:
        """The person agreed: the reference's tempo and key, and the locked audio fitted to them
        (new takes; the old ones kept), as one undoable step."""
        session = self.controller.session
        if session is None:
            return
        target = steer(session.context, session.prompt, analysis)
        try:
            with session.history.group(f"Follow {analysis.title}"):
                conform_locked(session, float(target.context["tempo"]),
                               analysis.tonic if analysis.tonic is not None else None)
                session.context = target.context
        except AppError as exc:
            self._notify(str(exc), error=True)
            return
        self._notify(f"Following {analysis.title}: " + "; ".join(target.changes) + "; locked tracks fitted to it")

    def stop_preview(self) -> None:
        if self._preview is not None:
            self._preview.stop()
        self._preview_path = None
        self.panel.set_playing(None)

    def preview(self, path: str) -> None:
        rate = 44100
        self.service.load_preview(path, rate)

    # --- answers ----------------------------------------------------------------------------------
    def _on_analysed(self, analysis: AudioAnalysis) -> None:
        self._analyses[analysis.path] = analysis
        self.panel.show_analysis(analysis_for_panel(analysis))
        if self._reference_after is not None and self._reference_after == analysis.path:
            self._reference_after = None
            self.use_as_reference({"path": analysis.path})
            return
        self._last_search = ("like", analysis)
        self.panel.show_message(f"Searching your library for music like {analysis.title}…")

    def _on_failed(self, message: str) -> None:
        self.panel.show_progress(1.0, message)
        self._notify(message, error=True)

    def _play_preview(self, path: str, audio) -> None:
        if self._player_factory is None:
            return
        main_player = self.controller.player
        if main_player is not None and main_player.playing:
            main_player.pause()
        if self._preview is None:
            self._preview = self._player_factory(44100)
        if not getattr(self._preview, "available", False):
            self._notify(getattr(self._preview, "unavailable_reason", None) or "cannot play: no audio output", error=True)
        self._preview.stop()
        self._preview.set_mix(audio)
        self._preview.play()
        self._preview_path = path
        self.panel.set_playing(path)
        self.panel.show_message(f"Playing {path}")

    def _notify(self, text: str, error: bool = False) -> None:
        if error:
            self.notifier.error(text)
        else:
            self.notifier.info(text)

    def shutdown(self) -> None:
        """Stop the worker (takes still waiting for a quiet moment are not indexed)."""
        self._take_timer.stop()
        self.service.shutdown()
        if self._preview is not None:
            self._preview.close()
            self._preview = None


def install_library_dock(window: QMainWindow, controller: DockController, notifier: Notifier,
                         prompt_bar: PromptBar, actions: ActionRegistry, **kwargs: Any) -> LibraryDock:
    """Add the dock on the right of ``window``, its toggle in the View menu."""
    dock = LibraryDock(window, controller, notifier, prompt_bar, **kwargs)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    for name, tip in (("qt_dockwidget_floatbutton", "Float the Like This Song panel or dock it again"),
                      ("qt_dockwidget_closebutton", "Hide the Like This Song panel (View menu shows it again)")):
        button = dock.findChild(QAbstractButton, name)
        if button is not None:
            button.setToolTip(tip)
    toggle = dock.toggleViewAction()
    toggle.setText("Like This Song Panel")
    toggle.setToolTip("Show or hide the Like This Song panel: find music like a reference and steer with it")
    actions.put("view", toggle, separator=True)  # so a closed panel can always be brought back
    return dock
