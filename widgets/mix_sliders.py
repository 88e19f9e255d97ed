"""Small sliders for a track header: gain in dB and pan, each reset by a double-click.

Double-click to reset is what Logic and Ableton do; a plain QSlider has no double-click
signal, so these sliders add one and set their default value themselves.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QSlider, QWidget

GAIN_RANGE_TENTHS = (-600, 120)   # -60 dB .. +12 dB in tenths of a dB
PAN_RANGE = (-100, 100)           # hard left .. hard right in hundredths


class ResettableSlider(QSlider):
    """A horizontal slider that goes back to ``default`` on a double-click (``reset`` emitted)."""

    reset = Signal()

    def __init__(self, minimum: int, maximum: int, default: int, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setRange(minimum, maximum)
        self.default = default
        self.setValue(default)

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if event.button() == Qt.MouseButton.LeftButton:
            self.setValue(self.default)
            self.reset.emit()
            event.accept()
            return
        super().mouseDoubleClickEvent(event)


def gain_slider(parent: QWidget | None = None) -> ResettableSlider:
    s = ResettableSlider(*GAIN_RANGE_TENTHS, 0, parent)
    s.setObjectName("gainSlider")
    s.setToolTip("Gain of this track in dB (double-click to reset to 0 dB)")
    return s


def pan_slider(parent: QWidget | None = None) -> ResettableSlider:
    s = ResettableSlider(*PAN_RANGE, 0, parent)
    s.setObjectName("panSlider")
    s.setToolTip("Pan: left or right in the stereo field (double-click to centre)")
    s.setFixedWidth(44)
    return s


def pan_text(pan: float) -> str:
    """``C`` for centre, ``L40`` / ``R100`` otherwise, as mixers label pan."""
    amount = int(round(abs(pan) * 100))
    if amount == 0:
        return "C"
    return f"{'L' if pan < 0 else 'R'}{amount}"
