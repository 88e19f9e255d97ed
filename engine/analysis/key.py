"""Key and mode from a chroma profile by correlation with key profiles.

Krumhansl-Kessler probe-tone profiles and Temperley's (Kostka-Payne corpus) profiles are
each correlated with the 12 rotations of the piece's mean chroma; the two correlations are
averaged, and the best of the 24 major/minor keys wins. Pure numpy: no librosa needed.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

KRUMHANSL_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KRUMHANSL_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
TEMPERLEY_MAJOR = np.array([0.748, 0.060, 0.488, 0.082, 0.670, 0.460, 0.096, 0.715, 0.104, 0.366, 0.057, 0.400])
TEMPERLEY_MINOR = np.array([0.712, 0.084, 0.474, 0.618, 0.049, 0.460, 0.105, 0.747, 0.404, 0.067, 0.133, 0.330])

MODES = ("major", "minor")


class KeyEstimate(NamedTuple):
    tonic: int
    """Pitch class 0..11, C = 0."""
    mode: str
    """'major' or 'minor'."""
    confidence: float
    """Margin of the best key's score over the runner-up, 0 (a tie) .. 1."""
    scores: np.ndarray
    """[2, 12] correlation per mode (major, minor) and tonic."""


def _rotations(profile: np.ndarray) -> np.ndarray:
    """[12, 12]: row t is the profile with its tonic at pitch class t, z-scored."""
    rows = np.stack([np.roll(profile, t) for t in range(12)])
    rows = rows - rows.mean(axis=1, keepdims=True)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


_PROFILES = {
    "major": (_rotations(KRUMHANSL_MAJOR), _rotations(TEMPERLEY_MAJOR)),
    "minor": (_rotations(KRUMHANSL_MINOR), _rotations(TEMPERLEY_MINOR)),
}


def key_scores(chroma_mean: np.ndarray) -> np.ndarray:
    """[2, 12] mean Pearson correlation of ``chroma_mean`` (12 values) with each key."""
    c = np.asarray(chroma_mean, dtype=np.float64).reshape(12)
    c = c - c.mean()
    norm = np.linalg.norm(c)
    if norm < 1e-12:
        return np.zeros((2, 12))
    c = c / norm
    return np.stack([np.mean([rot @ c for rot in _PROFILES[mode]], axis=0) for mode in MODES])


def estimate_key(chroma_mean: np.ndarray) -> KeyEstimate | None:
    """The best-fitting key, or None when the chroma is flat (silence, pure noise)."""
    scores = key_scores(chroma_mean)
    if not np.any(scores):
        return None
    flat = scores.ravel()
    order = np.argsort(flat)[::-1]
    best, second = flat[order[0]], flat[order[1]]
    mode_index, tonic = divmod(int(order[0]), 12)
    confidence = float(np.clip((best - second) / max(1e-9, 1.0 - second), 0.0, 1.0))
    return KeyEstimate(tonic, MODES[mode_index], confidence, scores)


def relation(tonic_a: int, mode_a: str, tonic_b: int, mode_b: str) -> str:
    """How two keys relate: 'same', 'relative', 'parallel', 'fifth' or 'other'."""
    if tonic_a == tonic_b and mode_a == mode_b:
        return "same"
    if mode_a != mode_b:
        major_a = tonic_a if mode_a == "major" else (tonic_a + 3) % 12
        major_b = tonic_b if mode_b == "major" else (tonic_b + 3) % 12
        if major_a == major_b:
            return "relative"
        if tonic_a == tonic_b:
            return "parallel"
        return "other"
    if (tonic_a - tonic_b) % 12 in (5, 7):
        return "fifth"
    return "other"
