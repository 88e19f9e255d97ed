"""Synthetic music with known tempo and key, made with numpy for analysis and library tests.

A piece is drums (kick on beats, hi-hat on eighths), a bass on the chord roots, block
chords and a seeded melody from the scale; the progression (I IV V I / i iv v i) leans on
the tonic so the key is unambiguous. ``timbre`` changes the harmonic recipe so pieces made
with different timbres sound different and excerpts of one piece sound alike.
"""

from __future__ import annotations

import numpy as np

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
TIMBRES = {
    # harmonic amplitudes 1..n
    "sine": (1.0,),
    "organ": (1.0, 0.6, 0.0, 0.4, 0.0, 0.25),
    "saw": tuple(1.0 / k for k in range(1, 13)),
    "square": tuple((1.0 / k) if k % 2 else 0.0 for k in range(1, 16)),
}


def _tone(freq: float, n: int, sr: int, harmonics: tuple[float, ...], decay: float) -> np.ndarray:
    t = np.arange(n) / sr
    out = np.zeros(n)
    for k, amp in enumerate(harmonics, start=1):
        if amp and freq * k < sr / 2:
            out += amp * np.sin(2 * np.pi * freq * k * t)
    env = np.exp(-t * decay) * np.minimum(1.0, t * 200)
    return out * env


def _midi(p: float) -> float:
    return 440.0 * 2 ** ((p - 69) / 12)


def render(tempo: float = 120.0, tonic: int = 0, mode: str = "major", seconds: float = 12.0, sr: int = 22050,
           timbre: str = "saw", drums: bool = True, seed: int = 0, stereo: bool = True) -> np.ndarray:
    """float32 ``[N, 2]`` (or ``[N]`` when not ``stereo``)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    out = np.zeros(n + sr)
    beat = 60.0 / tempo
    scale = MAJOR if mode == "major" else MINOR
    degrees = (0, 3, 4, 0)  # I IV V I
    harmonics = TIMBRES[timbre]
    total_beats = int(seconds / beat)
    for b in range(total_beats):
        start = int(b * beat * sr)
        bar, pos = divmod(b, 4)
        degree = degrees[bar % 4]
        root = tonic + scale[degree]
        chord = [root + 60 - 12 * (root > 6), root + scale[(degree + 2) % 7] - scale[degree] + 60 - 12 * (root > 6),
                 root + scale[(degree + 4) % 7] - scale[degree] + 60 - 12 * (root > 6)]
        chord = [c + 12 * (c < chord[0]) for c in chord]
        length = int(beat * sr)
        if pos == 0:
            for p in chord:
                seg = _tone(_midi(p), 4 * length, sr, harmonics, 0.8) * 0.2
                out[start : start + len(seg)] += seg[: len(out) - start]
        bass = _tone(_midi(36 + (root % 12)), length, sr, (1.0, 0.5, 0.2), 3.0) * 0.15
        out[start : start + length] += bass
        if pos in (0, 2) or rng.random() < 0.5:
            # Melody on chord tones, so the chord's third (major or minor) is heard clearly.
            p = chord[int(rng.integers(0, 3)) if pos else 0] + 12
            mel = _tone(_midi(p), length, sr, harmonics, 4.0) * 0.15
            out[start : start + length] += mel
        if drums:
            t = np.arange(int(0.15 * sr)) / sr
            kick = np.sin(2 * np.pi * (50 + 80 * np.exp(-t * 40)) * t) * np.exp(-t * 25) * 0.8
            out[start : start + len(kick)] += kick
            for half in (0, 1):
                h0 = start + int(half * beat * sr / 2)
                hat = rng.normal(size=int(0.04 * sr)) * np.exp(-np.arange(int(0.04 * sr)) / sr * 120) * 0.08
                hat = np.diff(hat, prepend=0.0)  # brighter
                out[h0 : h0 + len(hat)] += hat[: max(0, len(out) - h0)]
    out = out[:n]
    out = out / max(1e-9, np.max(np.abs(out))) * 0.8
    if not stereo:
        return out.astype(np.float32)
    return np.stack([out, out * 0.9], axis=1).astype(np.float32)
