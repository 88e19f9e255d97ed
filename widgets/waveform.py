"""A lane's waveform: the take's min/max envelope over a bar/beat grid, with a playhead.

Long takes are decimated to a fixed number of min/max pairs before drawing, so a ten-minute
take costs the same to draw as a ten-second one. Clicking seeks; the wheel zooms in time and
Shift+wheel scrolls.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel

from widgets.ruler import bare_time_plot, shift_wheel_scrolls
from widgets.theme import GRID_BAR, GRID_BEAT, LANE_BACKGROUND, PLAYHEAD

ENVELOPE_BINS = 6000
ENVELOPE_CACHE = 16  # takes per lane whose envelopes are kept
SYNC_ENVELOPE_SAMPLES = 200_000  # shorter takes are reduced on the spot
LOOP_SHADE = QColor(91, 140, 255, 28)
REPLACED_SHADE = QColor(255, 204, 51, 22)   # the section a regeneration replaced
REPLACED_EDGE = QColor(255, 204, 51, 110)


def min_max_envelope(audio: np.ndarray, bins: int = ENVELOPE_BINS) -> tuple[np.ndarray, np.ndarray]:
    """Sample positions and values of a min/max polyline that looks like the full waveform.

    ``audio`` is ``[N]`` or ``[N, C]``. Short signals come back as they are (channels
    averaged); longer ones as ``2 * bins`` points alternating each bin's minimum and maximum
    over all channels, so every peak stays visible. Bins are views of the input: no copy.
    """
    a = np.asarray(audio, dtype=np.float32)
    if a.ndim == 1:
        a = a[:, None]
    n, channels = a.shape
    if n <= 2 * bins:
        return np.arange(n, dtype=np.float64), a.mean(axis=1).astype(np.float64)
    step = n // bins
    full = step * bins
    blocks = np.ascontiguousarray(a[:full]).reshape(bins, step * channels)
    lows = blocks.min(axis=1)
    highs = blocks.max(axis=1)
    if full < n:  # the last few samples join the last bin
        lows[-1] = min(lows[-1], a[full:].min())
        highs[-1] = max(highs[-1], a[full:].max())
    y = np.empty(2 * bins, dtype=np.float64)
    y[0::2] = lows
    y[1::2] = highs
    centres = np.arange(bins, dtype=np.float64) * step + step / 2.0
    return np.repeat(centres, 2), y


def _envelope_seconds(audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    x, y = min_max_envelope(audio)
    return x / float(sample_rate), y


@functools.cache
def _envelope_pool() -> ThreadPoolExecutor:
    """One worker for every lane: numpy's reductions release the GIL, so the UI keeps turning."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="waveform")


def grid_segments(duration: float, seconds_per_beat: float, beats_per_bar: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(bar lines, beat lines) as x positions in seconds."""
    if duration <= 0 or seconds_per_beat <= 0:
        return np.zeros(0), np.zeros(0)
    beats = np.arange(0.0, duration + 1e-9, seconds_per_beat)
    beat_index = np.arange(beats.size)
    per_bar = max(1, int(round(beats_per_bar)))
    is_bar = beat_index % per_bar == 0
    return beats[is_bar], beats[~is_bar]


def _vertical_lines(xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.repeat(xs, 2)
    y = np.tile([-1.05, 1.05], xs.size)
    return x, y


class WaveformView(pg.PlotWidget):
    """Shows one take. ``seek_requested(seconds)`` when clicked."""

    seek_requested = Signal(float)
    _envelope_ready = Signal(str, object)  # from the worker thread, delivered on the UI thread

    def __init__(self, colour: QColor, parent=None) -> None:
        super().__init__(parent=parent, background=LANE_BACKGROUND)
        self.setObjectName("waveform")
        self._colour = QColor(colour)
        bare_time_plot(self, -1.05, 1.05)
        self.setMinimumHeight(72)
        self._bar_lines = pg.PlotDataItem(pen=pg.mkPen(GRID_BAR, width=1), connect="pairs")
        self._beat_lines = pg.PlotDataItem(pen=pg.mkPen(GRID_BEAT, width=1), connect="pairs")
        self._curve = pg.PlotDataItem(pen=pg.mkPen(self._colour, width=1))
        self._curve.setClipToView(True)
        self._playhead = pg.InfiniteLine(0.0, angle=90, pen=pg.mkPen(PLAYHEAD, width=1.5), movable=False)
        for it in (self._beat_lines, self._bar_lines, self._curve):
            self.addItem(it)
        self.addItem(self._playhead, ignoreBounds=True)
        self._loop = pg.LinearRegionItem((0.0, 0.0), movable=False, brush=LOOP_SHADE, pen=pg.mkPen(None))
        self._loop.setZValue(-20)
        self._loop.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # clicks still seek
        self._loop.hide()
        self.addItem(self._loop, ignoreBounds=True)
        # the bars a section regeneration replaced in the shown take: outlined, so it reads apart
        # from the loop shading
        self._replaced = pg.LinearRegionItem((0.0, 0.0), movable=False, brush=REPLACED_SHADE,
                                             pen=pg.mkPen(REPLACED_EDGE, width=1))
        self._replaced.setZValue(-15)
        self._replaced.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._replaced.hide()
        self.addItem(self._replaced, ignoreBounds=True)
        self._empty = QLabel("no take yet", self)
        self._empty.setStyleSheet("color: #5c626e; background: transparent;")
        self._empty.move(12, 8)
        self._lock_badge = QLabel("LOCKED", self)
        self._lock_badge.setObjectName("lockBadge")
        self._lock_badge.setStyleSheet("background: #ffcc33; color: #1b1d22; font-weight: bold; "
                                       "font-size: 8pt; border-radius: 3px; padding: 1px 6px;")
        self._lock_badge.hide()
        self._locked = False
        self._dimmed = False
        self._envelopes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._pending: set[str] = set()
        self._shown_key: str | None = None
        self._envelope_ready.connect(self._on_envelope_ready)
        self.scene().sigMouseClicked.connect(self._on_click)

    # --- content --------------------------------------------------------------------------
    def set_audio(self, audio: np.ndarray | None, sample_rate: int, key: str | None = None) -> None:
        """Draw ``audio``. ``key`` (a take id) caches its envelope, so undo redraws at once;
        a long take's envelope is computed on a worker thread and drawn when it is ready."""
        self._shown_key = key
        if audio is None or len(audio) == 0:
            self._curve.setData([], [])
            self._empty.show()
            return
        envelope = self._envelopes.get(key) if key is not None else None
        if envelope is not None:
            self._draw(envelope)
        elif key is None or len(audio) <= SYNC_ENVELOPE_SAMPLES:
            self._store(key, _envelope_seconds(audio, sample_rate))
        else:
            self._pending.add(key)
            future = _envelope_pool().submit(_envelope_seconds, audio, sample_rate)
            future.add_done_callback(lambda f, k=key: self._envelope_ready.emit(k, f.result()))

    @property
    def envelope_pending(self) -> bool:
        return bool(self._pending)

    def _on_envelope_ready(self, key: str, envelope: tuple) -> None:
        self._pending.discard(key)
        self._store(key, envelope)

    def _store(self, key: str | None, envelope: tuple[np.ndarray, np.ndarray]) -> None:
        if key is not None:
            self._envelopes[key] = envelope
            while len(self._envelopes) > ENVELOPE_CACHE:
                self._envelopes.pop(next(iter(self._envelopes)))
        if key == self._shown_key:
            self._draw(envelope)

    def _draw(self, envelope: tuple[np.ndarray, np.ndarray]) -> None:
        self._curve.setData(*envelope)
        self._empty.hide()

    def set_grid(self, duration: float, seconds_per_beat: float, beats_per_bar: float) -> None:
        bars, beats = grid_segments(duration, seconds_per_beat, beats_per_bar)
        self._bar_lines.setData(*_vertical_lines(bars))
        self._beat_lines.setData(*_vertical_lines(beats))
        self.setLimits(xMin=0.0, xMax=max(duration, 0.1), minXRange=0.05)

    def set_loop_region(self, region: tuple[float, float] | None) -> None:
        """Shade the loop region (seconds) behind the waveform, or none."""
        _show_region(self._loop, region)

    def set_replaced_range(self, region: tuple[float, float] | None) -> None:
        """Mark the range (seconds) a section regeneration put into the shown take, or none."""
        _show_region(self._replaced, region)

    def replaced_range_shown(self) -> tuple[float, float] | None:
        return tuple(map(float, self._replaced.getRegion())) if self._replaced.isVisible() else None

    def loop_region_shown(self) -> tuple[float, float] | None:
        return tuple(map(float, self._loop.getRegion())) if self._loop.isVisible() else None

    def set_playhead(self, seconds: float) -> None:
        self._playhead.setValue(seconds)

    def playhead(self) -> float:
        return float(self._playhead.value())

    def curve_data(self) -> tuple[np.ndarray, np.ndarray]:
        x, y = self._curve.getData()
        return (np.zeros(0), np.zeros(0)) if x is None else (x, y)

    # --- state shown -----------------------------------------------------------------------
    def set_locked(self, locked: bool) -> None:
        self._locked = locked
        self.setBackground("#26231a" if locked else LANE_BACKGROUND)
        self._lock_badge.setVisible(locked)
        self._place_badge()

    def set_colour(self, colour: QColor) -> None:
        self._colour = QColor(colour)
        self.set_dimmed(self._dimmed)

    def shows_lock(self) -> bool:
        return not self._lock_badge.isHidden()

    def set_dimmed(self, dimmed: bool) -> None:
        """Muted (or silenced by another track's solo): drawn grey."""
        self._dimmed = dimmed
        colour = QColor("#555a64") if dimmed else self._colour
        self._curve.setPen(pg.mkPen(colour, width=1))

    def is_dimmed(self) -> bool:
        return self._dimmed

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._place_badge()

    def _place_badge(self) -> None:
        if not hasattr(self, "_lock_badge"):  # pyqtgraph resizes during __init__
            return
        self._lock_badge.adjustSize()
        self._lock_badge.move(self.width() - self._lock_badge.width() - 8, 6)

    # --- input -----------------------------------------------------------------------------
    def _on_click(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        point = self.getPlotItem().vb.mapSceneToView(event.scenePos())
        self.seek_requested.emit(max(0.0, float(point.x())))

    def wheelEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if not shift_wheel_scrolls(self, event):
            super().wheelEvent(event)


def _show_region(item: pg.LinearRegionItem, region: tuple[float, float] | None) -> None:
    if region is None:
        item.hide()
    else:
        item.setRegion(region)
        item.show()
