"""Chord progressions per style family and mode, as scale degrees, turned into one chord per bar.

Every progression starts on the tonic and holds the tonic more often than any other chord,
so the composed parts stay centred on the key (a Krumhansl key profile finds it). The last
bar of a piece always returns to the tonic.
"""

from __future__ import annotations

from collections import Counter

from engine.errors import MusicError
from engine.theory import SCALES, Chord, diatonic_chord

Degrees = tuple[int, ...]

# family -> mode -> loop of scale degrees (1-based). "minor"/"major" are required; a family may
# also name a church mode it is idiomatic in. Other church modes fall back to MODAL_LOOPS.
PROGRESSIONS: dict[str, dict[str, Degrees]] = {
    "techno": {"minor": (1, 1, 6, 7), "major": (1, 1, 4, 5)},
    "house": {"minor": (1, 4, 1, 7), "major": (1, 4, 1, 5)},
    "hiphop": {"minor": (1, 6, 1, 7), "major": (1, 4, 1, 5)},
    "trap": {"minor": (1, 1, 6, 5), "major": (1, 1, 4, 5)},
    "lofi": {"minor": (1, 4, 7, 3, 1, 4, 6, 1), "major": (1, 6, 2, 5, 1, 6, 4, 1)},
    "ambient": {"minor": (1, 6, 1, 4), "major": (1, 4, 1, 6)},
    "trance": {"minor": (1, 6, 3, 7, 1, 6, 7, 1), "major": (1, 5, 6, 4, 1, 5, 4, 1)},
    "pop": {"minor": (1, 6, 3, 7, 1, 4, 7, 1), "major": (1, 5, 6, 4, 1, 5, 4, 1)},
    "rock": {"minor": (1, 6, 7, 1, 1, 4, 7, 1), "major": (1, 4, 5, 1, 1, 4, 6, 5)},
    "metal": {"minor": (1, 6, 7, 1, 1, 6, 4, 5), "major": (1, 5, 4, 1)},
    "jazz": {"minor": (1, 1, 4, 5, 1, 6, 4, 5), "major": (1, 1, 2, 5, 1, 6, 2, 5)},
    "funk": {"minor": (1, 4, 1, 7), "major": (1, 4, 1, 5), "dorian": (1, 4, 1, 7)},
    "cinematic": {"minor": (1, 6, 3, 7, 1, 4, 5, 1), "major": (1, 4, 6, 5, 1, 4, 5, 1)},
    "reggae": {"minor": (1, 4, 1, 5), "major": (1, 4, 1, 5)},
    "blues": {"minor": (1, 1, 1, 1, 4, 4, 1, 1, 5, 4, 1, 5),
              "major": (1, 1, 1, 1, 4, 4, 1, 1, 5, 4, 1, 5),
              "mixolydian": (1, 1, 1, 1, 4, 4, 1, 1, 5, 4, 1, 5)},
}

MODAL_LOOPS: dict[str, Degrees] = {
    "dorian": (1, 4, 1, 7),
    "phrygian": (1, 2, 1, 7),
    "lydian": (1, 2, 1, 5),
    "mixolydian": (1, 7, 4, 1),
}

DEFAULT_FAMILY = "pop"

_SEVENTH_QUALITY = {("maj", 11): "maj7", ("maj", 10): "dom7", ("min", 10): "min7"}


def diatonic_seventh(tonic: int, mode: str, degree: int) -> Chord:
    """The seventh chord on ``degree`` when its quality is one we can voice, else the triad."""
    triad = diatonic_chord(tonic, mode, degree)
    scale = SCALES[mode]
    i = (degree - 1) % 7
    seventh = (scale[(i + 6) % 7] - scale[i]) % 12
    quality = _SEVENTH_QUALITY.get((triad.quality, seventh))
    return Chord(triad.root, quality) if quality else triad


def progression_degrees(family: str, mode: str) -> Degrees:
    """The loop of degrees for a style family in a mode (deterministic, no randomness)."""
    table = PROGRESSIONS.get(family, PROGRESSIONS[DEFAULT_FAMILY])
    if mode in table:
        return table[mode]
    if mode in MODAL_LOOPS:
        return MODAL_LOOPS[mode]
    raise MusicError(f"unknown mode {mode!r}")


def bar_degrees(loop: Degrees, bars: int) -> list[int]:
    """Repeat ``loop`` over ``bars`` bars, end on the tonic, keep the tonic the most frequent."""
    degrees = [loop[b % len(loop)] for b in range(bars)]
    degrees[-1] = 1
    # A loop cut short can tie another degree with the tonic; turn that degree's latest bar
    # into the tonic until the tonic leads strictly (bar 0 is already the tonic).
    while True:
        counts = Counter(degrees)
        rival, rival_count = max(((d, n) for d, n in counts.items() if d != 1),
                                 key=lambda dn: dn[1], default=(None, 0))
        if rival is None or counts[1] > rival_count:
            return degrees
        last = max(b for b, d in enumerate(degrees) if d == rival)
        degrees[last] = 1


def progression(family: str, tonic: int, mode: str, bars: int, *, sevenths: bool = False
                ) -> tuple[Chord, ...]:
    """One chord per bar for ``bars`` bars of ``family`` in ``tonic`` ``mode``."""
    if bars < 1:
        raise MusicError(f"bars must be at least 1, not {bars}")
    make = diatonic_seventh if sevenths else diatonic_chord
    return tuple(make(tonic, mode, d) for d in bar_degrees(progression_degrees(family, mode), bars))
