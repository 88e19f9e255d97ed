"""Gain, pan, mute and solo into a stereo float32 mix; stems of the same length."""

from __future__ import annotations

import os

import numpy as np

from tracks.session import Session
from tracks.track import Track


def _fit(audio: np.ndarray, n: int) -> np.ndarray:
    if audio.shape[0] >= n:
        return audio[:n]
    out = np.zeros((n, 2), dtype=np.float32)
    out[: audio.shape[0]] = audio
    return out


def pan_gains(pan: float) -> tuple[float, float]:
    """Equal-power pan law, scaled so centre is unity: ``L² + R² = 2`` at every position, so a
    mono source keeps its loudness as it moves; hard left gives (√2, 0), +3 dB on the left."""
    angle = (pan + 1.0) * np.pi / 4.0
    return float(np.cos(angle) * np.sqrt(2.0)), float(np.sin(angle) * np.sqrt(2.0))


def track_signal(track: Track, num_samples: int) -> np.ndarray:
    """The track's active take with its gain and pan applied, ``num_samples`` long."""
    take = track.active_take
    if take is None:
        return np.zeros((num_samples, 2), dtype=np.float32)
    gain = 10.0 ** (track.gain_db / 20.0)
    left, right = pan_gains(track.pan)
    # Centre pan is unity on both channels so an unpanned stem equals its take.
    if track.pan == 0.0:
        left = right = 1.0
    scale = np.array([gain * left, gain * right], dtype=np.float32)
    return _fit(take.audio, num_samples) * scale


def render_bytes(session: Session, extra_per_frame: int = 0) -> int:
    """Bytes that rendering the stems and the mix holds at once (plus ``extra_per_frame``
    bytes per frame of the caller's own), to refuse a render that cannot fit before starting it."""
    stems = sum(1 for t in session.audible_tracks() if t.active_take is not None)
    return session.num_samples * (8 * (stems + 1) + extra_per_frame)


def memory_budget() -> int:
    """Half the machine's physical memory (8 GiB where it cannot be read): what one render may use."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2)
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def render_stems(session: Session) -> list[tuple[Track, np.ndarray]]:
    """One processed signal per audible track that has a take, all ``session.num_samples`` long."""
    n = session.num_samples
    return [(t, track_signal(t, n)) for t in session.audible_tracks() if t.active_take is not None]


def render_mix(session: Session, stems: list[tuple[Track, np.ndarray]] | None = None) -> np.ndarray:
    """Sum of the audible stems, float32 ``[N, 2]``; not clipped or normalised here."""
    n = session.num_samples
    mix = np.zeros((n, 2), dtype=np.float32)
    for _, signal in stems if stems is not None else render_stems(session):
        mix += signal
    return mix
