"""Colours, icons and the dark stylesheet from resources/."""

from __future__ import annotations

import functools
from pathlib import Path

from PySide6.QtGui import QColor, QIcon
from PySide6.QtWidgets import QApplication

RESOURCES = Path(__file__).resolve().parents[1] / "resources"

ROLE_COLOURS = {
    "drums": "#f28c38",
    "bass": "#5b8cff",
    "harmony": "#4cc38a",
    "melody": "#e0609f",
    "other": "#a58cff",
}

GRID_BAR = "#4a505c"
GRID_BEAT = "#2c3038"
PLAYHEAD = "#ffffff"
LANE_BACKGROUND = "#16181c"


def role_colour(role: str) -> QColor:
    return QColor(ROLE_COLOURS.get(role, ROLE_COLOURS["other"]))


@functools.cache
def icon(name: str) -> QIcon:
    """An icon from resources/icons/NAME.svg (an empty icon if the file is missing); loaded once."""
    path = RESOURCES / "icons" / f"{name}.svg"
    return QIcon(str(path)) if path.exists() else QIcon()


def apply_dark_theme(app: QApplication) -> None:
    app.setStyle("Fusion")  # the stylesheet is written against Fusion's metrics on every platform
    path = RESOURCES / "dark.qss"
    try:
        # url() in a stylesheet is relative to the working directory: point it at resources/icons
        icons = (RESOURCES / "icons").as_posix()
        app.setStyleSheet(path.read_text(encoding="utf-8").replace("@ICONS@", icons))
    except OSError:
        pass  # a missing stylesheet leaves the default look; nothing else depends on it
    app.setWindowIcon(icon("app"))
