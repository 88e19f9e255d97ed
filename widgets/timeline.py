"""The multitrack timeline: a bar ruler over one lane per track, sharing one time axis.

An adapter over the session's track list: lanes come and go with ``track_added`` /
``track_removed``. Audio files dropped anywhere on it are passed up as ``files_dropped``.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

from tracks import Session, Track
from widgets.theme import LANE_BACKGROUND, PLAYHEAD
from widgets.track_header import HEADER_WIDTH
from widgets.track_lane import TrackLane

RULER_HEIGHT = 30


class BarRuler(pg.PlotWidget):
    """Bar numbers along the top; click to seek. The lanes' time axes are linked to it."""

    seek_requested = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent, background="#15171b")
        item = self.getPlotItem()
        item.hideAxis("left")
        item.hideAxis("bottom")
        item.showAxis("top")
        item.setMenuEnabled(False)
        item.hideButtons()
        self.axis = item.getAxis("top")
        self.axis.setTextPen("#aab0bc")
        self.axis.setPen("#3a3f4a")
        self.setMouseEnabled(x=True, y=False)
        self.setYRange(0, 1, padding=0)
        self.setFixedHeight(RULER_HEIGHT)
        self.setToolTip("Bars: click to move the playhead, scroll to zoom in time")
        self.playhead = pg.InfiniteLine(0.0, angle=90, pen=pg.mkPen(PLAYHEAD, width=1.5))
        self.addItem(self.playhead, ignoreBounds=True)
        self.scene().sigMouseClicked.connect(self._on_click)

    def set_bars(self, bars: int, seconds_per_bar: float) -> None:
        every = max(1, bars // 32)  # keep labels readable on long pieces
        major = [(i * seconds_per_bar, str(i + 1)) for i in range(0, bars, every)]
        self.axis.setTicks([major, []])
        duration = bars * seconds_per_bar
        self.setLimits(xMin=0.0, xMax=max(duration, 0.1), minXRange=0.05)

    def _on_click(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            x = self.getPlotItem().vb.mapSceneToView(event.scenePos()).x()
            self.seek_requested.emit(max(0.0, float(x)))


class Timeline(QWidget):
    regenerate_requested = Signal(object)   # Track
    seek_requested = Signal(float)          # seconds
    files_dropped = Signal(list)            # local file paths
    error = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("timeline")
        self.setAcceptDrops(True)
        self.session: Session | None = None
        self.lanes: dict[str, TrackLane] = {}
        self._duration = 0.0

        self.ruler = BarRuler(self)
        ruler_row = QWidget(self)
        spacer = QLabel("", ruler_row)
        spacer.setFixedWidth(HEADER_WIDTH)
        spacer.setStyleSheet("background: #15171b;")
        row = pg.QtWidgets.QHBoxLayout(ruler_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(spacer)
        row.addWidget(self.ruler, 1)

        self._container = QWidget()
        self._container.setObjectName("laneContainer")
        self._lane_layout = QVBoxLayout(self._container)
        self._lane_layout.setContentsMargins(0, 0, 0, 0)
        self._lane_layout.setSpacing(0)
        self.hint = QLabel("Describe the music above and press Generate,\nor drop an audio file here.", self._container)
        self.hint.setObjectName("timelineHint")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._lane_layout.addWidget(self.hint, 1)
        self._lane_layout.addStretch(0)

        self.scroll = QScrollArea(self)
        self.scroll.setObjectName("lanes")
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self._container)
        self.scroll.setStyleSheet(f"background: {LANE_BACKGROUND};")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(ruler_row)
        layout.addWidget(self.scroll, 1)
        self.ruler.seek_requested.connect(self.seek_requested)

    # --- binding to a session ---------------------------------------------------------------
    def set_session(self, session: Session | None) -> None:
        self.unbind()
        self.session = session
        if session is None:
            self.hint.show()
            return
        session.track_added.connect(self._add_lane)
        session.track_removed.connect(self._remove_lane)
        session.context_changed.connect(self._on_context)
        self._on_context(session.context)
        for track in session.tracks:
            self._add_lane(track)
        self.fit()

    def unbind(self) -> None:
        if self.session is not None:
            self.session.track_added.disconnect(self._add_lane)
            self.session.track_removed.disconnect(self._remove_lane)
            self.session.context_changed.disconnect(self._on_context)
        for track in [lane.track for lane in self.lanes.values()]:
            self._remove_lane(track)
        self.session = None

    def _on_context(self, context: dict) -> None:
        s = self.session
        if s is None:
            return
        self._duration = s.duration
        seconds_per_beat = 60.0 / s.tempo
        self.ruler.set_bars(s.bars, seconds_per_beat * s.beats_per_bar)
        for lane in self.lanes.values():
            lane.waveform.set_grid(self._duration, seconds_per_beat, s.beats_per_bar)

    def _add_lane(self, track: Track) -> None:
        s = self.session
        assert s is not None
        lane = TrackLane(track, s.sample_rate, self._container)
        lane.waveform.setAcceptDrops(False)  # drops go to the timeline itself
        lane.waveform.set_grid(s.duration, 60.0 / s.tempo, s.beats_per_bar)
        lane.waveform.setXLink(self.ruler)
        lane.regenerate_requested.connect(self.regenerate_requested)
        lane.seek_requested.connect(self.seek_requested)
        lane.error.connect(self.error)
        track.changed.connect(self._on_track_changed)
        index = list(s.tracks).index(track) if track in s.tracks else len(self.lanes)
        self._lane_layout.insertWidget(index, lane)
        self.lanes[track.id] = lane
        self.hint.hide()
        self._refresh_audible()

    def _remove_lane(self, track: Track) -> None:
        lane = self.lanes.pop(track.id, None)
        if lane is None:
            return
        track.changed.disconnect(self._on_track_changed)
        lane.unbind()
        self._lane_layout.removeWidget(lane)
        lane.deleteLater()
        self.hint.setVisible(not self.lanes)
        self._refresh_audible()

    def _on_track_changed(self, field: str, old: object, new: object) -> None:
        if field in ("muted", "solo"):
            self._refresh_audible()

    def _refresh_audible(self) -> None:
        if self.session is None:
            return
        audible = {t.id for t in self.session.audible_tracks()}
        for track_id, lane in self.lanes.items():
            lane.set_audible(track_id in audible)

    # --- view ---------------------------------------------------------------------------------
    def lane(self, track: Track | str) -> TrackLane:
        key = track if isinstance(track, str) else track.id
        return self.lanes[key]

    def set_playhead(self, seconds: float) -> None:
        self.ruler.playhead.setValue(seconds)
        for lane in self.lanes.values():
            lane.waveform.set_playhead(seconds)

    def visible_range(self) -> tuple[float, float]:
        lo, hi = self.ruler.getPlotItem().vb.viewRange()[0]
        return float(lo), float(hi)

    def zoom(self, factor: float) -> None:
        """factor < 1 zooms in, > 1 out, around the middle of the view."""
        lo, hi = self.visible_range()
        mid, half = (lo + hi) / 2.0, (hi - lo) / 2.0 * factor
        self.ruler.setXRange(mid - half, mid + half, padding=0)

    def fit(self) -> None:
        self.ruler.setXRange(0.0, max(self._duration, 0.1), padding=0)

    # --- drops ----------------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt's names)
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.files_dropped.emit(paths)
