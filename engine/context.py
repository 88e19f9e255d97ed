"""The musical context every backend honours: tempo, meter, key, bars, chords, roles."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from engine.errors import MusicError
from engine.theory import Chord, pitch_name

ROLES = ("drums", "bass", "harmony", "melody")
ALL_ROLES = ROLES + ("other",)

MIN_TEMPO, MAX_TEMPO = 30.0, 300.0
MAX_BARS = 512


@dataclass(frozen=True)
class MusicalContext:
    """What a piece is, independent of how it is generated.

    ``chords`` holds one chord per bar (the progression repeats when shorter than ``bars``);
    ``instruments`` maps a role to a hint such as "808" or "acid"; ``roles`` lists the parts
    the piece has (negations in the prompt remove roles).
    """

    tempo: float = 120.0
    meter: tuple[int, int] = (4, 4)
    tonic: int = 9
    mode: str = "minor"
    bars: int = 8
    chords: tuple[Chord, ...] = ()
    genre: str | None = None
    moods: tuple[str, ...] = ()
    energy: float = 0.6
    instruments: tuple[tuple[str, str], ...] = ()
    roles: tuple[str, ...] = ROLES
    tags: tuple[str, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        if not (MIN_TEMPO <= self.tempo <= MAX_TEMPO):
            raise MusicError(f"tempo {self.tempo:g} bpm is outside {MIN_TEMPO:g}-{MAX_TEMPO:g} bpm")
        if not (1 <= self.bars <= MAX_BARS):
            raise MusicError(f"bars must be between 1 and {MAX_BARS}, not {self.bars}")
        num, den = self.meter
        if num < 1 or den not in (2, 4, 8, 16):
            raise MusicError(f"unsupported meter {num}/{den}")

    # --- derived timing -------------------------------------------------------------
    @property
    def key_name(self) -> str:
        return f"{pitch_name(self.tonic)} {self.mode}"

    @property
    def beats_per_bar(self) -> float:
        """Length of a bar in quarter-note beats (6/8 -> 3.0, 3/4 -> 3.0)."""
        num, den = self.meter
        return num * 4.0 / den

    @property
    def total_beats(self) -> float:
        return self.bars * self.beats_per_bar

    @property
    def seconds_per_beat(self) -> float:
        return 60.0 / self.tempo

    @property
    def duration(self) -> float:
        return self.total_beats * self.seconds_per_beat

    def num_samples(self, sample_rate: int) -> int:
        return int(round(self.duration * sample_rate))

    def chord_at_bar(self, bar: int) -> Chord:
        if not self.chords:
            return Chord(self.tonic, "min" if self.mode in ("minor", "dorian", "phrygian") else "maj")
        return self.chords[bar % len(self.chords)]

    def instrument(self, role: str) -> str | None:
        return dict(self.instruments).get(role)

    def with_changes(self, **changes: Any) -> "MusicalContext":
        return replace(self, **changes)

    # --- plain data ------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "tempo": self.tempo,
            "meter": list(self.meter),
            "tonic": self.tonic,
            "mode": self.mode,
            "bars": self.bars,
            "chords": [c.to_dict() for c in self.chords],
            "genre": self.genre,
            "moods": list(self.moods),
            "energy": self.energy,
            "instruments": {k: v for k, v in self.instruments},
            "roles": list(self.roles),
            "tags": list(self.tags),
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "MusicalContext":
        known = {f.name for f in fields(cls)}
        kw: dict[str, Any] = {k: v for k, v in d.items() if k in known}
        if "meter" in kw:
            kw["meter"] = tuple(int(x) for x in kw["meter"])
        if "chords" in kw:
            kw["chords"] = tuple(Chord.from_dict(c) for c in kw["chords"])
        if "instruments" in kw:
            kw["instruments"] = tuple(sorted(dict(kw["instruments"]).items()))
        for name in ("moods", "roles", "tags"):
            if name in kw:
                kw[name] = tuple(kw[name])
        if "tempo" in kw:
            kw["tempo"] = float(kw["tempo"])
        return cls(**kw)

