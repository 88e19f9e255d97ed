"""Colours, icons and the dark stylesheet from resources/."""

from __future__ import annotations

import functools
from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
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


@functools.cache
def icon_with_dim_disabled(name: str) -> QIcon:
    """``icon(name)`` whose disabled look is drawn at 30 % opacity: Qt's SVG icons otherwise
    look the same enabled and disabled (a locked lane's regenerate button looked clickable)."""
    base = icon(name)
    result = QIcon(base)
    for side in (16, 18, 22, 24, 32, 36, 44, 48):  # every size a tool button asks for, at 1x and 2x
        normal = base.pixmap(QSize(side, side))
        if normal.isNull():
            continue
        dim = QPixmap(normal.size())
        dim.fill(QColor(0, 0, 0, 0))
        painter = QPainter(dim)
        painter.setOpacity(0.3)
        painter.drawPixmap(0, 0, normal)
        painter.end()
        result.addPixmap(dim, QIcon.Mode.Disabled)
    return result


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
