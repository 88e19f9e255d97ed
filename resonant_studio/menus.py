"""The window's menus and shortcuts, following each platform's conventions.

Standard keys (New, Open, Save, Save As, Undo, Redo, Quit, zoom) come from
``QKeySequence.StandardKey``, so they read Ctrl on Linux and Windows and Cmd on macOS; menu
roles put About and Quit where macOS expects them.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence

from widgets.theme import icon

if TYPE_CHECKING:
    from resonant_studio.main_window import MainWindow

SK = QKeySequence.StandardKey


class MenuActions:
    def __init__(self, window: "MainWindow") -> None:
        self.window = window
        w = window
        c = window.controller

        self.new = self._action("&New", "Start a new, empty session", w.new_session, SK.New)
        self.open = self._action("&Open…", "Open a project folder (Name.resonant)", lambda: w.open_project(), SK.Open)
        self.save = self._action("&Save", "Save the project", w.save, SK.Save)
        self.save_as = self._action("Save &As…", "Save the project in a new folder", lambda: w.save_as(), SK.SaveAs)
        self.import_audio = self._action("&Import Audio…", "Add audio files as new locked tracks",
                                         w.import_audio, "Ctrl+I")
        self.export = self._action("&Export…", "Export the mix, stems and MIDI", w.show_export_dialog, "Ctrl+E")
        self.quit = self._action("&Quit", "Quit Resonant Studio", w.close, SK.Quit)
        self.quit.setMenuRole(QAction.MenuRole.QuitRole)

        self.undo = self._action("&Undo", "Undo the last change", c.undo, SK.Undo)
        self.redo = self._action("&Redo", "Redo what was undone", c.redo, SK.Redo)

        self.generate = self._action("&Generate", "Generate every unlocked track", w.generate, "Ctrl+Return")
        self.generate.setIcon(icon("generate"))
        self.cancel = self._action("&Cancel Generation", "Stop the running generation", c.cancel, "Ctrl+.")
        self.cancel.setEnabled(False)

        self.play = self._action("&Play / Pause", "Start or pause playback", w.toggle_play, "Space")
        self.stop = self._action("&Stop", "Stop and go back to the start", w.stop, "Shift+Space")  # Cmd+Space is Spotlight on macOS
        self.loop = self._action("&Loop", "Loop the whole piece", None, "Ctrl+L")
        self.loop.setCheckable(True)
        self.loop.toggled.connect(w._set_loop)

        self.zoom_in = self._action("Zoom &In", "Zoom in on time", partial(w.timeline.zoom, 0.5), SK.ZoomIn)
        self.zoom_out = self._action("Zoom &Out", "Zoom out in time", partial(w.timeline.zoom, 2.0), SK.ZoomOut)
        self.zoom_fit = self._action("Zoom to &Fit", "Show the whole piece", w.timeline.fit, "Ctrl+0")

        self.about = self._action("&About Resonant Studio", "About this application", w.about)
        self.about.setMenuRole(QAction.MenuRole.AboutRole)

        bar = w.menuBar()
        file_menu = bar.addMenu("&File")
        for a in (self.new, self.open):
            file_menu.addAction(a)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.setToolTipsVisible(True)
        file_menu.addSeparator()
        for a in (self.save, self.save_as):
            file_menu.addAction(a)
        file_menu.addSeparator()
        for a in (self.import_audio, self.export):
            file_menu.addAction(a)
        file_menu.addSeparator()
        file_menu.addAction(self.quit)

        edit_menu = bar.addMenu("&Edit")
        edit_menu.addAction(self.undo)
        edit_menu.addAction(self.redo)

        gen_menu = bar.addMenu("&Generate")
        gen_menu.addAction(self.generate)
        gen_menu.addAction(self.cancel)

        transport_menu = bar.addMenu("&Transport")
        for a in (self.play, self.stop, self.loop):
            transport_menu.addAction(a)

        view_menu = bar.addMenu("&View")
        for a in (self.zoom_in, self.zoom_out, self.zoom_fit):
            view_menu.addAction(a)

        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.about)
        for menu in (file_menu, edit_menu, gen_menu, transport_menu, view_menu, help_menu):
            menu.setToolTipsVisible(True)
        self.menus = {"file": file_menu, "edit": edit_menu, "generate": gen_menu,
                      "transport": transport_menu, "view": view_menu, "help": help_menu}
        self.refresh_recent()
        self.refresh_undo()

    def _action(self, text: str, tip: str, slot, shortcut=None) -> QAction:
        action = QAction(text, self.window)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if slot is not None:
            action.triggered.connect(lambda _checked=False: slot())
        self.window.addAction(action)  # shortcuts work even while the menu bar is hidden
        return action

    def refresh_undo(self, *_: object) -> None:
        s = self.window.controller.session
        h = s.history if s is not None else None
        self.undo.setEnabled(bool(h and h.can_undo))
        self.redo.setEnabled(bool(h and h.can_redo))
        self.undo.setText(f"&Undo {h.undo_label}" if h and h.undo_label else "&Undo")
        self.redo.setText(f"&Redo {h.redo_label}" if h and h.redo_label else "&Redo")

    def refresh_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.window.projects.recent()
        for folder in recent:
            action = self.recent_menu.addAction(Path(folder).name)
            action.setToolTip(folder)
            action.triggered.connect(lambda _=False, f=folder: self.window.open_project(f))
        if recent:
            self.recent_menu.addSeparator()
            clear = self.recent_menu.addAction("Clear Recent")
            clear.triggered.connect(self._clear_recent)
        self.recent_menu.setEnabled(bool(recent))

    def _clear_recent(self) -> None:
        self.window.settings.clear_recent_projects()
        self.refresh_recent()


def build_menus(window: "MainWindow") -> MenuActions:
    return MenuActions(window)
