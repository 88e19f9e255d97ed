"""The bar ruler over the lanes: bar numbers from 1, click to seek, drag to set a loop region.

The lanes' time axes are linked to the ruler's, so the ruler's view range is the timeline's
view. Bar labels are text items placed at each bar line (pyqtgraph's axis drops a tick label
that would overflow the axis, which is why bar 1 at x = 0 was never labelled), thinned out so
they stay at least ``LABEL_MIN_PX`` apart at any zoom.

Dragging on the ruler draws a loop region; its edges snap to the bar or beat grid when snap
is on, and ``loop_region_changed(start, end)`` reports it in seconds (``end <= start``: no
region). Shift+wheel scrolls in time instead of zooming, on the ruler and on the lanes.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

from widgets.theme import PLAYHEAD

RULER_HEIGHT = 30
LABEL_MIN_PX = 36
PREMADE_LABELS = 48  # enough for a full-width ruler at LABEL_MIN_PX on a 1600 px screen
SCROLL_FRACTION_PER_NOTCH = 0.1  # one wheel notch scrolls a tenth of the visible width
SNAPS = (None, "bar", "beat")
LOOP_BRUSH = QColor(91, 140, 255, 60)
LOOP_PEN = QColor("#5b8cff")


def shift_wheel_scrolls(plot: pg.PlotWidget, event) -> bool:
    """Scroll ``plot``'s x range on Shift+wheel; True when the event was used that way.

    Some systems turn Shift+wheel into a horizontal wheel (angleDelta().x()), so both
    directions count.
    """
    if not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
        return False
    delta = event.angleDelta().y() or event.angleDelta().x()
    if delta:
        lo, hi = plot.getPlotItem().vb.viewRange()[0]
        shift = -(delta / 120.0) * SCROLL_FRACTION_PER_NOTCH * (hi - lo)
        plot.setXRange(lo + shift, hi + shift, padding=0)
    event.accept()
    return True


def bare_time_plot(plot: pg.PlotWidget, y_min: float, y_max: float) -> None:
    """A plot with no axes, menu or buttons that pans and zooms in time only (the ruler, a lane)."""
    item = plot.getPlotItem()
    item.hideAxis("left")
    item.hideAxis("bottom")
    item.setMenuEnabled(False)
    item.hideButtons()
    item.setContentsMargins(0, 0, 0, 0)
    plot.setMouseEnabled(x=True, y=False)
    plot.setYRange(y_min, y_max, padding=0)


class _RulerViewBox(pg.ViewBox):
    """A left-drag draws the loop region (other buttons keep pyqtgraph's own dragging)."""

    def __init__(self, ruler: "BarRuler") -> None:
        super().__init__()
        self._ruler = ruler

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802 (pyqtgraph's name)
        if ev.button() != Qt.MouseButton.LeftButton:
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        start = self.mapSceneToView(ev.buttonDownScenePos()).x()
        end = self.mapSceneToView(ev.scenePos()).x()
        self._ruler.drag_loop(start, end, finished=ev.isFinish())


class BarRuler(pg.PlotWidget):
    seek_requested = Signal(float)
    loop_region_changed = Signal(float, float)   # seconds; end <= start: no region

    def __init__(self, parent: QWidget | None = None) -> None:
        self._labels: list[pg.TextItem] = []
        super().__init__(parent=parent, background="#15171b", viewBox=_RulerViewBox(self))
        bare_time_plot(self, 0.0, 1.0)
        self.setFixedHeight(RULER_HEIGHT)
        self.setToolTip("Bars: click to move the playhead, drag to set a loop region, "
                        "wheel to zoom, Shift+wheel to scroll")
        self.bars = 0
        self.seconds_per_beat = 0.5
        self.beats_per_bar = 4.0
        self.snap: str | None = "bar"
        self._ticks = pg.PlotDataItem(pen=pg.mkPen("#3a3f4a", width=1), connect="pairs")
        self.addItem(self._ticks)
        self.loop_item = pg.LinearRegionItem((0.0, 0.0), brush=LOOP_BRUSH, pen=pg.mkPen(LOOP_PEN, width=2),
                                             movable=True)
        self.loop_item.setZValue(5)  # above the view's background, so a drag inside it moves it
        self.loop_item.hide()
        self.addItem(self.loop_item, ignoreBounds=True)
        self.loop_item.sigRegionChangeFinished.connect(self._on_region_moved)
        self.playhead = pg.InfiniteLine(0.0, angle=90, pen=pg.mkPen(PLAYHEAD, width=1.5))
        self.addItem(self.playhead, ignoreBounds=True)
        self.scene().sigMouseClicked.connect(self._on_click)
        self.getPlotItem().vb.sigXRangeChanged.connect(lambda *_: self._place_labels())
        for _ in range(PREMADE_LABELS):  # made with the window, not during the first Generate
            self._new_label().hide()

    # --- grid ---------------------------------------------------------------------------------
    @property
    def seconds_per_bar(self) -> float:
        return self.seconds_per_beat * self.beats_per_bar

    @property
    def duration(self) -> float:
        return self.bars * self.seconds_per_bar

    def set_grid(self, bars: int, seconds_per_beat: float, beats_per_bar: float) -> None:
        """The piece's length and grid; the labels and limits follow (the view is the timeline's)."""
        self.bars = max(0, int(bars))
        self.seconds_per_beat = float(seconds_per_beat)
        self.beats_per_bar = float(beats_per_bar)
        self.setLimits(xMin=0.0, xMax=max(self.duration, 0.1), minXRange=0.05)
        xs = [i * self.seconds_per_bar for i in range(self.bars + 1)]
        self._ticks.setData([x for x in xs for _ in (0, 1)], [v for _ in xs for v in (0.0, 0.35)])
        self._place_labels()

    def snap_seconds(self, seconds: float) -> float:
        """``seconds`` moved to the nearest bar or beat line (as ``snap`` says), within the piece."""
        step = {"bar": self.seconds_per_bar, "beat": self.seconds_per_beat}.get(self.snap or "")
        if step and step > 0:
            seconds = round(seconds / step) * step
        return min(max(0.0, seconds), self.duration)

    # --- labels -------------------------------------------------------------------------------
    def labels(self) -> list[tuple[float, str]]:
        """The bar labels shown now: (seconds, text)."""
        return [(float(t.pos().x()), t.textItem.toPlainText().strip()) for t in self._labels if t.isVisible()]

    def _label_step(self, lo: float, hi: float) -> int:
        width_px = max(1, self.width())
        px_per_bar = width_px * self.seconds_per_bar / max(hi - lo, 1e-9)
        step = 1
        while step * px_per_bar < LABEL_MIN_PX and step < 1 << 16:
            step *= 2
        return step

    def _place_labels(self) -> None:
        if not hasattr(self, "_ticks"):  # pyqtgraph resizes during __init__
            return
        if self.bars <= 0 or self.seconds_per_bar <= 0:
            for t in self._labels:
                t.hide()
            return
        lo, hi = self.getPlotItem().vb.viewRange()[0]
        step = self._label_step(lo, hi)
        first = max(0, int(math.floor(max(lo, 0.0) / self.seconds_per_bar)) // step * step)
        bars = [b for b in range(first, self.bars, step) if b * self.seconds_per_bar <= hi]
        while len(self._labels) < len(bars):
            self._new_label()
        for label, bar in zip(self._labels, bars):
            label.setText(f" {bar + 1}")
            label.setPos(bar * self.seconds_per_bar, 0.62)
            label.show()
        for label in self._labels[len(bars):]:
            label.hide()

    def _new_label(self) -> pg.TextItem:
        label = pg.TextItem("", color="#aab0bc", anchor=(0.0, 0.5))
        label.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # drags on a number still draw a loop
        self.addItem(label, ignoreBounds=True)
        self._labels.append(label)
        return label

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._place_labels()

    # --- loop region --------------------------------------------------------------------------
    def loop_region(self) -> tuple[float, float] | None:
        if not self.loop_item.isVisible():
            return None
        lo, hi = self.loop_item.getRegion()
        return float(lo), float(hi)

    def set_loop_region(self, start: float, end: float, *, emit: bool = True) -> None:
        """Show a loop region from ``start`` to ``end`` seconds (snapped); an empty one clears it."""
        lo, hi = sorted((self.snap_seconds(start), self.snap_seconds(end)))
        if hi - lo <= 1e-6:
            self.clear_loop_region(emit=emit)
            return
        with QSignalBlocker(self.loop_item):
            self.loop_item.setRegion((lo, hi))
        self.loop_item.show()
        if emit:
            self.loop_region_changed.emit(lo, hi)

    def clear_loop_region(self, *, emit: bool = True) -> None:
        was_shown = self.loop_item.isVisible()
        self.loop_item.hide()
        if emit and was_shown:
            self.loop_region_changed.emit(0.0, 0.0)

    def drag_loop(self, start: float, end: float, *, finished: bool) -> None:
        """A drag on the ruler from ``start`` to ``end`` seconds: shown while dragging, reported at the end."""
        self.set_loop_region(start, end, emit=False)
        if finished:
            region = self.loop_region()
            self.loop_region_changed.emit(*(region or (0.0, 0.0)))

    def _on_region_moved(self) -> None:
        lo, hi = self.loop_item.getRegion()
        self.set_loop_region(lo, hi)  # snaps the dragged edges and reports the region

    # --- input --------------------------------------------------------------------------------
    def _on_click(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            x = self.getPlotItem().vb.mapSceneToView(event.scenePos()).x()
            self.seek_requested.emit(max(0.0, float(x)))

    def wheelEvent(self, event) -> None:  # noqa: N802
        if not shift_wheel_scrolls(self, event):
            super().wheelEvent(event)
