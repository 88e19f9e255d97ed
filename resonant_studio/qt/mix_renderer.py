"""Renders the playback mix on a worker thread so the UI never waits for numpy.

The UI thread takes a snapshot of what is audible (immutable takes plus each track's gain
and pan: cheap) and hands it over; the worker sums it with the mixer's own ``track_signal``
and prepares the player's buffer. Only the latest request matters: a burst of changes
(dragging a gain slider) renders once or twice, not once per step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from resonant_studio.core.playback import Player
from resonant_studio.qt.worker import Worker
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
        self._worker = Worker("mix-renderer", self)

    def request(self, req: MixRequest) -> None:
        # one key: a request still waiting is replaced, and a superseded render is not delivered
        self._worker.submit(lambda _task: render(req), key="mix",
                            done=lambda buffer: self.ready.emit(req.serial, buffer))

    def stop(self, timeout: float = 5.0) -> None:
        self._worker.shutdown(timeout)

    def render_now(self, req: MixRequest) -> Any:
        """Render on the calling thread (used when the worker has been stopped)."""
        return render(req)
