"""Chords per bar and the key of tonal material, from chroma.

Chroma is librosa's constant-Q chroma (imported when first needed). Each bar's chroma (from
the beat grid's downbeat) is matched against the 24 major/minor triads; the bass notes of the
bar (chroma of the band below 260 Hz) weigh in for the root, which tells a C major bar from an
A minor one sharing two notes. The key combines the Krumhansl/Temperley profile correlation
with how well the bar chords fit each key (diatonic chords, a tonic chord to start or end); a
bass line's key comes from its notes (``bass_line_notes``, ``key.key_from_line``).
"""

from __future__ import annotations

import numpy as np

from engine.analysis.librosa_lock import serialized

from engine.analysis.beats import BeatGrid
from engine.analysis.key import KeyEstimate, key_from_line, key_scores
from engine.theory import Chord, diatonic_chord

CHROMA_HOP = 512
CHROMA_RATE_22K = 22050 / CHROMA_HOP
_TRIADS = {"maj": (0, 4, 7), "min": (0, 3, 7)}
MIN_CHORD_SCORE = 0.55
"""Below this cosine a bar is left without a chord (silence, drums, a single note)."""


@serialized
def chroma_cqt(y22: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(chroma [T, 12], bass chroma [T, 12]) of mono audio at 22050 Hz, at ``CHROMA_RATE_22K``."""
    import librosa

    y = np.asarray(y22, dtype=np.float32)
    if y.size < 4 * 22050:
        y = np.pad(y, (0, 4 * 22050 - y.size))
    full = librosa.feature.chroma_cqt(y=y, sr=22050, hop_length=CHROMA_HOP).T
    bass = librosa.feature.chroma_cqt(y=y, sr=22050, hop_length=CHROMA_HOP, fmin=librosa.note_to_hz("C1"),
                                      n_octaves=3, norm=None).T
    return full.astype(np.float32), bass.astype(np.float32)


def _templates() -> tuple[list[Chord], np.ndarray]:
    chords, rows = [], []
    for quality, ivs in _TRIADS.items():
        for root in range(12):
            t = np.zeros(12)
            for k, iv in enumerate(ivs):
                t[(root + iv) % 12] = (1.0, 0.8, 0.9)[k]
            chords.append(Chord(root, quality))
            rows.append(t / np.linalg.norm(t))
    return chords, np.array(rows)


_CHORDS, _T = _templates()


def bar_chroma(chroma: np.ndarray, rate: float, grid: BeatGrid, duration: float) -> list[tuple[float, np.ndarray]]:
    """(bar start seconds, mean chroma [12]) for every whole or mostly-whole bar from the downbeat."""
    bar_s = grid.period * grid.beats_per_bar
    out = []
    t = grid.downbeat
    while t + 0.5 * bar_s <= duration:
        a, b = int(round(t * rate)), int(round(min(t + bar_s, duration) * rate))
        seg = chroma[a:b]
        out.append((t, seg.mean(axis=0) if len(seg) else np.zeros(12)))
        t += bar_s
    return out


def chords_per_bar(chroma: np.ndarray, bass: np.ndarray | None, rate: float, grid: BeatGrid,
                   duration: float) -> tuple[Chord | None, ...]:
    """The triad of each bar from ``grid.downbeat`` on (None where nothing fits)."""
    bars = bar_chroma(chroma, rate, grid, duration)
    lows = bar_chroma(bass, rate, grid, duration) if bass is not None else [(t, None) for t, _ in bars]
    out: list[Chord | None] = []
    for (_, c), (_, low) in zip(bars, lows):
        norm = np.linalg.norm(c)
        if norm < 1e-9:
            out.append(None)
            continue
        scores = _T @ (c / norm)
        best_plain = float(scores.max())
        if low is not None and np.linalg.norm(low) > 1e-9:
            low = low / max(float(low.max()), 1e-12)
            scores = scores + 0.25 * np.array([low[ch.root] for ch in _CHORDS])
        i = int(np.argmax(scores))
        out.append(_CHORDS[i] if best_plain >= MIN_CHORD_SCORE else None)
    return tuple(out)


def roots_per_bar(bass: np.ndarray, rate: float, grid: BeatGrid, duration: float,
                  key: KeyEstimate | None) -> tuple[Chord | None, ...]:
    """Each bar's strongest bass pitch class as a chord root, with the key's diatonic quality."""
    diatonic = {}
    if key is not None:
        for d in range(1, 8):
            c = diatonic_chord(key.tonic, key.mode, d)
            diatonic[c.root] = c.quality if c.quality in _TRIADS else "min"
    out: list[Chord | None] = []
    for _, c in bar_chroma(bass, rate, grid, duration):
        if float(np.max(c, initial=0.0)) <= 1e-9:
            out.append(None)
            continue
        root = int(np.argmax(c))
        out.append(Chord(root, diatonic.get(root, "maj")))
    return tuple(out)


def key_from_chords(chroma_mean: np.ndarray, chords: tuple[Chord | None, ...]) -> KeyEstimate | None:
    """The key of tonal material: profile correlation, plus how the bar chords fit each key."""
    profile = key_scores(chroma_mean)  # [2, 12]
    if not np.any(profile):
        return None
    fit = np.zeros((2, 12))
    known = [c for c in chords if c is not None]
    if known:
        for m, mode in enumerate(("major", "minor")):
            for tonic in range(12):
                diatonic = {(c.root, c.quality) for c in (diatonic_chord(tonic, mode, d) for d in range(1, 8))}
                share = np.mean([(c.root, c.quality) in diatonic for c in known])
                home = Chord(tonic, "maj" if mode == "major" else "min")
                first, last = ((c.root, c.quality) == (home.root, home.quality) for c in (known[0], known[-1]))
                fit[m, tonic] = share + 0.25 * first + 0.05 * last
    scores = profile + 1.0 * fit
    flat = scores.ravel()
    order = np.argsort(flat)[::-1]
    mode_index, tonic = divmod(int(order[0]), 12)
    best, second = flat[order[0]], flat[order[1]]
    confidence = float(np.clip((best - second) / 0.3, 0.0, 1.0))
    return KeyEstimate(tonic, ("major", "minor")[mode_index], confidence, scores)


_HARMONICS = ((0, 1.0), (12, 0.8), (19, 0.6), (24, 0.5), (28, 0.4))
"""CQT bin offsets (semitones) of harmonics 1-5 and their weights for the harmonic sum."""


@serialized
def bass_line_notes(y22: np.ndarray) -> list[tuple[int, float, float]]:
    """(pitch class, start s, duration s) of the notes of a single-note low line (a bass line),
    mono at 22050 Hz. Each frame's note is the C1-B3 pitch whose harmonics (a harmonic sum over a
    constant-Q spectrum) are strongest, so the overtones a bass sound is made of (its fifth and
    major third above) are not read as notes; runs of frames on one pitch class are a note."""
    import librosa

    y = np.asarray(y22, dtype=np.float32)
    if y.size < 22050:
        y = np.pad(y, (0, 22050 - y.size))
    mag = np.abs(librosa.cqt(y, sr=22050, hop_length=CHROMA_HOP, fmin=librosa.note_to_hz("C1"), n_bins=72,
                             bins_per_octave=12))
    salience = sum(w * mag[o: o + 36] for o, w in _HARMONICS)  # [36, T]
    pcs = salience.argmax(axis=0) % 12
    strength = salience.max(axis=0)
    voiced = strength > 0.1 * float(np.percentile(strength, 95)) + 1e-12
    notes: list[tuple[int, float, float]] = []
    frame_s = CHROMA_HOP / 22050
    start = None
    for i in range(pcs.size + 1):
        same = i < pcs.size and voiced[i] and start is not None and pcs[i] == pcs[start]
        if same:
            continue
        if start is not None and i - start >= 3:  # under ~70 ms is a slide or an attack's smear
            notes.append((int(pcs[start]), start * frame_s, (i - start) * frame_s))
        start = i if i < pcs.size and voiced[i] else None
    return notes


def key_of_bass_line(y22: np.ndarray, grid: BeatGrid, duration: float) -> KeyEstimate | None:
    """The key of a bass line from its notes, the downbeats of ``grid`` weighing in."""
    bar_s = grid.period * grid.beats_per_bar
    downbeats = grid.downbeat + bar_s * np.arange(max(0, int((duration - grid.downbeat) / bar_s)) + 1)
    return key_from_line(bass_line_notes(y22), downbeats)
