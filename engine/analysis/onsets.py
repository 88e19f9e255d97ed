"""Spectrogram, onset envelope and onset picking in plain numpy (+ soxr to resample).

Shared by the beat tracker, the drum-voice detector and the MusicGen conform step, so that
analysis, import and conform hear the same onsets. No librosa here: importing it costs seconds
and the engine thread calls these on every generation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RATE = 22050
N_FFT = 1024
HOP = 128
FPS = RATE / HOP
"""Frames per second of every envelope here (~172, 5.8 ms a frame)."""


def mono_at_rate(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """``[N]`` or ``[N, C]`` at any rate -> mono float64 ``[M]`` at ``RATE``."""
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=1)
    if x.ndim != 1:
        raise ValueError(f"audio must be [N] or [N, channels], not shape {np.shape(audio)}")
    x = np.nan_to_num(x)
    if int(sample_rate) != RATE and x.size:
        import soxr

        x = soxr.resample(x, int(sample_rate), RATE, quality="HQ")
    return x.astype(np.float64)


@dataclass(frozen=True, eq=False)
class Spectrogram:
    """Magnitudes ``[bins, frames]``; frame ``i`` is centred at ``i / FPS`` seconds."""

    mag: np.ndarray
    freqs: np.ndarray

    @property
    def frames(self) -> int:
        return int(self.mag.shape[1])

    def band(self, lo_hz: float, hi_hz: float) -> np.ndarray:
        """Power per frame in ``[lo_hz, hi_hz)``."""
        sel = (self.freqs >= lo_hz) & (self.freqs < hi_hz)
        return np.square(self.mag[sel]).sum(axis=0)


def spectrogram(y: np.ndarray) -> Spectrogram:
    """STFT magnitude of mono ``y`` at ``RATE`` (Hann window, centred frames)."""
    if y.size < N_FFT:
        y = np.pad(y, (0, N_FFT - y.size))
    window = np.hanning(N_FFT + 1)[:-1]
    padded = np.pad(y, (N_FFT // 2, N_FFT // 2))
    frames = 1 + (padded.size - N_FFT) // HOP
    mags = []
    # In blocks, so an import of minutes never builds one giant frame matrix.
    for start in range(0, frames, 4096):
        idx = (np.arange(start, min(frames, start + 4096))[:, None] * HOP) + np.arange(N_FFT)[None, :]
        mags.append(np.abs(np.fft.rfft(padded[idx] * window, axis=-1)).T.astype(np.float32))
    mag = np.concatenate(mags, axis=1)
    return Spectrogram(mag, np.fft.rfftfreq(N_FFT, 1.0 / RATE))


def flux(spec: Spectrogram, lo_hz: float = 0.0, hi_hz: float = RATE / 2) -> np.ndarray:
    """Positive log-magnitude spectral flux per frame over the bins in ``[lo_hz, hi_hz)``."""
    sel = (spec.freqs >= lo_hz) & (spec.freqs < hi_hz)
    mag = np.log1p(100.0 * spec.mag[sel].astype(np.float64))
    # Silence before the first frame, so a hit at the very start is an onset too.
    out = np.maximum(0.0, np.diff(mag, axis=1, prepend=0.0)).sum(axis=0)
    return out


def detrend(env: np.ndarray, seconds: float = 0.1) -> np.ndarray:
    """The envelope minus its local mean (floored at 0): steady loudness is not an onset."""
    width = max(3, int(round(seconds * FPS)))
    return np.maximum(0.0, env - np.convolve(env, np.ones(width) / width, mode="same"))


def onset_envelope(spec: Spectrogram) -> np.ndarray:
    """The whole-band onset strength used for beat tracking (detrended flux)."""
    return detrend(flux(spec))


def pick_onsets(env: np.ndarray, threshold: float = 0.12, min_gap_s: float = 0.045) -> np.ndarray:
    """Frames of local maxima above ``threshold`` x the envelope's 99th percentile, at least
    ``min_gap_s`` apart (strongest first)."""
    if env.size < 3:
        return np.zeros(0, dtype=int)
    ref = float(np.percentile(env, 99.5)) or float(env.max())
    if ref <= 0:
        return np.zeros(0, dtype=int)
    is_peak = np.zeros(env.size, dtype=bool)
    is_peak[1:-1] = (env[1:-1] >= env[:-2]) & (env[1:-1] > env[2:]) & (env[1:-1] >= threshold * ref)
    is_peak[0] = env[0] > env[1] and env[0] >= threshold * ref
    cand = np.flatnonzero(is_peak)
    cand = cand[np.argsort(-env[cand], kind="stable")]
    gap = max(1, int(round(min_gap_s * FPS)))
    taken = np.zeros(env.size, dtype=bool)
    kept = []
    for i in cand:
        if taken[max(0, i - gap): i + gap + 1].any():
            continue
        taken[i] = True
        kept.append(int(i))
    return np.array(sorted(kept), dtype=int)


def frames_to_seconds(frames: np.ndarray) -> np.ndarray:
    return np.asarray(frames, dtype=np.float64) / FPS
