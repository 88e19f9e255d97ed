"""Synthesised drum hits, one waveform per General MIDI drum, cached.

Each hit is computed once per (drum, sample rate, kit, tuning) and reused for every note of
that drum, scaled by velocity: a drum part is then a few hundred slice additions. Noise comes
from a generator seeded by the drum's pitch, so every hit of a drum is the same waveform on
every machine. Every pitched part of the kit (kick body, snare shell, toms, rim) is tuned to the
key's tonic and fifth, a common production habit that also keeps the drums from pulling the
mix toward another key; the kick is a pure sine sweep, with no distortion partials (a 5th
harmonic would sound the tonic's major third).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

KITS = ("kit", "808_kit")

# Toms sit on the tonic, its fifth and its octave above the kick (no third: they fit major
# and minor keys alike).
_TOM_SEMITONES = {41: 12, 43: 19, 45: 12, 47: 19, 48: 24, 50: 24}
PAN = {36: 0.0, 35: 0.0, 37: -0.15, 38: 0.0, 40: 0.0, 39: 0.05, 42: 0.25, 44: 0.25, 46: 0.3,
       49: -0.3, 57: 0.35, 51: 0.3, 41: -0.35, 43: -0.25, 45: -0.15, 47: 0.05, 48: 0.2, 50: 0.35}


def _noise(seed: int, n: int) -> np.ndarray:
    return np.random.default_rng(1000 + seed).standard_normal(n).astype(np.float64)


def _highpass(x: np.ndarray, times: int = 1) -> np.ndarray:
    """A crude high-pass: repeated first differences (each adds +6 dB/octave of tilt)."""
    for _ in range(times):
        x = np.diff(x, prepend=0.0)
    return x / (np.abs(x).max() + 1e-12)


def _sweep(t: np.ndarray, f_end: float, f_start: float, tau: float) -> np.ndarray:
    """sin of a pitch falling exponentially from f_start to f_end (phase integrated exactly)."""
    phase = 2 * np.pi * (f_end * t + (f_start - f_end) * tau * (1.0 - np.exp(-t / tau)))
    return np.sin(phase)


def kick_hz(tonic_pc: int) -> float:
    """The kick's body pitch: the tonic between G1 and F#2 (49-93 Hz).

    Lower, a short swept tone smears over several semitones in a key analysis (and sounds
    as a rumble more than a pitch); tuned to the tonic it says the key as the bass does.
    """
    midi = 31 + ((tonic_pc - 7) % 12)  # G1 = 31 .. F#2 = 42
    return 440.0 * 2.0 ** ((midi - 69) / 12.0)


def _kick(sr: int, kit: str, tonic_pc: int) -> np.ndarray:
    long = kit == "808_kit"
    n = int(sr * (0.9 if long else 0.45))
    t = np.arange(n) / sr
    f = kick_hz(tonic_pc)
    # A fast sweep: the pitch settles on the tonic within ~40 ms, so the kick reads as the
    # tonic rather than as the notes the sweep passes through.
    body = _sweep(t, f, f * 3.5, 0.01 if not long else 0.015)
    amp = (1.0 - np.exp(-t / 0.0008)) * np.exp(-t / (0.45 if long else 0.17))
    # A broadband click on the attack, as on a 909: it is what makes the kick's onset
    # stand out across the spectrum, not only in the low band where the body sits.
    click = _highpass(_noise(36, n), 1) * np.exp(-t / 0.004) * 0.6
    return body * amp + click


def _snare(sr: int, tonic_pc: int) -> np.ndarray:
    n = int(sr * 0.3)
    t = np.arange(n) / sr
    f = kick_hz(tonic_pc) * 4.0  # the tonic two octaves above the kick: 165-311 Hz
    tone = (np.sin(2 * np.pi * f * t) + 0.5 * np.sin(2 * np.pi * 1.5 * f * t)) * np.exp(-t / 0.05)
    noise = _highpass(_noise(38, n), 1) * np.exp(-t / 0.11)
    return 0.55 * tone + 0.8 * noise

def _clap(sr: int) -> np.ndarray:
    n = int(sr * 0.35)
    t = np.arange(n) / sr
    raw = _highpass(_noise(39, n), 1)
    band = np.convolve(raw, np.ones(3) / 3, mode="same")  # soften the very top
    env = np.zeros(n)
    for at in (0.0, 0.011, 0.022):
        env += np.where(t >= at, np.exp(-np.maximum(t - at, 0) / 0.005), 0.0)
    env += np.where(t >= 0.03, 0.8 * np.exp(-np.maximum(t - 0.03, 0) / 0.1), 0.0)
    return band * env / (np.abs(band * env).max() + 1e-12)


def _hat(sr: int, pitch: int, decay: float, length: float) -> np.ndarray:
    n = int(sr * length)
    t = np.arange(n) / sr
    return _highpass(_noise(pitch, n), 2) * np.exp(-t / decay)


def _tom(sr: int, pitch: int, tonic_pc: int) -> np.ndarray:
    n = int(sr * 0.4)
    t = np.arange(n) / sr
    f = kick_hz(tonic_pc) * 2.0 ** (_TOM_SEMITONES[pitch] / 12.0)
    body = _sweep(t, f, f * 1.6, 0.05) * np.exp(-t / 0.18)
    return body + 0.15 * _highpass(_noise(pitch, n), 1) * np.exp(-t / 0.03)


def _rim(sr: int, tonic_pc: int) -> np.ndarray:
    n = int(sr * 0.08)
    t = np.arange(n) / sr
    f = kick_hz(tonic_pc) * 16.0  # the tonic four octaves up: 659-1245 Hz
    tone = (np.sin(2 * np.pi * f * t) + 0.6 * np.sin(2 * np.pi * 1.5 * f * t)) * np.exp(-t / 0.012)
    return tone + 0.3 * _highpass(_noise(37, n), 1) * np.exp(-t / 0.004)


@lru_cache(maxsize=128)
def drum_hit(pitch: int, sample_rate: int, kit: str = "kit", tonic_pc: int = 9) -> np.ndarray:
    """The waveform of one full-velocity hit of GM drum ``pitch`` (read-only float32, peak 1)."""
    sr = int(sample_rate)
    if pitch in (35, 36):
        wave = _kick(sr, kit, tonic_pc)
    elif pitch in (38, 40):
        wave = _snare(sr, tonic_pc)
    elif pitch == 39:
        wave = _clap(sr)
    elif pitch in (42, 44):
        wave = _hat(sr, pitch, 0.022 if kit == "kit" else 0.018, 0.12)
    elif pitch == 46:
        wave = _hat(sr, pitch, 0.16, 0.6)
    elif pitch in (49, 57):
        wave = _hat(sr, pitch, 0.55, 2.0)
    elif pitch == 51:
        wave = _hat(sr, pitch, 0.3, 1.0) * 0.7
    elif pitch in _TOM_SEMITONES:
        wave = _tom(sr, pitch, tonic_pc)
    else:
        wave = _rim(sr, tonic_pc)
    wave = wave / (np.abs(wave).max() + 1e-12)
    # Fade the last millisecond so truncated tails end without a click.
    fade = min(len(wave), max(1, sr // 1000))
    wave[-fade:] *= np.linspace(1.0, 0.0, fade)
    out = wave.astype(np.float32)
    out.flags.writeable = False
    return out


# Relative loudness of each drum in the kit, so the kick and backbeat lead.
LEVEL = {35: 1.0, 36: 1.0, 37: 0.35, 38: 0.7, 40: 0.7, 39: 0.5, 42: 0.28, 44: 0.28, 46: 0.3,
         49: 0.35, 57: 0.35, 51: 0.22, 41: 0.6, 43: 0.6, 45: 0.6, 47: 0.6, 48: 0.6, 50: 0.6}
