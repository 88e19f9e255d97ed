"""Key and mode from a chroma profile by correlation with key profiles.

Krumhansl-Kessler probe-tone profiles and Temperley's (Kostka-Payne corpus) profiles are
each correlated with the 12 rotations of the piece's mean chroma; the two correlations are
averaged, and the best of the 24 major/minor keys wins. Pure numpy: no librosa needed.

A single-note line (a bass line) has no chords to read, and its chroma is mostly the overtones
of each note; ``key_from_line`` takes its notes instead, weighted where a bass line states its
key (how long each sounds, the downbeats, the phrase starts, the last note), and adds how
much of the line is in each key's scale and on its tonic. A line of roots and fifths that
never plays a third or a sixth (i iv v i) sounds the same in major and minor: the mode is
then reported as a guess.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

KRUMHANSL_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KRUMHANSL_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
TEMPERLEY_MAJOR = np.array([0.748, 0.060, 0.488, 0.082, 0.670, 0.460, 0.096, 0.715, 0.104, 0.366, 0.057, 0.400])
TEMPERLEY_MINOR = np.array([0.712, 0.084, 0.474, 0.618, 0.049, 0.460, 0.105, 0.747, 0.404, 0.067, 0.133, 0.330])

MODES = ("major", "minor")


class KeyEstimate(NamedTuple):
    tonic: int
    """Pitch class 0..11, C = 0."""
    mode: str
    """'major' or 'minor'."""
    confidence: float
    """Margin of the best key's score over the runner-up, 0 (a tie) .. 1."""
    scores: np.ndarray
    """[2, 12] correlation per mode (major, minor) and tonic."""
    mode_clear: bool = True
    """False when the material never plays the tonic's third or sixth: the mode is a guess."""


def _rotations(profile: np.ndarray) -> np.ndarray:
    """[12, 12]: row t is the profile with its tonic at pitch class t, z-scored."""
    rows = np.stack([np.roll(profile, t) for t in range(12)])
    rows = rows - rows.mean(axis=1, keepdims=True)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


_PROFILES = {
    "major": (_rotations(KRUMHANSL_MAJOR), _rotations(TEMPERLEY_MAJOR)),
    "minor": (_rotations(KRUMHANSL_MINOR), _rotations(TEMPERLEY_MINOR)),
}


def key_scores(chroma_mean: np.ndarray) -> np.ndarray:
    """[2, 12] mean Pearson correlation of ``chroma_mean`` (12 values) with each key."""
    c = np.asarray(chroma_mean, dtype=np.float64).reshape(12)
    c = c - c.mean()
    norm = np.linalg.norm(c)
    if norm < 1e-12:
        return np.zeros((2, 12))
    c = c / norm
    return np.stack([np.mean([rot @ c for rot in _PROFILES[mode]], axis=0) for mode in MODES])


def estimate_key(chroma_mean: np.ndarray) -> KeyEstimate | None:
    """The best-fitting key, or None when the chroma is flat (silence, pure noise)."""
    scores = key_scores(chroma_mean)
    if not np.any(scores):
        return None
    flat = scores.ravel()
    order = np.argsort(flat)[::-1]
    best, second = flat[order[0]], flat[order[1]]
    mode_index, tonic = divmod(int(order[0]), 12)
    confidence = float(np.clip((best - second) / max(1e-9, 1.0 - second), 0.0, 1.0))
    return KeyEstimate(tonic, MODES[mode_index], confidence, scores)


def relation(tonic_a: int, mode_a: str, tonic_b: int, mode_b: str) -> str:
    """How two keys relate: 'same', 'relative', 'parallel', 'fifth' or 'other'."""
    if tonic_a == tonic_b and mode_a == mode_b:
        return "same"
    if mode_a != mode_b:
        major_a = tonic_a if mode_a == "major" else (tonic_a + 3) % 12
        major_b = tonic_b if mode_b == "major" else (tonic_b + 3) % 12
        if major_a == major_b:
            return "relative"
        if tonic_a == tonic_b:
            return "parallel"
        return "other"
    if (tonic_a - tonic_b) % 12 in (5, 7):
        return "fifth"
    return "other"


LINE_WEIGHTS = (0.4, 0.2, 0.3, 0.1)
"""Shares of a line's pitch-class profile: the time each pitch class sounds, the pitch class
sounding on each downbeat, on each phrase start (the first note, then every ``PHRASE_BARS``
bars) and the last note."""
PHRASE_BARS = 4


def _sounding(notes, t: float) -> int | None:
    for pc, start, dur in notes:
        if start - 0.05 <= t < start + dur:
            return pc
    return None


BAR_LINE_EARLY_S, BAR_LINE_LATE_S = 0.08, 0.12
"""A note that starts this close to a bar line is the one the bar starts with: a transcribed
bass attack lands up to a few tens of ms late, humanised playing either side."""


def _at_bar_line(notes, t: float) -> int | None:
    """The pitch class a bar starts with at bar line ``t``: the note struck nearest the line,
    else the one sounding just after it (a note tied over the line). At the line itself the
    last bar's note is often still ringing."""
    near = [(abs(start - t), pc) for pc, start, _ in notes if t - BAR_LINE_EARLY_S <= start <= t + BAR_LINE_LATE_S]
    if near:
        return min(near)[1]
    return _sounding(notes, t + 0.06)


def line_profile(notes, downbeats) -> np.ndarray:
    """[12] pitch-class weights of a single-note line (a bass line): ``notes`` are
    (pitch class, start s, duration s) in time order, ``downbeats`` the bar starts in seconds.
    Duration alone would let the chord a loop dwells on out-weigh its tonic (A G F G spends
    half its time on G); a bass line states its harmony on the downbeats and its tonic where a
    phrase starts (a loop is cut to start on its tonic's bar: I V vi IV, i VI III VII).
    Bar lines after the last note's attack (its ring-out) are not counted."""
    parts = np.zeros((4, 12))
    for pc, start, dur in notes:
        parts[0, pc] += dur
    downbeats = np.asarray(downbeats, dtype=np.float64)
    if notes:
        downbeats = downbeats[downbeats <= notes[-1][1] + BAR_LINE_LATE_S]
    for d in downbeats:
        pc = _at_bar_line(notes, d)
        if pc is not None:
            parts[1, pc] += 1.0
    if notes:
        # The first note, then every PHRASE_BARS bars from the bar it starts.
        starts = [notes[0][1]]
        first_bar = int(np.searchsorted(downbeats, notes[0][1] - BAR_LINE_EARLY_S))
        for j in range(first_bar + PHRASE_BARS, downbeats.size, PHRASE_BARS):
            starts.append(float(downbeats[j]))
        for t in starts:
            pc = _at_bar_line(notes, t)
            if pc is not None:
                parts[2, pc] += 1.0
        parts[3, notes[-1][0]] += 1.0
    out = np.zeros(12)
    used = 0.0
    for share, row in zip(LINE_WEIGHTS, parts):
        if row.sum() > 0:
            out += share * row / row.sum()
            used += share
    return out / used if used else out


def _scales() -> np.ndarray:
    """[2, 12, 12]: 1 where a pitch class is in the major / natural-minor scale of each tonic."""
    out = np.zeros((2, 12, 12))
    for m, steps in enumerate(((0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10))):
        for t in range(12):
            out[m, t, [(t + s) % 12 for s in steps]] = 1.0
    return out


_SCALES = _scales()
TONIC_WEIGHT = 1.0
SCALE_WEIGHT = 1.0
HEARD_MODE_BONUS = 0.05


def key_from_line(notes, downbeats) -> KeyEstimate | None:
    """The key of a single-note line (a bass line) from its notes (see ``line_profile``): the
    profile correlation, plus how much of the line is in the key's scale, plus how much of it is
    the key's tonic (a bass line dwells on the tonic, on the downbeats, and starts or ends
    there). ``confidence`` is the best key's margin over the runner-up; a line that never
    plays a third or a sixth cannot tell major from minor, and says so with a low confidence.
    None when the line has no notes."""
    p = line_profile(notes, downbeats)
    if p.sum() <= 0:
        return None
    scores = key_scores(p) + SCALE_WEIGHT * (_SCALES @ p) + TONIC_WEIGHT * np.stack([p, p])
    # A key the line shows the mode of (it plays that key's third or sixth) explains more of it
    # than one it leaves undecided: G F Eb F is G minor (Eb its sixth) sooner than F minor.
    scores = scores + HEARD_MODE_BONUS * np.array([[not _mode_unclear(p, t) for t in range(12)]] * 2)
    flat = scores.ravel()
    order = np.argsort(flat)[::-1]
    mode_index, tonic = divmod(int(order[0]), 12)
    confidence = float(np.clip((flat[order[0]] - flat[order[1]]) / 0.3, 0.0, 1.0))
    unclear = _mode_unclear(p, tonic)
    if unclear:
        confidence = min(confidence, 0.1)
    return KeyEstimate(tonic, MODES[mode_index], confidence, scores, not unclear)


def _mode_unclear(profile: np.ndarray, tonic: int) -> bool:
    """No third and no sixth above ``tonic`` (a line of roots and fifths): major or minor is a guess."""
    thirds = profile[[(tonic + i) % 12 for i in (3, 4, 8, 9)]].sum()
    return bool(thirds < 0.02)
