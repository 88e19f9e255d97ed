"""Fit generated audio to the session grid: find its beat, stretch it to the session tempo, put
its first downbeat on bar one.

It uses the project's one beat tracker (``engine.analysis.beats``) and drum-voice detector, so a
generated part is read the way an import is. The downbeat is the one whose onsets agree best
with the locked tracks' onsets (kicks with kicks, snares with snares, any onset with any), not
the loudest beat, which in a syncopated part is often the backbeat; without locked tracks it is
the bar position that carries the kicks and not the snares. When the beat estimate disagrees
with the session tempo by more than ``MAX_UNCLEAR_DEVIATION`` and the beat is not clear, the
audio is not stretched, and the report says so. Stretching is Rubber Band's (``engine.stretch``).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from engine.analysis.beats import CLEAR_BEAT, BeatGrid
from engine.analysis.beats import track_beats as _track
from engine.analysis.drum_onsets import detect_drums
from engine.analysis.onsets import mono_at_rate, spectrogram
from engine.stretch import time_stretch as _stretch

N_FFT = 2048
HOP = 256
MIN_BEAT_STRENGTH = CLEAR_BEAT
MAX_UNCLEAR_DEVIATION = 0.04
"""An unclear beat may be nudged by this much at most; beyond it the estimate is not trusted."""
AGREE_S = 0.035


def _stft(y: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    window = np.hanning(n_fft + 1)[:-1]
    padded = np.pad(y, (n_fft // 2, n_fft // 2))
    frames = 1 + (padded.size - n_fft) // hop
    idx = np.arange(frames)[:, None] * hop + np.arange(n_fft)[None, :]
    return np.fft.rfft(padded[idx] * window, axis=-1).T  # [bins, frames]


def onset_envelope(y: np.ndarray, sample_rate: int) -> np.ndarray:
    """Positive spectral flux of the log-magnitude spectrum, one value per ``HOP`` samples."""
    if y.size < N_FFT:
        y = np.pad(y, (0, N_FFT - y.size))
    mag = np.log1p(100.0 * np.abs(_stft(y.astype(np.float64), N_FFT, HOP)))
    flux = np.maximum(0.0, np.diff(mag, axis=1)).sum(axis=0)
    flux = np.concatenate([[0.0], flux])
    return flux - np.convolve(flux, np.ones(16) / 16, mode="same")  # remove the slow trend


def track_beats(y: np.ndarray, sample_rate: int, target_tempo: float, beats_per_bar: int,
                locked_onsets: Mapping[str, np.ndarray] | None = None) -> BeatGrid:
    """Tempo (folded near ``target_tempo``), beat phase and downbeat of mono ``y``.

    ``locked_onsets`` maps "kick", "snare" and "all" to onset times (seconds, session time) of
    the locked tracks; the downbeat is then the one that lines this audio up with them.
    """
    spec = spectrogram(mono_at_rate(y, sample_rate))
    drums = detect_drums(y, sample_rate)
    grid = _track(spec, beats_per_bar, drums=drums, near_tempo=target_tempo, onset_times=drums.all)
    if locked_onsets:
        down = _agreeing_downbeat(grid, drums, locked_onsets, target_tempo, beats_per_bar)
        if down is not None:
            from dataclasses import replace

            grid = replace(grid, downbeat=down, level_reason=grid.level_reason + "+locked")
    return grid


def _agreement(mine: np.ndarray, theirs: np.ndarray) -> float:
    if mine.size == 0 or theirs.size == 0:
        return 0.0
    d = np.abs(mine[:, None] - theirs[None, :]).min(axis=1)
    return float(np.mean(d <= AGREE_S))


def _agreeing_downbeat(grid: BeatGrid, drums, locked: Mapping[str, np.ndarray], tempo: float,
                       bpb: int) -> float | None:
    """The beat among the first bar's that, put on bar one, lines up best with ``locked``."""
    rate = tempo / grid.tempo if grid.clear or abs(tempo / grid.tempo - 1) <= MAX_UNCLEAR_DEVIATION else 1.0
    horizon = {k: np.asarray(v, dtype=np.float64) for k, v in locked.items()}
    best, best_score = None, -1.0
    for k in range(bpb):
        d = grid.first_beat + k * grid.period
        score = 0.0
        for voice, mine, weight in (("kick", drums.kick, 2.0), ("snare", drums.snare, 1.5), ("all", drums.all, 1.0)):
            theirs = horizon.get(voice)
            if theirs is None or theirs.size == 0:
                continue
            placed = (np.asarray(mine) - d) / rate
            placed = placed[(placed >= -AGREE_S) & (placed <= float(theirs.max()) + AGREE_S)]
            score += weight * _agreement(placed, theirs)
        if score > best_score + 1e-9:
            best, best_score = d, score
    return best if best_score > 0 else None


def _fit_to_locked(y: np.ndarray, sample_rate: int, locked: Mapping[str, np.ndarray],
                   bar_s: float) -> tuple[float, float] | None:
    """(rate within +-``MAX_UNCLEAR_DEVIATION``, start seconds) that best line this audio's
    onsets up with the locked kicks and onsets: binned onset trains (10 ms), cross-correlated
    at each candidate rate. None when the locked tracks have too few onsets to say."""
    theirs = np.concatenate([np.asarray(locked.get("kick", np.zeros(0))), np.asarray(locked.get("all", np.zeros(0)))])
    if theirs.size < 8:
        return None
    mine = detect_drums(y, sample_rate).all
    if mine.size < 4:
        return None
    step = 0.01
    n = int(np.ceil(max(float(theirs.max()), float(mine.max())) / step)) + 8
    ref = np.zeros(n)
    np.add.at(ref, np.clip(np.round(theirs / step).astype(int), 0, n - 1), 1.0)
    ref = np.convolve(ref, np.ones(7), mode="same")  # +-30 ms
    max_lag = int(bar_s / step) + 1
    best = (-1.0, 1.0, 0.0)
    for rate in np.linspace(1 - MAX_UNCLEAR_DEVIATION, 1 + MAX_UNCLEAR_DEVIATION, 33):
        for lag in range(max_lag):
            shift = lag * step
            placed = np.round(((mine - shift) / rate) / step).astype(int)
            placed = placed[(placed >= 0) & (placed < n)]
            score = float(np.minimum(ref[placed], 1.0).sum())
            if score > best[0] + 1e-9:
                best = (score, float(rate), shift)
    return (best[1], best[2]) if best[0] > 0 else None


def _best_offset(y: np.ndarray, sample_rate: int, locked: Mapping[str, np.ndarray], bar_s: float,
                 rate: float = 1.0, prefer: float = 0.0) -> float:
    """The start (seconds of ``y``, within its first bar) at which its onsets, played ``rate``
    x faster, agree best with the locked tracks', searched every 5 ms (ties go to ``prefer``)."""
    drums = detect_drums(y, sample_rate)
    best, best_score = prefer % bar_s if bar_s > 0 else 0.0, -1.0
    shifts = np.arange(0.0, bar_s, 0.005)
    shifts = shifts[np.argsort(np.abs(shifts - best))]  # nearest the tracker's choice first
    for shift in shifts:
        score = 0.0
        # Kicks with kicks, snares with snares, any onset with any, and any onset with the
        # kicks (a bass or a keys part plays with the kick more than with the hats).
        for voice, mine, weight in (("kick", drums.kick, 2.0), ("snare", drums.snare, 1.5), ("all", drums.all, 1.0),
                                    ("kick", drums.all, 1.0)):
            theirs = np.asarray(locked.get(voice, np.zeros(0)))
            if theirs.size:
                placed = (np.asarray(mine) - shift) / rate
                placed = placed[(placed >= -AGREE_S) & (placed <= float(theirs.max()) + AGREE_S)]
                score += weight * _agreement(placed, theirs)
        if score > best_score + 1e-9:
            best, best_score = float(shift), score
    return best


def time_stretch(y: np.ndarray, rate: float, sample_rate: int = 32000) -> np.ndarray:
    """Stretch of mono ``y``: ``rate`` > 1 plays faster (shorter), pitch unchanged."""
    if abs(rate - 1.0) < 1e-4 or y.size < N_FFT:
        return y.astype(np.float32)
    return _stretch(y.astype(np.float32), sample_rate, rate)


def conform_to_grid(y: np.ndarray, sample_rate: int, tempo: float, beats_per_bar: int,
                    num_samples: int, locked_onsets: Mapping[str, np.ndarray] | None = None) -> tuple[np.ndarray, dict]:
    """Mono ``y`` at ``sample_rate`` -> ``[num_samples]`` on the session grid, and what was done."""
    grid = track_beats(y, sample_rate, tempo, beats_per_bar, locked_onsets)
    deviation = abs(grid.tempo / tempo - 1.0)
    rate = tempo / grid.tempo  # >1: the audio is slower than the session, so speed it up
    refused = ""
    if grid.strength < MIN_BEAT_STRENGTH and deviation > MAX_UNCLEAR_DEVIATION:
        refused = (f"not stretched: the beat is unclear and its tempo estimate ({grid.tempo:.1f} bpm) "
                   f"is {100 * deviation:.0f}% off the session's {tempo:g} bpm")
        rate, downbeat = 1.0, 0.0
    elif grid.strength < MIN_BEAT_STRENGTH:
        rate, downbeat = 1.0, grid.downbeat if locked_onsets else 0.0
    else:
        downbeat = grid.downbeat
    if locked_onsets and grid.strength < MIN_BEAT_STRENGTH:
        # No clear beat of its own: the rate (within a few %) and start that line its onsets up
        # with the locked tracks' are the best estimate there is.
        fitted = _fit_to_locked(y, sample_rate, locked_onsets, 60.0 / tempo * beats_per_bar)
        if fitted is not None:
            rate, downbeat = fitted
            refused = ""
    elif locked_onsets:
        # The phase, not only the beat: a syncopated part's grid can sit half a beat off, so the
        # start is searched over a whole bar for where its onsets meet the locked tracks' best.
        bar_s = 60.0 / tempo * beats_per_bar * rate
        downbeat = _best_offset(y, sample_rate, locked_onsets, bar_s, rate, prefer=downbeat)
    stretched = time_stretch(y, rate, sample_rate)
    start = int(round(downbeat / rate * sample_rate))
    out = stretched[start: start + num_samples]
    if out.size < num_samples:
        out = np.pad(out, (0, num_samples - out.size))
    report = {"detected_tempo": round(float(grid.tempo), 2), "stretch_rate": round(float(rate), 5),
              "downbeat_s": round(float(downbeat), 4), "beat_strength": round(float(grid.strength), 3),
              "downbeat_from": "locked tracks" if "+locked" in grid.level_reason else "kicks and accents"}
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
