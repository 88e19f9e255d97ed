"""Music theory on plain numbers: pitch classes, scales, chords and notes.

Pitch classes are ints 0..11 with C = 0. Note times are in beats (quarter notes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from engine.errors import MusicError

PITCH_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_FLAT_NAMES = {"Db": 1, "Eb": 3, "Gb": 6, "Ab": 8, "Bb": 10, "Cb": 11, "Fb": 4, "E#": 5, "B#": 0}

SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
}

CHORD_INTERVALS: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7),
    "min": (0, 3, 7),
    "dim": (0, 3, 6),
    "sus2": (0, 2, 7),
    "sus4": (0, 5, 7),
    "maj7": (0, 4, 7, 11),
    "min7": (0, 3, 7, 10),
    "dom7": (0, 4, 7, 10),
}


class Note(NamedTuple):
    """One symbolic note. ``start`` and ``duration`` are in beats; drums use GM pitches."""

    pitch: int
    start: float
    duration: float
    velocity: int


def pitch_class(name: str) -> int:
    """'A' -> 9, 'F#' -> 6, 'Bb' -> 10. Raises ValueError for anything else."""
    n = name.strip()
    if not n:
        raise MusicError("empty pitch name")
    n = n[0].upper() + n[1:].replace("♯", "#").replace("♭", "b")
    if n in PITCH_NAMES:
        return PITCH_NAMES.index(n)
    if n in _FLAT_NAMES:
        return _FLAT_NAMES[n]
    raise MusicError(f"unknown pitch name {name!r}")


def pitch_name(pc: int) -> str:
    return PITCH_NAMES[pc % 12]


@dataclass(frozen=True)
class Chord:
    """A chord as a root pitch class and a quality from ``CHORD_INTERVALS``."""

    root: int
    quality: str = "maj"

    def __post_init__(self) -> None:
        if self.quality not in CHORD_INTERVALS:
            raise MusicError(f"unknown chord quality {self.quality!r}")
        object.__setattr__(self, "root", self.root % 12)

    @property
    def pitch_classes(self) -> tuple[int, ...]:
        return tuple((self.root + i) % 12 for i in CHORD_INTERVALS[self.quality])

    @property
    def name(self) -> str:
        suffix = {"maj": "", "min": "m", "dim": "dim", "sus2": "sus2", "sus4": "sus4",
                  "maj7": "maj7", "min7": "m7", "dom7": "7"}[self.quality]
        return pitch_name(self.root) + suffix

    def to_dict(self) -> dict:
        return {"root": self.root, "quality": self.quality}

    @classmethod
    def from_dict(cls, d: dict) -> "Chord":
        return cls(int(d["root"]), str(d["quality"]))


def scale_pitch_classes(tonic: int, mode: str) -> tuple[int, ...]:
    return tuple((tonic + i) % 12 for i in SCALES[mode])


def diatonic_chord(tonic: int, mode: str, degree: int) -> Chord:
    """The triad on scale degree ``degree`` (1-based) of ``tonic`` ``mode``."""
    scale = SCALES[mode]
    i = (degree - 1) % 7
    root, third, fifth = scale[i], scale[(i + 2) % 7], scale[(i + 4) % 7]
    third_iv, fifth_iv = (third - root) % 12, (fifth - root) % 12
    quality = {(4, 7): "maj", (3, 7): "min", (3, 6): "dim"}.get((third_iv, fifth_iv), "maj")
    return Chord((tonic + root) % 12, quality)


def nearest_in_set(pitch: int, pcs: tuple[int, ...] | set[int]) -> int:
    """The MIDI pitch nearest ``pitch`` whose pitch class is in ``pcs`` (ties go down)."""
    for d in range(12):
        if (pitch - d) % 12 in pcs:
            return pitch - d
        if (pitch + d) % 12 in pcs:
            return pitch + d
    return pitch
