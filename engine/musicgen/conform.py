"""Fit generated audio to the session grid: find its beat, stretch it to the session tempo, put
its first downbeat on bar one.

Plain numpy (no librosa import cost on the engine thread): a spectral-flux onset envelope, a
comb search over beat period and phase near the session tempo (tempo octaves folded in), the
strongest beat of the first bar as the downbeat, and a phase-vocoder time stretch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_FFT = 2048
HOP = 256
MIN_BEAT_STRENGTH = 12.0
"""Below this (noise scores ~5-9, a click track ~17-30) the audio is left unstretched."""


@dataclass(frozen=True)
class BeatGrid:
    tempo: float
    """Detected beats per minute, folded into [0.7, 1.4] x the session tempo."""
    first_beat: float
    """Seconds to the first beat."""
    downbeat: float
    """Seconds to the first downbeat (the beat that starts a bar)."""
    strength: float
    """How far the best grid's onsets stand out from a typical grid's, in standard errors."""


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


def _comb(env: np.ndarray, period: float, phases: np.ndarray) -> np.ndarray:
    """Mean envelope on the grids ``phase + k * period`` (frames, interpolated), per phase."""
    count = int((env.size - 1 - phases.max()) // period) + 1
    if count < 2:
        return np.zeros(phases.size)
    times = phases[:, None] + np.arange(count)[None, :] * period
    return np.interp(times, np.arange(env.size), env).mean(axis=1)


def track_beats(y: np.ndarray, sample_rate: int, target_tempo: float, beats_per_bar: int) -> BeatGrid:
    """Estimate tempo, beat phase and downbeat of mono ``y`` near ``target_tempo``."""
    env = onset_envelope(y, sample_rate)
    fps = sample_rate / HOP
    best = (-np.inf, 60.0 / target_tempo * fps, 0.0)
    all_scores = []
    for bpm in target_tempo * np.geomspace(0.7, 1.4, 240):
        period = 60.0 / bpm * fps
        phases = np.linspace(0.0, period, max(8, int(period)), endpoint=False)
        scores = _comb(env, period, phases)
        all_scores.append(scores)
        i = int(np.argmax(scores))
        if scores[i] > best[0]:
            best = (scores[i], period, phases[i])
    score, period, phase = best
    count = max(1, int((env.size - 1 - phase) // period) + 1)
    beats = phase + np.arange(count) * period
    strengths = np.interp(beats, np.arange(env.size), env)
    accents = [strengths[j::beats_per_bar].mean() if strengths[j::beats_per_bar].size else -np.inf
               for j in range(min(beats_per_bar, count))]
    down = int(np.argmax(accents))
    # How far the winning grid stands out, in standard errors of a grid mean of this many beats.
    typical = float(np.median(np.concatenate(all_scores)))
    standard_error = (np.std(env) + 1e-9) / np.sqrt(count)
    return BeatGrid(
        tempo=float(60.0 * fps / period),
        first_beat=float(phase / fps),
        downbeat=float((phase + down * period) / fps),
        strength=float((score - typical) / standard_error) if np.isfinite(score) else 0.0,
    )


def time_stretch(y: np.ndarray, rate: float) -> np.ndarray:
    """Phase-vocoder stretch of mono ``y``: ``rate`` > 1 plays faster (shorter), pitch unchanged."""
    if abs(rate - 1.0) < 1e-4 or y.size < N_FFT:
        return y.astype(np.float32)
    hop = N_FFT // 4
    spec = _stft(y.astype(np.float64), N_FFT, hop)
    bins, frames = spec.shape
    steps = np.arange(0.0, frames - 1, rate)
    advance = np.linspace(0.0, np.pi * hop, bins)
    phase = np.angle(spec[:, 0])
    padded = np.concatenate([spec, np.zeros((bins, 1))], axis=1)
    out = np.empty((bins, steps.size), dtype=np.complex128)
    for i, t in enumerate(steps):
        left, right = padded[:, int(t)], padded[:, int(t) + 1]
        alpha = t - int(t)
        out[:, i] = ((1 - alpha) * np.abs(left) + alpha * np.abs(right)) * np.exp(1j * phase)
        delta = np.angle(right) - np.angle(left) - advance
        delta -= 2.0 * np.pi * np.round(delta / (2.0 * np.pi))
        phase = phase + advance + delta
    return _istft(out, hop, int(round(y.size / rate)))


def _istft(spec: np.ndarray, hop: int, length: int) -> np.ndarray:
    window = np.hanning(N_FFT + 1)[:-1]
    frames = spec.shape[1]
    total = N_FFT + hop * (frames - 1)
    out = np.zeros(total)
    norm = np.zeros(total)
    chunks = np.fft.irfft(spec.T, n=N_FFT, axis=-1) * window
    for i in range(frames):
        out[i * hop: i * hop + N_FFT] += chunks[i]
        norm[i * hop: i * hop + N_FFT] += window ** 2
    out = out / np.maximum(norm, 1e-8)
    out = out[N_FFT // 2:]
    if out.size < length:
        out = np.pad(out, (0, length - out.size))
    return out[:length].astype(np.float32)


def conform_to_grid(y: np.ndarray, sample_rate: int, tempo: float, beats_per_bar: int,
                    num_samples: int) -> tuple[np.ndarray, dict]:
    """Mono ``y`` at ``sample_rate`` -> ``[num_samples]`` on the session grid, and what was done."""
    grid = track_beats(y, sample_rate, tempo, beats_per_bar)
    rate = tempo / grid.tempo  # >1: the audio is slower than the session, so speed it up
    if grid.strength < MIN_BEAT_STRENGTH:  # no clear beat: leave timing alone rather than stretch at random
        rate, downbeat = 1.0, 0.0
    else:
        downbeat = grid.downbeat
    stretched = time_stretch(y, rate)
    start = int(round(downbeat / rate * sample_rate))
    out = stretched[start: start + num_samples]
    if out.size < num_samples:
        out = np.pad(out, (0, num_samples - out.size))
    report = {"detected_tempo": round(float(grid.tempo), 2), "stretch_rate": round(float(rate), 5),
              "downbeat_s": round(float(downbeat), 4), "beat_strength": round(float(grid.strength), 3)}
    return out.astype(np.float32), report
