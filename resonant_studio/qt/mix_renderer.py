"""Renders the playback mix on a worker thread so the UI never waits for numpy.

The UI thread takes a snapshot of what is audible (immutable takes plus each track's gain
and pan: cheap) and hands it over; the worker sums it with the mixer's own ``track_signal``
and prepares the player's buffer. Only the latest request matters: a burst of changes
(dragging a gain slider) renders once or twice, not once per step.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from resonant_studio.core.playback import Player
from tracks import Session, Take
from tracks.mixer import track_signal


@dataclass(frozen=True)
class TrackSnapshot:
    """What ``track_signal`` reads from a track, frozen at the moment of the change."""

    active_take: Take | None
    gain_db: float
    pan: float


@dataclass(frozen=True)
class MixRequest:
    serial: int
    num_samples: int
    tracks: tuple[TrackSnapshot, ...]


def snapshot(session: Session | None, serial: int) -> MixRequest:
    if session is None:
        return MixRequest(serial, 0, ())
    tracks = tuple(TrackSnapshot(t.active_take, t.gain_db, t.pan)
                   for t in session.audible_tracks() if t.active_take is not None)
    return MixRequest(serial, session.num_samples, tracks)


def render(request: MixRequest) -> np.ndarray:
    """The player-ready buffer: the summed, clipped, contiguous float32 mix."""
    mix = np.zeros((request.num_samples, 2), dtype=np.float32)
    for track in request.tracks:
        mix += track_signal(track, request.num_samples)  # type: ignore[arg-type]  (duck-typed Track)
    return Player.prepare(mix)


class MixRenderer(QObject):
    """``ready(serial, buffer)`` arrives on the UI thread for the newest request only."""

    ready = Signal(int, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._latest: MixRequest | None = None
        self._wake = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="mix-renderer", daemon=True)
        self._thread.start()

    def request(self, req: MixRequest) -> None:
        with self._wake:
            self._latest = req
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._latest is None and not self._stopped:
                    self._wake.wait()
                if self._stopped:
                    return
                req, self._latest = self._latest, None
            buffer = render(req)
            with self._wake:
                superseded = self._latest is not None
            if not superseded:
                self.ready.emit(req.serial, buffer)

    def stop(self, timeout: float = 5.0) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify()
        self._thread.join(timeout)

    def render_now(self, req: MixRequest) -> Any:
        """Render on the calling thread (used when the worker has been stopped)."""
        return render(req)
