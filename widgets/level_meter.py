"""Peak and RMS level meters, and the numbers they show, measured from a buffer slice.

The meters are fed on a UI timer from the playback position (``block_levels`` on the slice
of the mix or of a track that is playing now), never from the audio callback: the callback
must not compute, allocate or signal. Levels fall back at a fixed rate between ticks, as a
hardware meter's ballistics do, so a 30 Hz timer still reads smoothly.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QRectF, QSize
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

FLOOR_DB = -60.0
FALL_DB_PER_TICK = 1.5     # about 45 dB/s at the 33 ms playhead timer
METER_WINDOW_S = 0.05      # the slice measured each tick: 50 ms, a little more than one tick
OK_COLOUR = QColor("#4cc38a")
HOT_COLOUR = QColor("#ffcc33")
CLIP_COLOUR = QColor("#ff5c5c")
RMS_COLOUR = QColor(255, 255, 255, 90)
BACKGROUND = QColor("#0f1013")


def to_db(amplitude: float) -> float:
    return 20.0 * math.log10(amplitude) if amplitude > 1e-6 else -math.inf


def block_levels(audio: np.ndarray, start: int, frames: int, scale: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(peak, rms) per channel, linear, of ``audio[start:start + frames]`` (``[N, 2]``),
    times ``scale`` (per-channel gains) when given. Outside the audio both are zero."""
    start = max(0, int(start))
    block = audio[start:start + max(0, int(frames))]
    if block.shape[0] == 0:
        return np.zeros(2), np.zeros(2)
    block = block.astype(np.float64) if scale is None else block * np.asarray(scale, dtype=np.float64)
    peak = np.max(np.abs(block), axis=0)
    rms = np.sqrt(np.mean(np.square(block), axis=0))
    return peak, rms


class LevelMeter(QWidget):
    """Two bars (left, right): RMS as a light band, peak as the coloured bar, in dBFS."""

    def __init__(self, parent: QWidget | None = None, *, vertical: bool = True) -> None:
        super().__init__(parent)
        self.setObjectName("levelMeter")
        self.vertical = vertical
        self._peak_db = [FLOOR_DB, FLOOR_DB]
        self._rms_db = [FLOOR_DB, FLOOR_DB]
        self.setToolTip("Level: peak (bar) and RMS (light band), left and right, in dBFS")
        if vertical:
            self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        else:
            self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(10, 60) if self.vertical else QSize(120, 10)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(6, 20) if self.vertical else QSize(40, 6)

    def set_levels(self, peak: np.ndarray, rms: np.ndarray) -> None:
        """Show new linear levels; a level lower than shown falls back gradually."""
        changed = False
        for shown, values in ((self._peak_db, peak), (self._rms_db, rms)):
            for ch in range(2):
                new = max(FLOOR_DB, to_db(float(values[min(ch, len(values) - 1)])))
                target = new if new >= shown[ch] else max(new, shown[ch] - FALL_DB_PER_TICK)
                if target != shown[ch]:
                    shown[ch] = target
                    changed = True
        if changed:
            self.update()

    def reset(self) -> None:
        self._peak_db = [FLOOR_DB, FLOOR_DB]
        self._rms_db = [FLOOR_DB, FLOOR_DB]
        self.update()

    def peak_db(self) -> tuple[float, float]:
        return self._peak_db[0], self._peak_db[1]

    def rms_db(self) -> tuple[float, float]:
        return self._rms_db[0], self._rms_db[1]

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        w, h = self.width(), self.height()
        for ch in range(2):
            peak = (self._peak_db[ch] - FLOOR_DB) / -FLOOR_DB
            rms = (self._rms_db[ch] - FLOOR_DB) / -FLOOR_DB
            colour = CLIP_COLOUR if self._peak_db[ch] >= -0.1 else HOT_COLOUR if self._peak_db[ch] > -6 else OK_COLOUR
            if self.vertical:
                lane = QRectF(ch * w / 2.0, 0, w / 2.0 - 1, h)
                painter.fillRect(QRectF(lane.x(), h * (1 - peak), lane.width(), h * peak), colour)
                painter.fillRect(QRectF(lane.x(), h * (1 - rms), lane.width(), h * rms), RMS_COLOUR)
            else:
                lane = QRectF(0, ch * h / 2.0, w, h / 2.0 - 1)
                painter.fillRect(QRectF(0, lane.y(), w * peak, lane.height()), colour)
                painter.fillRect(QRectF(0, lane.y(), w * rms, lane.height()), RMS_COLOUR)
        painter.end()
