"""The multitrack timeline: a bar ruler over one lane per track, sharing one time axis.

An adapter over the session's track list: lanes come and go with ``track_added`` /
``track_removed``. Audio files dropped anywhere on it are passed up as ``files_dropped``.

The ruler's view range is the timeline's view: the lanes are linked to it, a horizontal
scrollbar moves it, and it refits whenever the piece's length changes, so waveforms,
playhead and bar lines always line up. While playing, the view pages along with the
playhead (``follow``). Meters are fed by ``show_levels`` from the playback position on a UI
timer.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QScrollBar, QVBoxLayout, QWidget

from tracks import Session, Take, Track
from tracks.mixer import pan_gains
from widgets.level_meter import METER_WINDOW_S, block_levels
from widgets.ruler import BarRuler
from widgets.track_header import HEADER_WIDTH
from widgets.track_lane import TrackLane

SPARE_LANES = 6  # lanes built ahead and kept for reuse, so a Generate never waits for one
SCROLL_UNITS_PER_SECOND = 1000  # the scrollbar counts milliseconds
FOLLOW_PAGE_AT = 0.95           # page when the playhead passes 95 % of the view...
FOLLOW_LEAD = 0.05              # ...so that it lands 5 % in from the left edge


def track_channel_gains(track: Track) -> np.ndarray:
    """The per-channel gains the mixer applies to ``track`` (gain and pan), for its meter."""
    gain = 10.0 ** (track.gain_db / 20.0)
    left, right = (1.0, 1.0) if track.pan == 0.0 else pan_gains(track.pan)
    return np.array([gain * left, gain * right])


class Timeline(QWidget):
    regenerate_requested = Signal(object)   # Track
    seek_requested = Signal(float)          # seconds
    loop_region_changed = Signal(float, float)  # seconds; end <= start: no region
    files_dropped = Signal(list)            # local file paths
    error = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("timeline")
        self.setAcceptDrops(True)
        self.session: Session | None = None
        self.lanes: dict[str, TrackLane] = {}
        self._duration = 0.0
        self.follow = True
        """Page the view along with the playhead while playing."""

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
        # no frame: the lanes' waveforms start exactly under the ruler (pyqtgraph links the
        # axes by screen position, so a 1 px frame shifted every lane's time range by a pixel)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)

        self.hscroll = QScrollBar(Qt.Orientation.Horizontal, self)
        self.hscroll.setObjectName("timeScroll")
        self.hscroll.setToolTip("Scroll in time (Shift+wheel over the lanes does the same)")
        scroll_row = QWidget(self)
        row = pg.QtWidgets.QHBoxLayout(scroll_row)
        row.setContentsMargins(HEADER_WIDTH, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.hscroll, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(ruler_row)
        layout.addWidget(self.scroll, 1)
        layout.addWidget(scroll_row)
        self.ruler.seek_requested.connect(self.seek_requested)
        self.ruler.loop_region_changed.connect(self.loop_region_changed)
        self.ruler.loop_region_changed.connect(lambda *_: self._shade_loop())
        self.ruler.getPlotItem().vb.sigXRangeChanged.connect(lambda *_: self._sync_scrollbar())
        self.hscroll.valueChanged.connect(self._on_scrolled)
        self._spare: list[TrackLane] = [self._new_lane() for _ in range(SPARE_LANES)]
        self._warm_up(self._spare[0])
        self._reusable: list[TrackLane] = []
        self._busy = False
        self._to_build: list[Track] = []
        self._build_timer = QTimer(self)
        self._build_timer.setSingleShot(True)
        self._build_timer.setInterval(0)
        self._build_timer.timeout.connect(self._build_next)

    # --- binding to a session ---------------------------------------------------------------
    def set_session(self, session: Session | None) -> None:
        """Show ``session``. Lanes are (re)bound one per event-loop turn, so even a first
        session's four new waveform views never freeze the window in one long step."""
        reusable = [self.lanes[t.id] for t in (self.session.tracks if self.session else ()) if t.id in self.lanes]
        self.unbind(keep=reusable)
        self.session = session
        self._reusable = reusable
        if session is None:
            self._retire_reusable()
            self.hint.show()
            return
        session.track_added.connect(self._on_track_added, max_args=1)
        session.track_removed.connect(self._remove_lane, max_args=1)
        session.context_changed.connect(self._on_context, max_args=1)
        self._on_context(session.context)
        self._to_build = list(session.tracks)
        self.fit()
        self._build_timer.start()

    @property
    def building(self) -> bool:
        """True while lanes for the current session are still being made."""
        return bool(self._to_build) or self._build_timer.isActive()

    def _build_next(self) -> None:
        if self._to_build:
            lane = self._add_lane(self._to_build.pop(0))
            if self.isVisible():  # paint this lane now, so the work is spread over the turns too
                self._lane_layout.activate()
                lane.repaint()
        if self._to_build:
            self._build_timer.start()
        else:
            self._retire_reusable()
            self._refresh_audible()

    def _retire_reusable(self) -> None:
        for lane in self._reusable:
            self._park(lane)
        self._reusable = []
        self.hint.setVisible(not self.lanes)

    def unbind(self, keep: list[TrackLane] | None = None) -> None:
        """Stop listening to the session; lanes in ``keep`` stay on screen to be rebound."""
        self._build_timer.stop()
        self._to_build = []
        if self.session is not None:
            self.session.track_added.disconnect(self._on_track_added)
            self.session.track_removed.disconnect(self._remove_lane)
            self.session.context_changed.disconnect(self._on_context)
        keep = keep or []
        for track_id, lane in list(self.lanes.items()):
            track = lane.track
            del self.lanes[track_id]
            if track is not None:
                track.changed.disconnect(self._on_track_changed)
            lane.unbind()
            if lane not in keep:
                self._park(lane)
        self.session = None

    def _on_context(self, context: dict) -> None:
        s = self.session
        if s is None:
            return
        refit = abs(s.duration - self._duration) > 1e-9 or self.ruler.bars != s.bars
        self._duration = s.duration
        seconds_per_beat = 60.0 / s.tempo
        self.ruler.set_grid(s.bars, seconds_per_beat, s.beats_per_bar)
        for lane in self.lanes.values():
            lane.waveform.set_grid(self._duration, seconds_per_beat, s.beats_per_bar)
        region = self.ruler.loop_region()
        if region is not None and region[1] > self._duration:  # the loop must stay inside the piece
            self.ruler.set_loop_region(region[0], min(region[1], self._duration))
        if refit:
            self.fit()

    @staticmethod
    def _warm_up(lane: TrackLane) -> None:
        """Render a lane once while the window opens: Qt and pyqtgraph build their first-paint
        caches (glyphs, styles, paths) here instead of during the first Generate."""
        track = Track("Warm up", "other")
        track.add_take(Take(np.zeros((4096, 2), dtype=np.float32)))
        lane.resize(1000, lane.height())
        lane.bind(track, 44100)
        lane.grab()
        lane.unbind()

    def _new_lane(self) -> TrackLane:
        lane = TrackLane(None, 44100, self._container)
        lane.hide()
        lane.waveform.setAcceptDrops(False)  # drops go to the timeline itself
        lane.waveform.setXLink(self.ruler)
        lane.regenerate_requested.connect(self.regenerate_requested)
        lane.seek_requested.connect(self.seek_requested)
        lane.error.connect(self.error)
        return lane

    def _on_track_added(self, track: Track) -> None:
        if self._to_build:
            self._to_build.append(track)
        else:
            self._add_lane(track)
            self._refresh_audible()

    def _add_lane(self, track: Track) -> TrackLane:
        s = self.session
        assert s is not None
        if self._reusable:
            lane = self._reusable.pop(0)  # already on screen at this position: rebinding is cheap
        else:
            lane = self._spare.pop() if self._spare else self._new_lane()
            index = list(s.tracks).index(track) if track in s.tracks else len(self.lanes)
            self._lane_layout.insertWidget(index, lane)
            lane.show()
        lane.header.set_busy(self._busy)
        lane.bind(track, s.sample_rate)
        lane.waveform.set_grid(s.duration, 60.0 / s.tempo, s.beats_per_bar)
        track.changed.connect(self._on_track_changed, max_args=3)
        lane.waveform.set_loop_region(self.ruler.loop_region())
        self.lanes[track.id] = lane
        self.hint.hide()
        return lane

    def _remove_lane(self, track: Track) -> None:
        if track in self._to_build:
            self._to_build.remove(track)
            return
        lane = self.lanes.pop(track.id, None)
        if lane is None:
            return
        track.changed.disconnect(self._on_track_changed)
        lane.unbind()
        self._park(lane)
        self.hint.setVisible(not self.lanes and not self._to_build)
        self._refresh_audible()

    def _park(self, lane: TrackLane) -> None:
        """Take a lane off screen; keep it for reuse (a new pyqtgraph view costs ~15 ms)."""
        self._lane_layout.removeWidget(lane)
        lane.hide()
        if len(self._spare) < SPARE_LANES:
            self._spare.append(lane)
        else:
            lane.deleteLater()

    def _on_track_changed(self, field: str, old: object, new: object) -> None:
        if field in ("muted", "solo"):
            self._refresh_audible()

    def _refresh_audible(self) -> None:
        if self.session is None:
            return
        audible = {t.id for t in self.session.audible_tracks()}
        for track_id, lane in self.lanes.items():
            lane.set_audible(track_id in audible)

    def set_busy(self, busy: bool) -> None:
        """Offer (or not) the lanes' regenerate buttons, for the lanes there are and those to come."""
        self._busy = busy
        for lane in self.lanes.values():
            lane.header.set_busy(busy)

    # --- view ---------------------------------------------------------------------------------
    def lane(self, track: Track | str) -> TrackLane:
        key = track if isinstance(track, str) else track.id
        return self.lanes[key]

    def set_playhead(self, seconds: float, playing: bool = False) -> None:
        """Move the playhead; while ``playing`` (and ``follow``) page the view to keep it in sight."""
        self.ruler.playhead.setValue(seconds)
        for lane in self.lanes.values():
            lane.waveform.set_playhead(seconds)
        if playing and self.follow and not self.hscroll.isSliderDown():
            lo, hi = self.visible_range()
            width = hi - lo
            if seconds < lo or seconds > lo + FOLLOW_PAGE_AT * width:
                start = min(max(0.0, seconds - FOLLOW_LEAD * width), max(0.0, self._duration - width))
                if abs(start - lo) > 1e-6:
                    self.ruler.setXRange(start, start + width, padding=0)

    # --- snap and loop region -------------------------------------------------------------------
    @property
    def snap(self) -> str | None:
        """"bar", "beat" or None: what loop region edges snap to."""
        return self.ruler.snap

    @snap.setter
    def snap(self, value: str | None) -> None:
        if value not in (None, "bar", "beat"):
            raise ValueError(f"snap must be 'bar', 'beat' or None, not {value!r}")
        self.ruler.snap = value

    def loop_region(self) -> tuple[float, float] | None:
        return self.ruler.loop_region()

    def set_loop_region(self, start: float, end: float) -> None:
        self.ruler.set_loop_region(start, end)

    def set_loop_bars(self, first: int, last: int) -> None:
        """Loop bars ``first`` to ``last`` (counted from 1, both included): "loop selection"."""
        if not 1 <= first <= last:
            raise ValueError(f"bars {first}..{last} are not a range of bars counted from 1")
        per_bar = self.ruler.seconds_per_bar
        self.ruler.set_loop_region((first - 1) * per_bar, last * per_bar)

    def clear_loop_region(self) -> None:
        self.ruler.clear_loop_region()

    def _shade_loop(self) -> None:
        region = self.ruler.loop_region()
        for lane in self.lanes.values():
            lane.waveform.set_loop_region(region)

    # --- meters -----------------------------------------------------------------------------------
    def show_levels(self, position: int, playing: bool) -> None:
        """Feed each lane's meter from the slice of its track that plays at ``position`` (samples).

        Called from a UI timer, never from the audio callback. Muted (or solo-silenced)
        tracks and a stopped transport read silence.
        """
        s = self.session
        if s is None:
            return
        frames = int(METER_WINDOW_S * s.sample_rate)
        audible = {t.id for t in s.audible_tracks()} if playing else set()
        for track_id, lane in self.lanes.items():
            track, take = lane.track, lane.track.active_take if lane.track is not None else None
            if track is None or take is None or track_id not in audible:
                lane.header.meter.set_levels(np.zeros(2), np.zeros(2))
                continue
            peak, rms = block_levels(take.audio, position, frames, track_channel_gains(track))
            lane.header.meter.set_levels(peak, rms)

    # --- scrolling --------------------------------------------------------------------------------
    def _sync_scrollbar(self) -> None:
        lo, hi = self.visible_range()
        width = max(0.0, hi - lo)
        with QSignalBlocker(self.hscroll):
            self.hscroll.setRange(0, int(max(0.0, self._duration - width) * SCROLL_UNITS_PER_SECOND))
            self.hscroll.setPageStep(max(1, int(width * SCROLL_UNITS_PER_SECOND)))
            self.hscroll.setSingleStep(max(1, int(width * SCROLL_UNITS_PER_SECOND / 20)))
            self.hscroll.setValue(int(round(lo * SCROLL_UNITS_PER_SECOND)))

    def _on_scrolled(self, value: int) -> None:
        lo, hi = self.visible_range()
        start = value / SCROLL_UNITS_PER_SECOND
        self.ruler.setXRange(start, start + (hi - lo), padding=0)

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
        self._sync_scrollbar()

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
