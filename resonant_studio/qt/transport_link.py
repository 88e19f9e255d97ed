"""Wires the transport's newer controls to the player and the timeline, and feeds the meters.

Loop region (dragged on the ruler) -> the player's loop region in samples; snap -> the
ruler; metronome and count-in -> the player's click at the session's tempo; follow -> the
timeline; the output picker <-> the player's device list. ``tick`` runs on the window's
playhead timer: it notices a vanished device (and says so), and feeds the track and master
meters from the playback position, never from the audio callback.

It is handed what it uses; the player and session are read through callables because the
controller replaces the player when the sample rate changes (the settings are re-applied).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QObject

from resonant_studio.qt.notifier import Notifier
from tracks import Session
from widgets.level_meter import METER_WINDOW_S, block_levels
from widgets.timeline import Timeline
from widgets.transport import Transport

COUNT_IN_BARS = 1


class TransportLink(QObject):
    def __init__(self, transport: Transport, timeline: Timeline, player: Callable[[], Any],
                 session: Callable[[], Session | None], notifier: Notifier, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.transport = transport
        self.timeline = timeline
        self._player = player
        self._session = session
        self.notifier = notifier
        self._applied_to: Any = None
        self._region_seconds: tuple[float, float] | None = None
        self.metronome = False
        self.count_in = False
        self.device: str | None = None
        """The output the person chose; a player made later (new sample rate) is moved to it too."""
        t = transport
        t.metronome_toggled.connect(self._set_metronome)
        t.count_in_toggled.connect(self._set_count_in)
        t.follow_toggled.connect(lambda on: setattr(timeline, "follow", on))
        t.snap_changed.connect(lambda snap: setattr(timeline, "snap", snap))
        t.device_chosen.connect(self._choose_device)
        t.devices_requested.connect(self.refresh_devices)
        timeline.loop_region_changed.connect(self._set_region)
        t.set_snap(timeline.snap)

    # --- settings -> player -------------------------------------------------------------------
    def _set_region(self, start: float, end: float) -> None:
        self._region_seconds = (start, end) if end > start else None
        self._apply()

    def _set_metronome(self, on: bool) -> None:
        self.metronome = on
        self._apply()

    def _set_count_in(self, on: bool) -> None:
        self.count_in = on
        self._apply()

    def _apply(self) -> None:
        """Give the current player the loop region and click settings (again, if it is new)."""
        p = self._player()
        s = self._session()
        if self._applied_to is not None and self._applied_to[0] is not p and p.device != self.device:
            p.set_device(self.device)
        self._applied_to = (p, None if s is None else (s.tempo, s.beats_per_bar))
        sr = p.sample_rate
        region = self._region_seconds
        p.set_loop_region(*(None, None) if region is None else (int(round(region[0] * sr)), int(round(region[1] * sr))))
        tempo, per_bar = (s.tempo, s.beats_per_bar) if s is not None else (None, None)
        p.set_metronome(self.metronome, tempo=tempo, beats_per_bar=per_bar,
                        count_in_bars=COUNT_IN_BARS if self.count_in else 0)

    def refresh_devices(self) -> None:
        p = self._player()
        self.transport.set_devices(p.output_devices(), p.device)

    def _choose_device(self, name: str | None) -> None:
        self.device = name
        reason = self._player().set_device(name)
        self.transport.set_unavailable(reason)
        if reason:
            self.notifier.error(reason)

    # --- the timer ------------------------------------------------------------------------------
    def tick(self) -> None:
        """On the playhead timer: a lost device, the settings of a new player, the meters."""
        p = self._player()
        s = self._session()
        key = (p, None if s is None else (s.tempo, s.beats_per_bar))
        if key != self._applied_to:
            self._apply()
        lost = p.check_device()
        if lost:
            self.notifier.error(lost)
        self.transport.set_unavailable(p.unavailable_reason)
        playing = p.playing and not p.counting_in
        position = p.position
        self.timeline.show_levels(position, playing)
        if playing:
            peak, rms = block_levels(p.buffer, position, int(METER_WINDOW_S * p.sample_rate))
        else:
            peak = rms = np.zeros(2)
        self.transport.master_meter.set_levels(peak, rms)
