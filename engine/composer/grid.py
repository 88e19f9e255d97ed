"""Time on the beat grid, per-part random streams, and kick onsets found in audio.

Times in the composer are beats (quarter notes). ``onset_times`` is a light low-band onset
detector in plain numpy (no librosa: it costs seconds to import), used to find the kicks of a
locked drum track that was imported as audio and has no notes.
"""

from __future__ import annotations

import zlib
from typing import Iterable

import numpy as np

from engine.theory import Note

KICK_PITCHES = (35, 36)

# Where a kick may sit on the sixteenth grid before it counts as played off the grid.
_SNAP_TOLERANCE_S = 0.015
# An onset must at least double the level of the quiet just before it.
MIN_SWELL = 2.0


def part_rng(seed: int, role: str, index: int = 0) -> np.random.Generator:
    """The random stream for the ``index``-th part of ``role`` generated with ``seed``.

    Derived with crc32 (stable across processes, unlike ``hash()``), so the same seed and
    role always give the same part, and parts of different roles are independent.
    """
    seed = int(seed) % (1 << 64)
    key = zlib.crc32(f"{role}#{index}".encode("utf-8"))
    return np.random.default_rng([seed & 0xFFFFFFFF, seed >> 32, key])


def steps_per_bar(beats_per_bar: float) -> int:
    """Sixteenth-note steps in a bar (4/4 -> 16, 3/4 and 6/8 -> 12, 7/8 -> 14)."""
    return max(1, int(round(beats_per_bar * 4)))


def beats_to_samples(beats: np.ndarray | float, tempo: float, sample_rate: int) -> np.ndarray:
    """Sample index of each time in beats (rounded, so onsets land on one exact sample)."""
    return np.round(np.asarray(beats, dtype=np.float64) * (60.0 / tempo) * sample_rate).astype(np.int64)


def kick_beats_from_notes(notes: Iterable[Note | tuple]) -> np.ndarray:
    """Sorted, de-duplicated start times (beats) of the kick notes among ``notes``.

    Notes may be ``Note``s or plain (pitch, start, duration, velocity) tuples, as takes store them.
    """
    starts = sorted({round(float(n[1]), 6) for n in notes if int(n[0]) in KICK_PITCHES})
    return np.asarray(starts, dtype=np.float64)


def snap_beats(times_s: np.ndarray, tempo: float) -> np.ndarray:
    """Seconds -> beats, moved onto the sixteenth grid where they are within 15 ms of it.

    Onsets played off the grid (a human drummer, swing) keep their own time, rounded to
    a millisecond, so the parts that follow them land with them rather than on the grid.
    """
    beats = np.asarray(times_s, dtype=np.float64) * tempo / 60.0
    grid = np.round(beats * 4.0) / 4.0
    off = np.abs(grid - beats) * 60.0 / tempo
    own = np.round(np.asarray(times_s, dtype=np.float64), 3) * tempo / 60.0
    return np.where(off <= _SNAP_TOLERANCE_S, grid, own)


def kick_beats_from_audio(audio: np.ndarray, sample_rate: int, tempo: float) -> np.ndarray:
    """Kick positions (beats) of a drum recording, from its low-band onsets."""
    times = onset_times(audio, sample_rate, max_hz=150.0)
    if times.size == 0:
        return times
    beats = snap_beats(times, tempo)
    return np.unique(np.round(beats, 6))


def _mono(audio: np.ndarray) -> np.ndarray:
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=1)
    if x.ndim != 1:
        raise ValueError(f"audio must be [N] or [N, channels], not shape {np.shape(audio)}")
    return x


def low_band_power(audio: np.ndarray, sample_rate: int, max_hz: float = 150.0) -> tuple[np.ndarray, float]:
    """Instantaneous power of the band below ``max_hz``, at about sample_rate / 32, and that rate.

    The band is cut in one FFT of the whole signal; the analytic signal is then rebuilt at the
    low rate straight from the kept bins, so its magnitude has no ripple at twice the pitch
    (as a rectified signal would), all for the price of a single FFT.
    """
    x = _mono(audio)
    n = 1 << max(int(np.ceil(np.log2(max(len(x), 64)))), 6)
    spectrum = np.fft.rfft(x, n)
    decimation = 32
    m = n // decimation
    env_rate = sample_rate / decimation
    top_hz = min(2.0 * max_hz, 0.45 * env_rate)
    k_top = int(top_hz * n / sample_rate) + 1
    freqs = np.arange(k_top) * sample_rate / n
    # Flat to max_hz, then a raised-cosine roll-off to top_hz: a gentle edge rings less in time.
    taper = np.clip((top_hz - freqs) / max(top_hz - max_hz, 1e-9), 0.0, 1.0)
    taper = 0.5 - 0.5 * np.cos(np.pi * taper)
    one_sided = np.zeros(m, dtype=np.complex128)
    one_sided[:k_top] = spectrum[:k_top] * taper * 2.0
    one_sided[0] *= 0.5
    analytic = np.fft.ifft(one_sided) * (m / n)
    frames = int(np.ceil(len(x) / decimation))
    return np.abs(analytic[:frames]) ** 2, env_rate


def _smoothed_amplitude(power: np.ndarray, rate: float, seconds: float) -> np.ndarray:
    width = max(3, int(round(seconds * rate)) | 1)
    window = np.hanning(width + 2)[1:-1]
    return np.sqrt(np.convolve(power, window / window.sum(), mode="same"))


def onset_times(
    audio: np.ndarray,
    sample_rate: int,
    *,
    max_hz: float = 150.0,
    min_gap_s: float = 0.06,
    rel_threshold: float = 0.3,
) -> np.ndarray:
    """Onset times (seconds) of the events below ``max_hz``: kicks in a drum track, notes of a bass.

    Onsets are found as sharp rises of an envelope smoothed over 45 ms (a note with several
    partials in the band beats at its own pitch, 41-165 Hz for a bass, and that ripple must
    not read as onsets). Each is then timed on a 4 ms envelope: where it first climbs 30% of
    the way from the quiet before it to the peak after it, within a few ms of the attack.
    """
    power, rate = low_band_power(audio, sample_rate, max_hz)
    if power.size < 8 or float(power.max()) <= 1e-12:
        return np.zeros(0)
    env = _smoothed_amplitude(power, rate, 0.045)
    fine = _smoothed_amplitude(power, rate, 0.004)
    lag = max(1, int(round(0.01 * rate)))
    rise = np.zeros_like(env)
    rise[lag:] = env[lag:] - env[:-lag]
    rise = np.maximum(rise, 0.0)
    threshold = rel_threshold * float(rise.max())
    gap = max(1, int(round(min_gap_s * rate)))
    # Local maxima of the rise above the threshold, strongest first, at least `gap` apart.
    is_peak = rise >= threshold
    is_peak[1:] &= rise[1:] >= rise[:-1]
    is_peak[:-1] &= rise[:-1] > rise[1:]
    candidates = np.flatnonzero(is_peak)
    candidates = candidates[np.argsort(-rise[candidates], kind="stable")]
    taken = np.zeros(env.size, dtype=bool)
    kept: list[int] = []
    for idx in candidates:
        lo, hi = max(0, idx - gap), min(env.size, idx + gap + 1)
        if taken[lo:hi].any():
            continue
        taken[idx] = True
        kept.append(int(idx))
    before, after = int(round(0.05 * rate)), int(round(0.03 * rate))
    times = []
    for idx in sorted(kept):
        lo = max(0, idx - before)
        base_at = lo + int(np.argmin(fine[lo: idx + 1]))
        top = float(fine[base_at: idx + after + 1].max())
        if top < MIN_SWELL * fine[base_at]:
            continue  # a swell of a sound already ringing (two kicks beating), not a new attack
        level = fine[base_at] + 0.3 * (top - fine[base_at])
        above = np.flatnonzero(fine[base_at: idx + after + 1] >= level)
        times.append((base_at + int(above[0])) / rate)
    return np.asarray(times, dtype=np.float64)
