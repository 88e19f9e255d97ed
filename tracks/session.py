"""The session: its musical context (plain data), sample rate, tracks and history."""

from __future__ import annotations

from typing import Any, Iterable

from psygnal import Signal

from tracks.errors import LockedTrackError, TracksError
from tracks.history import History, Step
from tracks.take import Take
from tracks.track import Track

DEFAULT_SAMPLE_RATE = 44100
SAMPLE_RATES = (22050, 32000, 44100, 48000, 88200, 96000)


class Session:
    """One piece of music being sketched.

    ``context`` is the engine's musical context as plain data (``MusicalContext.to_dict()``);
    the session reads tempo, meter, key and bars from it and never imports the engine.
    Every change to a track is recorded in ``history`` and can be undone.
    """

    track_added = Signal(object)
    track_removed = Signal(object)
    context_changed = Signal(dict)

    def __init__(self, context: dict[str, Any], *, name: str = "Untitled",
                 sample_rate: int = DEFAULT_SAMPLE_RATE, prompt: str = "") -> None:
        if int(sample_rate) not in SAMPLE_RATES:
            raise ValueError(f"unsupported sample rate {sample_rate}")
        self.name = name
        self.sample_rate = int(sample_rate)
        self.prompt = prompt
        self._context = dict(context)
        self._tracks: list[Track] = []
        self.history = History()

    # --- context ----------------------------------------------------------------------------
    @property
    def context(self) -> dict[str, Any]:
        return dict(self._context)

    @context.setter
    def context(self, value: dict[str, Any]) -> None:
        if value == self._context:
            return
        old = dict(self._context)
        self._context = dict(value)
        self.history.record(Step("Change context", lambda: self._set_context(old),
                                 lambda: self._set_context(value)))
        self.context_changed.emit(self.context)

    def _set_context(self, value: dict[str, Any]) -> None:
        self._context = dict(value)
        self.context_changed.emit(self.context)

    @property
    def tempo(self) -> float:
        return float(self._context.get("tempo", 120.0))

    @property
    def meter(self) -> tuple[int, int]:
        num, den = self._context.get("meter", (4, 4))
        return int(num), int(den)

    @property
    def bars(self) -> int:
        return int(self._context.get("bars", 8))

    @property
    def tonic(self) -> int:
        return int(self._context.get("tonic", 0))

    @property
    def mode(self) -> str:
        return str(self._context.get("mode", "major"))

    @property
    def key_name(self) -> str:
        names = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
        return f"{names[self.tonic % 12]} {self.mode}"

    @property
    def beats_per_bar(self) -> float:
        num, den = self.meter
        return num * 4.0 / den

    @property
    def duration(self) -> float:
        """Seconds: the bars at the tempo, or ``duration_seconds`` when the context fixes it
        (a role preset such as a 1 s UI sound cuts the rendered bars to that length)."""
        fixed = self._context.get("duration_seconds")
        if fixed:
            return float(fixed)
        return self.bars * self.beats_per_bar * 60.0 / self.tempo

    @property
    def num_samples(self) -> int:
        return int(round(self.duration * self.sample_rate))

    # --- tracks --------------------------------------------------------------------------------
    @property
    def tracks(self) -> tuple[Track, ...]:
        return tuple(self._tracks)

    def __iter__(self):
        return iter(self._tracks)

    def __len__(self) -> int:
        return len(self._tracks)

    def track(self, key: str) -> Track:
        """Find a track by id, exact name, or role (case-insensitive); a clear error otherwise."""
        k = key.strip().lower()
        for match in (lambda t: t.id == key, lambda t: t.name.lower() == k, lambda t: t.role == k):
            found = [t for t in self._tracks if match(t)]
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                raise TracksError(f"{key!r} matches several tracks ({', '.join(t.name for t in found)}): use the track name")
        names = ", ".join(t.name for t in self._tracks) or "none"
        raise TracksError(f"no track named {key!r} in this session (tracks: {names})")

    def add_track(self, track: Track, *, record: bool = True) -> Track:
        if any(t.id == track.id for t in self._tracks):
            raise TracksError(f"track {track.name!r} is already in the session")
        self._insert(track, len(self._tracks))
        if record:
            index = len(self._tracks) - 1
            self.history.record(Step(f"Add track {track.name}", lambda: self._remove(track),
                                     lambda: self._insert(track, index)))
        return track

    def remove_track(self, track: Track) -> None:
        if track.locked:
            raise LockedTrackError(f"track {track.name!r} is locked: unlock it before removing it")
        index = self._tracks.index(track)
        self._remove(track)
        self.history.record(Step(f"Remove track {track.name}", lambda: self._insert(track, index),
                                 lambda: self._remove(track)))

    def _insert(self, track: Track, index: int) -> None:
        self._tracks.insert(index, track)
        track.changed.connect(self._on_track_changed)
        self.track_added.emit(track)

    def _remove(self, track: Track) -> None:
        self._tracks.remove(track)
        track.changed.disconnect(self._on_track_changed)
        self.track_removed.emit(track)

    def _on_track_changed(self, field: str, old: object, new: object) -> None:
        track = self._sender_track()
        if track is None or self.history.replaying:
            return
        attr = "active_index" if field == "active" else field
        label = {"active": "Change take", "locked": "Lock" if new else "Unlock",
                 "muted": "Mute" if new else "Unmute", "solo": "Solo" if new else "Unsolo",
                 "gain_db": "Change gain", "pan": "Change pan", "name": "Rename",
                 "role": "Change role of"}.get(field, field)
        self.history.record(Step(f"{label} {track.name}",
                                 lambda: setattr(track, attr, old), lambda: setattr(track, attr, new)))

    @staticmethod
    def _sender_track() -> Track | None:
        from psygnal import Signal as _S
        sender = _S.sender()
        return sender if isinstance(sender, Track) else None

    # --- generation results -------------------------------------------------------------------
    def add_takes(self, takes: Iterable[tuple[Track, Take]], label: str = "Generate") -> None:
        """Append takes to several tracks as one undoable step; refused whole if any is locked."""
        pairs = list(takes)
        locked = [t.name for t, _ in pairs if t.locked]
        if locked:
            raise LockedTrackError(f"track {locked[0]!r} is locked: unlock it before regenerating")
        with self.history.group(label):
            for track, take in pairs:
                track.add_take(take)

    def audible_tracks(self) -> list[Track]:
        """Tracks heard in the mix: not muted, and soloed when any track is soloed."""
        soloed = any(t.solo for t in self._tracks)
        return [t for t in self._tracks if not t.muted and (t.solo or not soloed)]
