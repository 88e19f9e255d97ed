"""One row of the timeline: the track's header beside its waveform.

The lane redraws the waveform when the track's active take changes and shows the lock and
mute state; it holds no other state.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QWidget

from tracks import Track
from widgets.theme import role_colour
from widgets.track_header import TrackHeader
from widgets.waveform import WaveformView

LANE_HEIGHT = 96


class TrackLane(QWidget):
    regenerate_requested = Signal(object)
    seek_requested = Signal(float)
    error = Signal(str)

    def __init__(self, track: Track | None = None, sample_rate: int = 44100, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trackLane")
        self.setFixedHeight(LANE_HEIGHT)
        self.track: Track | None = None
        self.sample_rate = sample_rate
        self.header = TrackHeader(None, self)
        self.waveform = WaveformView(role_colour("other"), self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 1)
        layout.setSpacing(0)
        layout.addWidget(self.header)
        layout.addWidget(self.waveform, 1)
        self.header.regenerate_requested.connect(self.regenerate_requested)
        self.header.error.connect(self.error)
        self.waveform.seek_requested.connect(self.seek_requested)
        self._shown_take_id: str | None = None
        if track is not None:
            self.bind(track, sample_rate)

    def bind(self, track: Track, sample_rate: int) -> None:
        """Show ``track`` (lanes are reused: building one costs more than rebinding it)."""
        self.unbind()
        self.track = track
        self.sample_rate = sample_rate
        self.header.bind(track)
        self.waveform.set_colour(role_colour(track.role))
        self.waveform.setToolTip(f"{track.name}: click to move the playhead, scroll to zoom in time")
        track.changed.connect(self._on_changed, max_args=3)
        self._shown_take_id = "-"  # force a redraw
        self._redraw_take()
        self.waveform.set_locked(track.locked)

    def unbind(self) -> None:
        if self.track is not None:
            self.header.unbind()
            self.track.changed.disconnect(self._on_changed)
            self.track = None

    def _on_changed(self, field: str, old: object, new: object) -> None:
        if field == "active":
            self._redraw_take()
        elif field == "locked":
            self.waveform.set_locked(bool(new))

    def _redraw_take(self) -> None:
        if self.track is None:
            return
        take = self.track.active_take
        take_id = None if take is None else take.id
        if take_id == self._shown_take_id:
            return
        self._shown_take_id = take_id
        self.waveform.set_audio(None if take is None else take.audio, self.sample_rate, take_id)
        section = take.params.get("section") if take is not None else None
        seconds = section.get("seconds") if isinstance(section, dict) else None
        self.waveform.set_replaced_range(tuple(seconds) if seconds and len(seconds) == 2 else None)

    def set_audible(self, audible: bool) -> None:
        if self.waveform.is_dimmed() == audible:
            self.waveform.set_dimmed(not audible)

    @property
    def shown_take_id(self) -> str | None:
        return self._shown_take_id
