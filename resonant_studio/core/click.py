"""The metronome's click, made once, and the code that mixes it into an output block.

The clicks are preallocated stereo buffers (an accented one for the downbeat); the audio
callback adds slices of them into ``outdata`` in place, so it never allocates sample memory.
Beats sit on a grid counted from sample 0 of the piece (or of the count-in), at a fractional
spacing rounded per beat, so a click never drifts against the bar lines.
"""

from __future__ import annotations

import numpy as np

CLICK_SECONDS = 0.03
ACCENT_HZ = 1760.0
BEAT_HZ = 1320.0
CLICK_LEVEL = 0.35


def make_click(sample_rate: int, frequency: float, level: float = CLICK_LEVEL) -> np.ndarray:
    """A short sine blip with a fast exponential decay, ``[N, 2]`` float32."""
    n = max(1, int(CLICK_SECONDS * sample_rate))
    t = np.arange(n) / float(sample_rate)
    envelope = np.exp(-t / (CLICK_SECONDS / 5.0))
    mono = (level * envelope * np.sin(2 * np.pi * frequency * t)).astype(np.float32)
    return np.ascontiguousarray(np.stack([mono, mono], axis=1))


class Clicks:
    """The accent and beat clicks of one sample rate (built on the UI thread, read by the callback)."""

    def __init__(self, sample_rate: int) -> None:
        self.accent = make_click(sample_rate, ACCENT_HZ)
        self.beat = make_click(sample_rate, BEAT_HZ)
        self.length = self.accent.shape[0]


def mix_clicks(out: np.ndarray, offset: int, frames: int, start: int, beat_samples: float,
               beats_per_bar: int, clicks: Clicks) -> None:
    """Add the clicks that sound in samples ``start .. start + frames`` of the beat grid into
    ``out[offset:offset + frames]``. In place; no sample memory is allocated."""
    if beat_samples <= 0 or frames <= 0:
        return
    length = clicks.length
    first = int((start - length) // beat_samples) + 1
    if first < 0:
        first = 0
    beat = first
    end = start + frames
    while True:
        at = int(round(beat * beat_samples))
        if at >= end:
            break
        src = clicks.accent if beat % beats_per_bar == 0 else clicks.beat
        lo = at if at > start else start          # first grid sample of this click in the block
        hi = at + length if at + length < end else end
        if hi > lo:
            out[offset + lo - start:offset + hi - start] += src[lo - at:hi - at]
        beat += 1
