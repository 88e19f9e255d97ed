"""Notes to audio: place each note's waveform on the sample grid of a stereo buffer.

Every onset lands on the sample nearest its beat time, so drums and the parts that follow
them start together. A note's waveform depends only on (voice, pitch, held length), so each
distinct one is synthesised once per render and reused (velocity is a gain).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from engine.context import MusicalContext
from engine.theory import Note
from engine.composer.drum_voices import LEVEL, PAN, drum_hit
from engine.composer.grid import beats_to_samples
from engine.composer.synth import VOICE_FUNCTIONS

_CHOKING_HATS = (42, 44, 46)


def _pan_gains(pan: float) -> tuple[float, float]:
    """Equal-power gains for ``pan`` in [-1, 1]."""
    angle = (pan + 1.0) * np.pi / 4.0
    return float(np.cos(angle)), float(np.sin(angle))


def _velocity_gain(velocity: int) -> float:
    return (max(1, min(127, int(velocity))) / 127.0) ** 1.5


def render_tonal(notes: Sequence[Note], context: MusicalContext, sample_rate: int, voice: str,
                 pan: float = 0.0) -> np.ndarray:
    """Render ``notes`` with ``voice`` into a stereo [N, 2] float32 buffer of the context's length."""
    n_total = context.num_samples(sample_rate)
    voice_fn = VOICE_FUNCTIONS[voice]
    left_gain, right_gain = _pan_gains(pan)
    # Two contiguous channels while adding notes (column slices of [N, 2] are strided and slow).
    left = np.zeros(n_total, dtype=np.float32)
    right = np.zeros(n_total, dtype=np.float32)
    if notes:
        starts = beats_to_samples([n.start for n in notes], context.tempo, sample_rate)
        ends = beats_to_samples([n.start + n.duration for n in notes], context.tempo, sample_rate)
        cache: dict[tuple[int, int], np.ndarray] = {}
        for note, s, e in zip(notes, starts, ends):
            if s >= n_total:
                continue
            held = int(max(1, e - s))
            key = (int(note.pitch), held)
            wave = cache.get(key)
            if wave is None:
                wave = cache[key] = voice_fn(int(note.pitch), held, sample_rate)
            m = min(len(wave), n_total - s)
            gain = _velocity_gain(note.velocity)
            if wave.ndim == 2:  # a stereo voice places itself
                left[s: s + m] += gain * wave[:m, 0]
                right[s: s + m] += gain * wave[:m, 1]
            else:
                left[s: s + m] += (gain * left_gain) * wave[:m]
                right[s: s + m] += (gain * right_gain) * wave[:m]
    return np.stack([left, right], axis=1)


def render_drums(notes: Sequence[Note], context: MusicalContext, sample_rate: int, kit: str) -> np.ndarray:
    """Render drum ``notes`` (GM pitches) with the synthesised ``kit`` into a stereo buffer."""
    n_total = context.num_samples(sample_rate)
    left = np.zeros(n_total, dtype=np.float32)
    right = np.zeros(n_total, dtype=np.float32)
    by_pitch: dict[int, list[Note]] = {}
    for n in notes:
        by_pitch.setdefault(int(n.pitch), []).append(n)
    hat_starts = np.unique(beats_to_samples(
        [n.start for n in notes if int(n.pitch) in _CHOKING_HATS], context.tempo, sample_rate))
    fade = np.linspace(1.0, 0.0, max(2, sample_rate // 500), dtype=np.float32)  # 2 ms, no click
    for pitch, hits in sorted(by_pitch.items()):
        wave = drum_hit(pitch, sample_rate, kit, context.tonic % 12)
        level = LEVEL.get(pitch, 0.4)
        left_gain, right_gain = _pan_gains(PAN.get(pitch, 0.0))
        starts = beats_to_samples([n.start for n in hits], context.tempo, sample_rate)
        # Each drum is one voice, as on a drum machine: a hit cuts the previous hit's tail,
        # and the next hat chokes an open hat. Two overlapping kicks would beat instead.
        stops = np.append(starts[1:], n_total)
        if pitch == 46 and hat_starts.size:
            nxt = np.searchsorted(hat_starts, starts, side="right")
            stops = np.minimum(stops, np.append(hat_starts, n_total)[nxt])
        for note, s, stop in zip(hits, starts, stops):
            if s >= n_total:
                continue
            m = int(min(len(wave), n_total - s, max(stop - s, 1)))
            hit = wave[:m]
            if m < len(wave) and m > fade.size:
                hit = hit.copy()
                hit[-fade.size:] *= fade
            gain = level * _velocity_gain(note.velocity)
            left[s: s + m] += (gain * left_gain) * hit
            right[s: s + m] += (gain * right_gain) * hit
    return np.stack([left, right], axis=1)


def fit_peak(audio: np.ndarray, peak: float) -> np.ndarray:
    """Scale ``audio`` in place so its peak is ``peak`` (silence stays silence)."""
    top = max(float(audio.max()), -float(audio.min())) if audio.size else 0.0
    if top > 1e-9:
        audio *= np.float32(peak / top)
    return audio


# Peak level per role. The four main roles' peaks add up to less than 1, so their plain sum
# cannot clip even where the peaks coincide; the kick and bass lead, for a clear pulse and a
# clear tonal centre.
ROLE_PEAK = {"drums": 0.3, "bass": 0.26, "harmony": 0.24, "melody": 0.18, "other": 0.15}


def fit_level_for(role: str, audio: np.ndarray) -> np.ndarray:
    return fit_peak(audio, ROLE_PEAK.get(role, 0.3))
