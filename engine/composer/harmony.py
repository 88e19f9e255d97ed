"""Harmony parts: chord voicings with voice leading, in a rhythm that suits the voice.

Each bar's chord is voiced close (three or four notes between MIDI 52 and 79), choosing the
inversion that moves the voices least from the previous bar. The tonic is kept on top as a
pedal where it sounds as a chord tone or a soft extension (a 6th, 9th or 11th), which keeps
the harmony centred on the key.
"""

from __future__ import annotations

import numpy as np

from engine.context import MusicalContext
from engine.errors import BackendError
from engine.theory import Chord, Note

LOW, HIGH = 52, 79
RHYTHMS = ("sustain", "stabs", "comp", "strum", "waltz", "six_eight")

# Intervals above the chord root at which the tonic may ring over the chord.
_PEDAL_INTERVALS = {0, 2, 3, 4, 5, 7, 9, 10}


def voicing_candidates(chord: Chord, tonic_pedal: int | None) -> list[tuple[int, ...]]:
    """Every close voicing of ``chord`` in range, with the tonic added on top where it fits."""
    pcs = list(chord.pitch_classes)
    extra = None
    if tonic_pedal is not None and tonic_pedal not in pcs and (tonic_pedal - chord.root) % 12 in _PEDAL_INTERVALS:
        extra = tonic_pedal
    out: list[tuple[int, ...]] = []
    for inv in range(len(pcs)):
        order = pcs[inv:] + pcs[:inv]
        for base in range(LOW, HIGH + 1):
            if base % 12 != order[0]:
                continue
            notes = [base]
            for pc in order[1:]:
                p = notes[-1] + 1
                while p % 12 != pc:
                    p += 1
                notes.append(p)
            if extra is not None:
                p = notes[-1] + 1
                while p % 12 != extra:
                    p += 1
                notes.append(p)
            if notes[-1] <= HIGH:
                out.append(tuple(notes))
    return out


def _movement(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    """How far the voices travel from ``a`` to ``b`` (extra voices pair with the nearest)."""
    cost = sum(min(abs(x - y) for y in a) for x in b) + sum(min(abs(x - y) for y in b) for x in a)
    return cost + 0.3 * abs(sum(b) / len(b) - 65.0)


def voice_lead(context: MusicalContext, tonic_pedal: bool = True) -> list[tuple[int, ...]]:
    """One voicing per bar, each the candidate nearest the last, starting around middle C."""
    pedal = context.tonic if tonic_pedal else None
    voicings: list[tuple[int, ...]] = []
    prev: tuple[int, ...] = (57, 60, 64, 67)
    for bar in range(context.bars):
        cands = voicing_candidates(context.chord_at_bar(bar), pedal)
        best = min(cands, key=lambda v: (_movement(prev, v), v))
        voicings.append(best)
        prev = best
    return voicings


def default_rhythm(context: MusicalContext, family: str, voice: str) -> str:
    num, den = context.meter
    if voice in ("pad", "strings"):
        return "sustain"
    if (num, den) == (3, 4):
        return "waltz"
    if (num, den) in ((6, 8), (12, 8)):
        return "six_eight"
    if family in ("house", "techno"):
        return "stabs"
    if voice == "pluck" or family == "rock":
        return "strum"
    return "comp"


# Hits as (beat offset in the bar, length in beats) for 4/4; other meters scale or use their
# own. Every cell keeps a hit on or between each beat, so the harmony reinforces the pulse
# the drums set instead of suggesting a slower one.
_COMP_CELLS = (
    ((0.0, 1.4), (1.5, 0.9), (2.5, 1.4)),
    ((0.0, 0.9), (1.0, 0.9), (2.0, 0.4), (2.5, 1.4)),
    ((0.0, 1.9), (2.0, 0.9), (3.0, 0.9)),
)
_STAB_CELLS = (
    ((0.5, 0.25), (1.5, 0.25), (2.5, 0.25), (3.5, 0.25)),
    ((0.5, 0.25), (1.5, 0.25), (2.5, 0.25), (3.25, 0.2), (3.5, 0.25)),
)
_STRUM_CELLS = (
    ((0.0, 0.9), (1.0, 0.9), (2.0, 0.9), (3.0, 0.9)),
    ((0.0, 0.9), (1.0, 0.4), (1.5, 0.4), (2.0, 0.9), (3.0, 0.4), (3.5, 0.4)),
)
_CELLS = {"comp": _COMP_CELLS, "stabs": _STAB_CELLS, "strum": _STRUM_CELLS}


def _bar_hits(rhythm: str, bpb: float, rng: np.random.Generator, cell: int) -> list[tuple[float, float]]:
    if rhythm == "sustain":
        return [(0.0, bpb)]
    if rhythm == "waltz":
        return [(0.0, 0.9), (1.0, 0.45), (2.0, 0.45)]
    if rhythm == "six_eight":
        return [(0.0, 1.4), (1.5, 1.4)] if bpb <= 3.0 else [(0.0, 1.4), (1.5, 1.4), (3.0, 1.4), (4.5, 1.4)]
    cells = _CELLS[rhythm]
    hits = cells[cell % len(cells)]
    return [(t, d) for t, d in hits if t < bpb - 1e-9]


def write_harmony(context: MusicalContext, rhythm: str, rng: np.random.Generator) -> tuple[list[Note], dict]:
    """Chord notes for every bar in ``rhythm``; returns the notes and the resolved choices."""
    if rhythm not in RHYTHMS:
        raise BackendError(f"the composer has no harmony rhythm {rhythm!r}: choose one of {', '.join(RHYTHMS)}")
    voicings = voice_lead(context)
    bpb = context.beats_per_bar
    n_cells = len(_CELLS.get(rhythm, ((),)))
    cell = int(rng.integers(n_cells))
    answer_cell = int(rng.integers(n_cells))
    notes: list[Note] = []
    for bar, voicing in enumerate(voicings):
        # Odd bars may answer the first bar's rhythm with another cell.
        hits = _bar_hits(rhythm, bpb, rng, cell if bar % 2 == 0 else answer_cell)
        for offset, length in hits:
            start = bar * bpb + offset
            length = min(length, context.total_beats - start)
            accent = 96 if offset == 0 else 84
            for i, pitch in enumerate(voicing):
                vel = int(np.clip(accent - 4 * i + rng.integers(-4, 5), 30, 127))
                notes.append(Note(int(pitch), float(start), float(length), vel))
    params = {"rhythm": rhythm, "cell": cell, "answer_cell": answer_cell,
              "voicings": [list(v) for v in voicings[: len(context.chords) or 1]]}
    return notes, params
