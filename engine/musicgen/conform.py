"""Fit generated audio to the session grid: find its beat, stretch it to the session tempo, put
its first downbeat on bar one.

It uses the project's one beat tracker (``engine.analysis.beats``) and drum-voice detector, so a
generated part is read the way an import is. With locked tracks, the start (searched every 5 ms
over a bar) is the one where the part agrees best with them: its onsets meet theirs (kicks with
kicks, snares with snares, any onset with the kicks) and, in a pitched part, its bars each hold
one harmony, so the bass note or chord changes on the bar lines. Not the loudest beat, which in
a syncopated part is often the backbeat, and not onsets alone, which a syncopated bass line
shares with the kick only once or twice a bar. Without locked tracks it is the bar position
that carries the kicks and not the snares. When the beat is not clear, the rate is searched
within ``MAX_UNCLEAR_DEVIATION`` of the session tempo with the start; when nothing locked says
where the beat is and the estimate is further off than that, the audio is not stretched, and
the report says so. Stretching is Rubber Band's (``engine.stretch``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping

import numpy as np

from engine.analysis.beats import CLEAR_BEAT, BeatGrid
from engine.analysis.beats import track_beats as _track
from engine.analysis.drum_onsets import DrumOnsets, detect_drums
from engine.analysis.onsets import RATE, Spectrogram, mono_at_rate, spectrogram
from engine.analysis.role import is_percussive
from engine.stretch import time_stretch as _stretch

N_FFT = 2048
MIN_BEAT_STRENGTH = CLEAR_BEAT
MAX_UNCLEAR_DEVIATION = 0.04
"""An unclear beat may be nudged by this much at most; beyond it the estimate is not trusted."""
AGREE_S = 0.035
STEP_S = 0.005
"""The start is searched at this resolution."""
HARMONY_WEIGHT = 3.0
"""How much bars that each hold one harmony count against onsets that meet the locked ones
(onset agreement scores up to ~2.5 for a pitched part, ~5.5 for drums)."""
OWN_DOWNBEAT_WEIGHT = 0.5
"""What a drum part's own downbeat (kicks, not snares, on it) adds at full confidence."""
REFINE_S = 0.06
"""A pitched part's start is refined by its onsets within this much of the harmony's choice."""
CHROMA_FFT = 4096
CHROMA_HOP = 512
CHROMA_FPS = RATE / CHROMA_HOP


def track_beats(y: np.ndarray, sample_rate: int, target_tempo: float, beats_per_bar: int,
                locked_onsets: Mapping[str, np.ndarray] | None = None) -> BeatGrid:
    """Tempo (folded near ``target_tempo``), beat phase and downbeat of mono ``y``.

    ``locked_onsets`` maps "kick", "snare" and "all" to onset times (seconds, session time) of
    the locked tracks; the downbeat is then the one that lines this audio up with them.
    """
    cues = _cues(y, sample_rate)
    grid = _grid(cues, target_tempo, beats_per_bar)
    if locked_onsets:
        rate = target_tempo / grid.tempo
        found = _search(cues, locked_onsets, beats_per_bar * 60.0 / target_tempo, [rate], grid.downbeat)
        if found is not None:
            grid = replace(grid, downbeat=found[1], level_reason=grid.level_reason + "+locked")
    return grid


@dataclass(frozen=True, eq=False)
class _Cues:
    """What the search listens to in the part: its onsets per drum voice and, for a pitched
    part, its chroma (``[T, 12]`` unit frames at ``CHROMA_FPS``; None for drums)."""

    spec: Spectrogram
    drums: DrumOnsets
    chroma: np.ndarray | None
    seconds: float


def _cues(y: np.ndarray, sample_rate: int) -> _Cues:
    y22 = mono_at_rate(y, sample_rate)
    spec = spectrogram(y22)
    drums = detect_drums(None, RATE, spec, y22)
    percussive, _ = is_percussive(spec, drums.all)
    return _Cues(spec, drums, None if percussive else low_chroma(y22), y22.size / RATE)


def _grid(cues: _Cues, target_tempo: float, beats_per_bar: int) -> BeatGrid:
    return _track(cues.spec, beats_per_bar, drums=cues.drums, near_tempo=target_tempo, onset_times=cues.drums.all)


def low_chroma(y22: np.ndarray) -> np.ndarray:
    """``[T, 12]`` unit-norm chroma of the 30-2000 Hz band of mono ``y22`` (22050 Hz), at
    ``CHROMA_FPS``: a 4096-point STFT (5 Hz bins) resolves the harmonics of bass notes a semitone apart (numpy only, so
    the engine thread does not pay for librosa). Near-silent frames are zero."""
    y = np.asarray(y22, dtype=np.float64)
    if y.size < CHROMA_FFT:
        y = np.pad(y, (0, CHROMA_FFT - y.size))
    freqs = np.fft.rfftfreq(CHROMA_FFT, 1.0 / RATE)
    sel = np.flatnonzero((freqs >= 30.0) & (freqs <= 2000.0))
    pcs = np.round(12 * np.log2(freqs[sel] / 440.0) + 69).astype(int) % 12
    fold = np.zeros((sel.size, 12))
    fold[np.arange(sel.size), pcs] = 1.0
    window = np.hanning(CHROMA_FFT + 1)[:-1]
    padded = np.pad(y, (CHROMA_FFT // 2, CHROMA_FFT // 2))
    frames = 1 + (padded.size - CHROMA_FFT) // CHROMA_HOP
    out = []
    for start in range(0, frames, 1024):
        idx = np.arange(start, min(frames, start + 1024))[:, None] * CHROMA_HOP + np.arange(CHROMA_FFT)[None, :]
        mag = np.abs(np.fft.rfft(padded[idx] * window, axis=-1))[:, sel]
        out.append(mag @ fold)
    chroma = np.concatenate(out)
    energy = np.linalg.norm(chroma, axis=1, keepdims=True)
    loud = energy > 1e-3 * float(energy.max(initial=0.0)) + 1e-12
    return np.where(loud, chroma / np.maximum(energy, 1e-12), 0.0)


def _onset_scores(drums: DrumOnsets, locked: Mapping[str, np.ndarray], shifts: np.ndarray, rate: float,
                  percussive: bool, soft_s: float = 0.0) -> np.ndarray:
    """Per start in ``shifts`` (seconds of the part), how well the part's onsets, put there and
    played ``rate`` x faster, meet the locked tracks': kicks with kicks, snares with snares, any
    onset with any, and any onset with the kicks (a bass plays with the kick more than the hats)."""
    pairs = (("kick", drums.all, 1.5), ("all", drums.all, 1.0))
    if percussive:
        pairs = (("kick", drums.kick, 2.0), ("snare", drums.snare, 1.5), ("all", drums.all, 1.0),
                 ("kick", drums.all, 1.0))
    total = np.zeros(shifts.size)
    for voice, mine, weight in pairs:
        theirs = np.sort(np.asarray(locked.get(voice, np.zeros(0)), dtype=np.float64))
        mine = np.asarray(mine, dtype=np.float64)
        if theirs.size == 0 or mine.size == 0:
            continue
        placed = (mine[None, :] - shifts[:, None]) / rate  # [S, N] session seconds
        inside = (placed >= -AGREE_S) & (placed <= theirs[-1] + AGREE_S)
        j = np.clip(np.searchsorted(theirs, placed), 1, theirs.size - 1) if theirs.size > 1 else np.zeros_like(placed, int)
        d = np.minimum(np.abs(placed - theirs[j]), np.abs(placed - theirs[np.maximum(j - 1, 0)]))
        # A hit within AGREE_S counts 1; with ``soft_s``, the nearer the more (a fine fit).
        near = np.exp(-0.5 * (d / soft_s) ** 2) if soft_s > 0 else 1.0
        hits = (near * ((d <= AGREE_S) & inside)).sum(axis=1)
        total += weight * hits / np.maximum(inside.sum(axis=1), 1)
    return total


def _bar_purity(chroma: np.ndarray, shifts: np.ndarray, bar_s: float) -> np.ndarray:
    """Per start in ``shifts``, how much each bar (of ``bar_s`` seconds of the part, bar lines at
    the start and every bar from it) holds one harmony: the norm of each bar's summed unit chroma
    frames over the number of frames (1 when every frame of every bar is alike). Where the bass
    note or chord changes on the bar lines, the bars are pure; half a bar off, each mixes two."""
    cum = np.concatenate([np.zeros((1, 12)), np.cumsum(chroma, axis=0)])
    n = chroma.shape[0]
    shifts = np.asarray(shifts, dtype=np.float64)
    # Bar lines from a bar before each start to past the end, clipped to the part: [S, K].
    first = shifts - bar_s * np.ceil(shifts / bar_s)
    count = int(np.ceil((n / CHROMA_FPS - float(first.min(initial=0.0))) / bar_s)) + 2
    edges = np.clip(np.round((first[:, None] + np.arange(count)[None, :] * bar_s) * CHROMA_FPS).astype(int), 0, n)
    sums = cum[edges[:, 1:]] - cum[edges[:, :-1]]  # [S, K-1, 12]; empty bars sum to zero
    return np.linalg.norm(sums, axis=2).sum(axis=1) / max(n, 1)


def _search(cues: _Cues, locked: Mapping[str, np.ndarray], bar_s: float, rates,
            prefer: float, prefer_weight: float = 0.0) -> tuple[float, float] | None:
    """The (rate, start seconds within the part's first bar) that best fit the locked tracks:
    onsets that meet theirs and, in a pitched part, harmony that changes on the bar lines.
    Searched every ``STEP_S`` at each of ``rates``; ties go to the start nearest ``prefer``,
    and a drum part's own downbeat (``prefer``) adds ``prefer_weight``: a four-on-the-floor
    kick with snares on 2 and 4 agrees as well half a bar off, the part's kicks say which.
    None when nothing agrees at all."""
    percussive = cues.chroma is None
    table = []
    for rate in rates:
        src_bar = bar_s * rate
        shifts = np.arange(0.0, src_bar, STEP_S)
        onsets = _onset_scores(cues.drums, locked, shifts, rate, percussive)
        purity = _bar_purity(cues.chroma, shifts, src_bar) if not percussive else np.zeros(shifts.size)
        near = np.minimum(np.abs(shifts - prefer % src_bar), src_bar - np.abs(shifts - prefer % src_bar))
        if percussive and prefer_weight > 0:
            onsets = onsets + prefer_weight * np.exp(-0.5 * (near / (0.025 * src_bar)) ** 2)
        table.append((float(rate), shifts, onsets, purity, near))
    if not percussive:
        every = np.concatenate([p for *_, p, _ in table])
        top, mid = float(every.max()), float(np.median(every))
        # A part whose harmony never changes (one note throughout) has nothing to say here.
        weight = HARMONY_WEIGHT * float(np.clip((top - mid) / max(top, 1e-9) / 0.05, 0.0, 1.0))
        table = [(r, s, o + weight * (p - mid) / max(top - mid, 1e-9), p, n) for r, s, o, p, n in table]
    best, best_score = None, -np.inf
    for rate, shifts, score, _, near in table:
        score = score - 1e-4 * near
        i = int(np.argmax(score))
        if score[i] > best_score + 1e-9:
            best, best_score = (rate, float(shifts[i])), float(score[i])
    if best is None or best_score <= 0:
        return None
    if not percussive:
        # The chroma window (~0.19 s) blurs where a note change is by tens of ms; the onsets
        # nearby say exactly where the bar line is.
        # A finer rate too: 0.25% over four bars is tens of ms.
        rate0, start = best
        near = start + np.arange(-REFINE_S, REFINE_S + 1e-9, STEP_S / 5)
        top = (0.0, rate0, start)
        for rate in rate0 * (1 + np.linspace(-0.004, 0.004, 9)):
            onsets = _onset_scores(cues.drums, locked, near, rate, percussive, soft_s=0.025) - 1e-4 * np.abs(near - start)
            onsets -= 1e-3 * abs(rate / rate0 - 1) * 100
            i = int(np.argmax(onsets))
            if onsets[i] > top[0] + 1e-9:
                top = (float(onsets[i]), float(rate), float(near[i]))
        if top[0] > 0:
            best = (top[1], top[2] % (bar_s * top[1]))
    return best


def time_stretch(y: np.ndarray, rate: float, sample_rate: int = 32000) -> np.ndarray:
    """Stretch of mono ``y``: ``rate`` > 1 plays faster (shorter), pitch unchanged."""
    if abs(rate - 1.0) < 1e-4 or y.size < N_FFT:
        return y.astype(np.float32)
    return _stretch(y.astype(np.float32), sample_rate, rate)


def conform_to_grid(y: np.ndarray, sample_rate: int, tempo: float, beats_per_bar: int,
                    num_samples: int, locked_onsets: Mapping[str, np.ndarray] | None = None) -> tuple[np.ndarray, dict]:
    """Mono ``y`` at ``sample_rate`` -> ``[num_samples]`` on the session grid, and what was done."""
    cues = _cues(y, sample_rate)
    grid = _grid(cues, tempo, beats_per_bar)
    deviation = abs(grid.tempo / tempo - 1.0)
    rate = tempo / grid.tempo  # >1: the audio is slower than the session, so speed it up
    bar_s = 60.0 / tempo * beats_per_bar
    refused, source = "", "kicks and accents"
    if grid.clear:
        downbeat = grid.downbeat
        rates = [rate]
        if deviation > MAX_UNCLEAR_DEVIATION:
            # MusicGen was asked for the session tempo: a clear beat far from it may be a
            # syncopated part read at the wrong level, so the locked tracks may say otherwise.
            rates += list(np.linspace(1 - MAX_UNCLEAR_DEVIATION, 1 + MAX_UNCLEAR_DEVIATION, 33))
    else:
        rate, downbeat = 1.0, 0.0
        if deviation > MAX_UNCLEAR_DEVIATION:
            refused = (f"not stretched: the beat is unclear and its tempo estimate ({grid.tempo:.1f} bpm) "
                       f"is {100 * deviation:.0f}% off the session's {tempo:g} bpm")
        # No clear beat of its own: the rate (within a few %) and start that line it up with the
        # locked tracks are the best estimate there is.
        rates = np.linspace(1 - MAX_UNCLEAR_DEVIATION, 1 + MAX_UNCLEAR_DEVIATION, 33)
    if locked_onsets:
        # The phase, not only the beat: a syncopated part's grid can sit half a beat off, so the
        # start is searched over a whole bar for where it meets the locked tracks best.
        found = _search(cues, locked_onsets, bar_s, rates, prefer=downbeat,
                        prefer_weight=OWN_DOWNBEAT_WEIGHT * grid.downbeat_confidence if grid.clear else 0.0)
        if found is not None:
            (rate, downbeat), refused, source = found, "", "locked tracks"
    stretched = time_stretch(y, rate, sample_rate)
    start = int(round(downbeat / rate * sample_rate))
    out = stretched[start: start + num_samples]
    if out.size < num_samples:
        out = np.pad(out, (0, num_samples - out.size))
    report = {"detected_tempo": round(float(grid.tempo), 2), "stretch_rate": round(float(rate), 5),
              "downbeat_s": round(float(downbeat), 4), "beat_strength": round(float(grid.strength), 3),
              "downbeat_from": source}
    if refused:
        report["refused"] = refused
    return out.astype(np.float32), report


def locked_onsets(locked, sample_rate: int) -> dict[str, np.ndarray]:
    """"kick", "snare" and "all" onset times (session seconds) of the locked parts, for
    ``conform_to_grid(..., locked_onsets=...)``: read from each part's ``LockedFeatures`` when
    it has them, else measured on its audio (numpy only, a few ms a second)."""
    out: dict[str, list[np.ndarray]] = {"kick": [], "snare": [], "all": []}
    for part in locked:
        f = getattr(part, "features", None)
        if f is not None:
            kick, snare, every = np.asarray(f.kicks), np.asarray(f.snares), np.asarray(f.onsets)
        else:
            d = detect_drums(part.audio, sample_rate)
            kick, snare, every = d.kick, d.snare, d.all
        out["kick"].append(kick)
        out["snare"].append(snare)
        out["all"].append(every)
    return {k: np.sort(np.concatenate(v)) if v else np.zeros(0) for k, v in out.items()}
