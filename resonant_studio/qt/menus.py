"""The window's menus and shortcuts: an action registry, following each platform's conventions.

``ActionRegistry`` owns every ``QAction`` by key and every menu by key; whoever adds an
action (the window, the preset controls, the Like This Song dock) is handed the registry and
says which menu it goes in, so nothing looks a menu up by its label. ``build_menus`` fills
it from ``MenuHandlers``: the callables the actions run, so this module knows no window.

Standard keys (New, Open, Save, Save As, Undo, Redo, Quit, zoom) come from
``QKeySequence.StandardKey``, so they read Ctrl on Linux and Windows and Cmd on macOS; menu
roles put About and Quit where macOS expects them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

from tracks.history import History
from widgets.theme import icon

SK = QKeySequence.StandardKey
MENU_ORDER = (("file", "&File"), ("edit", "&Edit"), ("generate", "&Generate"), ("transport", "&Transport"),
              ("view", "&View"), ("help", "&Help"))


class ActionRegistry:
    """Actions and menus by key, on one window (shortcuts work even while the menu bar is hidden)."""

    def __init__(self, window: QMainWindow) -> None:
        self._window = window
        self._actions: dict[str, QAction] = {}
        self.menus: dict[str, QMenu] = {}
        bar = window.menuBar()
        for key, title in MENU_ORDER:
            menu = bar.addMenu(title)
            menu.setToolTipsVisible(True)
            self.menus[key] = menu

    def add(self, key: str, text: str, tip: str, slot: Callable[[], object] | None = None, shortcut=None,
            *, menu: str | None = None) -> QAction:
        if key in self._actions:
            raise ValueError(f"action {key!r} is registered twice")
        action = QAction(text, self._window)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        if shortcut is not None:
            keys = shortcut if isinstance(shortcut, (list, tuple)) else [shortcut]
            sequences: list[QKeySequence] = []
            for k in keys:  # a standard key may stand for several sequences on one platform
                if isinstance(k, QKeySequence.StandardKey):
                    sequences.extend(QKeySequence.keyBindings(k))
                else:
                    sequences.append(QKeySequence(k))
            unique = list(dict.fromkeys(seq.toString() for seq in sequences if not seq.isEmpty()))
            action.setShortcuts([QKeySequence(text) for text in unique])
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if slot is not None:
            action.triggered.connect(lambda _checked=False: slot())
        self._window.addAction(action)
        self._actions[key] = action
        if menu is not None:
            self.menus[menu].addAction(action)
        return action

    def put(self, menu: str, action: QAction, *, separator: bool = False) -> None:
        """Add an action made elsewhere (a dock's toggle) to a menu."""
        if separator:
            self.menus[menu].addSeparator()
        self.menus[menu].addAction(action)

    def shortcut_table(self) -> list[tuple[str, str]]:
        """(what, keys) for every action that has a shortcut, in the order they were added."""
        rows = []
        for action in self._actions.values():
            keys = [seq.toString(QKeySequence.SequenceFormat.NativeText) for seq in action.shortcuts()]
            if keys:
                rows.append((action.text().replace("&", "").rstrip("…"), ", ".join(keys)))
        return rows

    def __getitem__(self, key: str) -> QAction:
        return self._actions[key]

    def __getattr__(self, key: str) -> QAction:
        try:
            return self.__dict__["_actions"][key]
        except KeyError:
            raise AttributeError(key) from None


class CommandKeysOverFields(QObject):
    """An event filter for text fields: the window's Ctrl/Alt shortcuts (Ctrl+E Export, Ctrl+I
    Import, Ctrl+Return Generate...) win over the field's own bindings (Ctrl+E is "end of line"
    in a Qt line edit, so the field swallowed it). Undo/Redo and the clipboard stay the field's,
    and plain keys (Space) still type."""

    FIELD_KEEPS = ("undo", "redo")

    def __init__(self, registry: ActionRegistry) -> None:
        super().__init__(registry._window)
        self._registry = registry

    def _window_keys(self) -> set[str]:
        keys: set[str] = set()
        for name, action in self._registry._actions.items():
            if name in self.FIELD_KEEPS or not action.isEnabled():
                continue
            for seq in action.shortcuts():
                text = seq.toString()
                if any(m in text for m in ("Ctrl+", "Alt+", "Meta+")):
                    keys.add(text)
        return keys

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            pressed = QKeySequence(event.keyCombination()).toString()
            if pressed in self._window_keys():
                return True  # not accepted by the field: the window's shortcut runs
        return False


@dataclass(frozen=True)
class MenuHandlers:
    """What the menu actions do: plain callables, handed in by the window."""

    new: Callable[[], object]
    open: Callable[[], object]
    open_folder: Callable[[str], object]
    save: Callable[[], object]
    save_as: Callable[[], object]
    import_audio: Callable[[], object]
    export: Callable[[], object]
    quit: Callable[[], object]
    undo: Callable[[], object]
    redo: Callable[[], object]
    generate: Callable[[], object]
    regenerate_selection: Callable[[], object]
    cancel: Callable[[], object]
    play: Callable[[], object]
    stop: Callable[[], object]
    set_loop: Callable[[bool], object]
    zoom: Callable[[float], object]
    zoom_fit: Callable[[], object]
    about: Callable[[], object]
    shortcuts: Callable[[], object]
    history: Callable[[], History | None]
    recent: Callable[[], list[str]]
    clear_recent: Callable[[], object]


class MenuActions(ActionRegistry):
    """The studio's registry with its standard actions and menus."""

    def __init__(self, window: QMainWindow, handlers: MenuHandlers) -> None:
        super().__init__(window)
        self._handlers = handlers
        h = handlers
        self.add("new", "&New", "Start a new, empty session", h.new, SK.New, menu="file")
        self.add("open", "&Open…", "Open a project folder (Name.resonant)", h.open, SK.Open, menu="file")
        self.recent_menu = self.menus["file"].addMenu("Open &Recent")
        self.recent_menu.setToolTipsVisible(True)
        self.menus["file"].addSeparator()
        self.add("save", "&Save", "Save the project", h.save, SK.Save, menu="file")
        self.add("save_as", "Save &As…", "Save the project in a new folder", h.save_as, SK.SaveAs, menu="file")
        self.menus["file"].addSeparator()
        self.add("import_audio", "&Import Audio…", "Add audio files as new locked tracks", h.import_audio, "Ctrl+I",
                 menu="file")
        self.add("export", "&Export…", "Export the mix, stems and MIDI", h.export, "Ctrl+E", menu="file")
        self.menus["file"].addSeparator()
        self.add("quit", "&Quit", "Quit Resonant Studio", h.quit, SK.Quit, menu="file")
        self.quit.setMenuRole(QAction.MenuRole.QuitRole)

        self.add("undo", "&Undo", "Undo the last change", h.undo, SK.Undo, menu="edit")
        # Ctrl+Y as well on Linux and Windows, where many programs use it (macOS has Cmd+Shift+Z)
        redo_keys = (SK.Redo,) if sys.platform == "darwin" else (SK.Redo, "Ctrl+Y")
        self.add("redo", "&Redo", "Redo what was undone", h.redo, redo_keys, menu="edit")

        self.add("generate", "&Generate", "Generate every unlocked track", h.generate, "Ctrl+Return", menu="generate")
        self.generate.setIcon(icon("generate"))
        self.add("regenerate_selection", "Regenerate &Selected Bars",
                 "New material for the bars selected on the ruler, in every unlocked track; the rest stays",
                 h.regenerate_selection, "Ctrl+Shift+R", menu="generate")
        self.add("cancel", "&Cancel Generation", "Stop the running generation", h.cancel, "Ctrl+.", menu="generate")
        self.cancel.setEnabled(False)

        self.add("play", "&Play / Pause", "Start or pause playback", h.play, "Space", menu="transport")
        # Cmd+Space is Spotlight on macOS
        self.add("stop", "&Stop", "Stop and go back to the start", h.stop, "Shift+Space", menu="transport")
        self.add("loop", "&Loop", "Loop the whole piece", None, "Ctrl+L", menu="transport")
        self.loop.setCheckable(True)
        self.loop.toggled.connect(h.set_loop)

        # Ctrl+= as well as Ctrl++: on most layouts + needs Shift, so Ctrl+= is what people press
        self.add("zoom_in", "Zoom &In", "Zoom in on time", lambda: h.zoom(0.5), (SK.ZoomIn, "Ctrl+=", "Ctrl++"),
                 menu="view")
        self.add("zoom_out", "Zoom &Out", "Zoom out in time", lambda: h.zoom(2.0), (SK.ZoomOut, "Ctrl+-"),
                 menu="view")
        self.add("zoom_fit", "Zoom to &Fit", "Show the whole piece", h.zoom_fit, "Ctrl+0", menu="view")

        self.add("shortcuts", "&Keyboard Shortcuts", "Every keyboard shortcut of the studio", h.shortcuts,
                 menu="help")
        self.add("about", "&About Resonant Studio", "About this application", h.about, menu="help")
        self.about.setMenuRole(QAction.MenuRole.AboutRole)
        self.refresh_recent()
        self.refresh_undo()

    def refresh_undo(self, *_: object) -> None:
        h = self._handlers.history()
        self.undo.setEnabled(bool(h and h.can_undo))
        self.redo.setEnabled(bool(h and h.can_redo))
        self.undo.setText(f"&Undo {h.undo_label}" if h and h.undo_label else "&Undo")
        self.redo.setText(f"&Redo {h.redo_label}" if h and h.redo_label else "&Redo")

    def refresh_recent(self) -> None:
        self.recent_menu.clear()
        recent = self._handlers.recent()
        for folder in recent:
            action = self.recent_menu.addAction(Path(folder).name)
            action.setToolTip(folder)
            action.triggered.connect(lambda _=False, f=folder: self._handlers.open_folder(f))
        if recent:
            self.recent_menu.addSeparator()
            clear = self.recent_menu.addAction("Clear Recent")
            clear.triggered.connect(self._clear_recent)
        self.recent_menu.setEnabled(bool(recent))

    def _clear_recent(self) -> None:
        self._handlers.clear_recent()
        self.refresh_recent()
