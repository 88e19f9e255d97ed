"""A small numpy synth: band-limited wavetable oscillators, envelopes and the tonal voices.

A voice turns (MIDI pitch, held samples, sample rate) into one note's waveform, release tail
included: mono ``[M]`` or stereo ``[M, 2]`` float32. Oscillators read precomputed one-cycle
tables that hold only the harmonics below Nyquist for the note, so high notes do not alias;
a "filter sweep" is a crossfade from a bright table to a dark one, which costs one lookup
per table instead of a recursive filter run sample by sample.

The saw and square tables keep only the partials that sound an octave, fifth or ninth of the
note (1, 2, 3, 4, 6, 8, 9, 12, 16, ...). The others (the 5th partial is the note's major
third, the 7th a flat seventh) give every chord tone a third of its own, which blurs the key a
mix is heard in: a bass A with a loud C# partial pulls an A minor piece toward A major. What
remains still sounds like a bright analogue wave, close to an organ's drawbars.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

import numpy as np

TABLE_SIZE = 4096
_MASK = TABLE_SIZE - 1


def midi_hz(pitch: float) -> float:
    return 440.0 * 2.0 ** ((pitch - 69.0) / 12.0)


def _consonant(k: np.ndarray) -> np.ndarray:
    """Partials a power of two times 1, 3 or 9: octaves, fifths and ninths of the fundamental."""
    odd = k.copy()
    while np.any(odd % 2 == 0):
        odd = np.where(odd % 2 == 0, odd // 2, odd)
    return np.isin(odd, (1, 3, 9))


@lru_cache(maxsize=256)
def wavetable(shape: str, harmonics: int) -> np.ndarray:
    """One cycle of ``shape`` built from its first ``harmonics`` partials, peak 1 (float32)."""
    k = np.arange(1, max(1, harmonics) + 1)
    if shape == "saw":
        amps = np.where(_consonant(k), 1.0 / k, 0.0)
    elif shape == "square":
        amps = np.where((k % 2 == 1) & _consonant(k), 1.0 / k, 0.0)
    elif shape == "triangle":
        amps = np.where(k % 2 == 1, (-1.0) ** ((k - 1) // 2) / k**2, 0.0)
    elif shape == "organ":
        drawbars = {1: 1.0, 2: 0.75, 3: 0.55, 4: 0.4, 6: 0.25, 8: 0.2}
        amps = np.array([drawbars.get(int(i), 0.0) for i in k])
    elif shape == "piano":
        amps = np.where(_consonant(k), 1.0 / k**1.4, 0.0)
    else:
        raise ValueError(f"unknown wavetable shape {shape!r}")
    spectrum = np.zeros(TABLE_SIZE // 2 + 1, dtype=np.complex128)
    spectrum[1: len(amps) + 1] = -1j * amps * TABLE_SIZE / 2
    table = np.fft.irfft(spectrum, TABLE_SIZE)
    table = (table / np.abs(table).max()).astype(np.float32)
    table.flags.writeable = False
    return table


_FRACTION_BITS = 16
_ramp = np.arange(1 << 16, dtype=np.int64)


def _sample_ramp(n: int) -> np.ndarray:
    """0, 1, ..., n-1 as int64, sliced from a shared array that grows as needed (never written)."""
    global _ramp
    if n > _ramp.size:
        _ramp = np.arange(max(n, 2 * _ramp.size), dtype=np.int64)
    return _ramp[:n]


def _phase_index(hz: float, n: int, sr: int, phase: float = 0.0) -> np.ndarray:
    """Table index of each sample, in fixed point (16 fractional bits): exact, and 5x quicker
    than the same sum in floating point followed by a cast."""
    increment = int(round(hz * TABLE_SIZE / sr * (1 << _FRACTION_BITS)))
    start = int(round(phase * TABLE_SIZE * (1 << _FRACTION_BITS)))
    return ((_sample_ramp(n) * increment + start) >> _FRACTION_BITS) & _MASK


def osc(shape: str, hz: float, n: int, sr: int, max_harmonics: int = 32, phase: float = 0.0) -> np.ndarray:
    """``n`` samples of a band-limited ``shape`` oscillator at ``hz``."""
    harmonics = max(1, min(max_harmonics, int(0.45 * sr / hz)))
    return wavetable(shape, harmonics).take(_phase_index(hz, n, sr, phase))


def sine(hz: float, n: int, sr: int, phase: float = 0.0) -> np.ndarray:
    return osc("saw", hz, n, sr, 1, phase)  # a saw cut to its first partial is a sine


def swept_osc(shape: str, hz: float, n: int, sr: int, bright: int, dark: int, brightness: np.ndarray) -> np.ndarray:
    """An oscillator whose tone moves from ``bright`` to ``dark`` harmonics as ``brightness`` (1..0) falls."""
    limit = max(1, int(0.45 * sr / hz))
    idx = _phase_index(hz, n, sr)
    lo = wavetable(shape, max(1, min(dark, limit))).take(idx)
    hi = wavetable(shape, max(1, min(bright, limit))).take(idx)
    return lo + brightness.astype(np.float32) * (hi - lo)


def adsr(n_held: int, sr: int, attack: float, decay: float, sustain: float, release: float) -> np.ndarray:
    """Attack-decay-sustain while held (``n_held`` samples), then a linear release to silence."""
    n_rel = max(1, int(release * sr))
    a = max(attack, 1e-4)
    n_att = min(n_held, int(np.ceil(a * sr - 1e-9)))  # the samples before the peak
    out = np.empty(n_held + n_rel, dtype=np.float32)
    out[:n_att] = np.arange(n_att, dtype=np.float32) * np.float32(1.0 / (a * sr))
    if n_held > n_att:
        t = np.arange(n_att, n_held, dtype=np.float32) * np.float32(1.0 / sr) - np.float32(a)
        out[n_att:n_held] = sustain + (1.0 - sustain) * np.exp(t * np.float32(-1.0 / max(decay, 1e-4)))
    end = float(out[n_held - 1]) if n_held else 0.0
    out[n_held:] = end * np.linspace(1.0, 0.0, n_rel, endpoint=False, dtype=np.float32)
    return out


def percussive(n_held: int, sr: int, attack: float, decay: float, release: float) -> np.ndarray:
    """A struck envelope: quick attack, exponential decay while held, linear release."""
    return adsr(n_held, sr, attack, decay, 0.0, release)


def _fm(hz: float, ratio: float, n: int, sr: int, index: np.ndarray) -> np.ndarray:
    t = np.arange(n, dtype=np.float64) / sr
    return np.sin(2 * np.pi * hz * t + index * np.sin(2 * np.pi * hz * ratio * t)).astype(np.float32)


def _decay(n: int, sr: int, tau: float) -> np.ndarray:
    return np.exp(np.arange(n, dtype=np.float32) * np.float32(-1.0 / (sr * tau)))


# --- voices: (pitch, held samples, sample rate) -> waveform -----------------------------------

def saw_bass(pitch: int, n: int, sr: int) -> np.ndarray:
    env = adsr(n, sr, 0.003, 0.25, 0.7, 0.03)
    hz = midi_hz(pitch)
    tone = swept_osc("saw", hz, len(env), sr, 24, 3, _decay(len(env), sr, 0.09))
    return env * (0.8 * tone + 0.5 * sine(hz, len(env), sr))


def square_bass(pitch: int, n: int, sr: int) -> np.ndarray:
    env = adsr(n, sr, 0.003, 0.2, 0.75, 0.03)
    hz = midi_hz(pitch)
    tone = swept_osc("square", hz, len(env), sr, 20, 3, _decay(len(env), sr, 0.07))
    return env * (0.75 * tone + 0.5 * sine(hz, len(env), sr))


def acid_bass(pitch: int, n: int, sr: int) -> np.ndarray:
    env = adsr(n, sr, 0.002, 0.15, 0.6, 0.02)
    hz = midi_hz(pitch)
    sweep = _decay(len(env), sr, 0.05)
    tone = swept_osc("saw", hz, len(env), sr, 32, 2, sweep)
    # A resonance-like bump: a narrow partial group that fades with the sweep.
    reso = osc("saw", hz * 6.0, len(env), sr, 2) * sweep
    return env * (0.8 * tone + 0.25 * reso + 0.3 * sine(hz, len(env), sr))


def bass_808(pitch: int, n: int, sr: int) -> np.ndarray:
    env = adsr(n, sr, 0.002, 0.7, 0.35, 0.06)
    hz = midi_hz(pitch)
    t = np.arange(len(env), dtype=np.float64) / sr
    tau = 0.008
    body = np.sin(2 * np.pi * (hz * t + 0.6 * hz * tau * (1.0 - np.exp(-t / tau))))
    return (np.tanh(2.0 * body) / np.tanh(2.0)).astype(np.float32) * env


def sub_bass(pitch: int, n: int, sr: int) -> np.ndarray:
    # Settles to 40%: a long note that holds full level reads as a string of false onsets in
    # spectral-flux detectors (a sine this low beats against its own mirror image in the
    # lowest FFT bins), and a sub that swells then relaxes sits better under the kick anyway.
    env = adsr(n, sr, 0.004, 0.25, 0.4, 0.04)
    hz = midi_hz(pitch)
    m = len(env)
    return env * (sine(hz, m, sr) + 0.2 * sine(2 * hz, m, sr) + 0.08 * sine(3 * hz, m, sr))


def pluck_bass(pitch: int, n: int, sr: int) -> np.ndarray:
    env = percussive(n, sr, 0.002, 0.6, 0.04)
    hz = midi_hz(pitch)
    return env * swept_osc("saw", hz, len(env), sr, 16, 3, _decay(len(env), sr, 0.05))


def _detuned_stereo(shape: str, pitch: int, env: np.ndarray, sr: int, harmonics: int, cents: float) -> np.ndarray:
    hz = midi_hz(pitch)
    m = len(env)
    ratio = 2.0 ** (cents / 1200.0)
    out = np.empty((m, 2), dtype=np.float32)
    out[:, 0] = osc(shape, hz / ratio, m, sr, harmonics) + osc(shape, hz * ratio**0.6, m, sr, harmonics, 0.31)
    out[:, 1] = osc(shape, hz * ratio, m, sr, harmonics, 0.57) + osc(shape, hz / ratio**0.6, m, sr, harmonics, 0.83)
    out *= 0.5 * env[:, None]
    return out


def pad(pitch: int, n: int, sr: int) -> np.ndarray:
    attack = min(0.3, 0.35 * n / sr)
    return _detuned_stereo("saw", pitch, adsr(n, sr, attack, 0.6, 0.8, 0.35), sr, 10, 9.0)


def strings(pitch: int, n: int, sr: int) -> np.ndarray:
    attack = min(0.45, 0.4 * n / sr)
    return _detuned_stereo("saw", pitch, adsr(n, sr, attack, 0.8, 0.85, 0.45), sr, 14, 6.0)


def keys(pitch: int, n: int, sr: int) -> np.ndarray:
    env = percussive(n, sr, 0.002, 1.1, 0.15)
    index = 1.8 * _decay(len(env), sr, 0.25)
    return env * _fm(midi_hz(pitch), 1.0, len(env), sr, index)


def piano(pitch: int, n: int, sr: int) -> np.ndarray:
    env = percussive(n, sr, 0.002, 1.3, 0.12)
    hz = midi_hz(pitch)
    return env * swept_osc("piano", hz, len(env), sr, 14, 2, _decay(len(env), sr, 0.35))


def organ(pitch: int, n: int, sr: int) -> np.ndarray:
    env = adsr(n, sr, 0.006, 0.1, 0.9, 0.04)
    return env * osc("organ", midi_hz(pitch), len(env), sr, 8)


def pluck(pitch: int, n: int, sr: int) -> np.ndarray:
    # A ringing tail after the note ends: short stabs that drop to silence would each read
    # as a loud onset and pull a listener (or a beat tracker) off the drums' pulse.
    env = percussive(n, sr, 0.002, 0.3, 0.2)
    hz = midi_hz(pitch)
    return env * swept_osc("saw", hz, len(env), sr, 20, 2, _decay(len(env), sr, 0.06))


def triangle_lead(pitch: int, n: int, sr: int) -> np.ndarray:
    env = adsr(n, sr, 0.008, 0.25, 0.75, 0.07)
    return env * osc("triangle", midi_hz(pitch), len(env), sr, 15)


def square_lead(pitch: int, n: int, sr: int) -> np.ndarray:
    env = adsr(n, sr, 0.005, 0.2, 0.7, 0.06)
    hz = midi_hz(pitch)
    return env * swept_osc("square", hz, len(env), sr, 15, 5, 0.4 + 0.6 * _decay(len(env), sr, 0.15))


def saw_lead(pitch: int, n: int, sr: int) -> np.ndarray:
    env = adsr(n, sr, 0.005, 0.2, 0.75, 0.06)
    hz = midi_hz(pitch)
    m = len(env)
    return env * 0.5 * (osc("saw", hz * 1.0035, m, sr, 18) + osc("saw", hz / 1.0035, m, sr, 18, 0.4))


def bell(pitch: int, n: int, sr: int) -> np.ndarray:
    env = percussive(n, sr, 0.001, 0.9, 0.3)
    index = 1.4 * _decay(len(env), sr, 0.4)
    return env * _fm(midi_hz(pitch), 3.5, len(env), sr, index)


VOICE_FUNCTIONS: dict[str, Callable[[int, int, int], np.ndarray]] = {
    "saw_bass": saw_bass, "square_bass": square_bass, "acid_bass": acid_bass, "808": bass_808,
    "sub_bass": sub_bass, "pluck_bass": pluck_bass, "pad": pad, "strings": strings, "keys": keys,
    "piano": piano, "organ": organ, "pluck": pluck, "triangle_lead": triangle_lead,
    "square_lead": square_lead, "saw_lead": saw_lead, "bell": bell,
}
