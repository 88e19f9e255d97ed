"""The sound embedding: well-understood features, standardised and weighted by group.

Each dimension is z-scored with fixed statistics measured once on a music corpus
(``sound_stats.json``), clipped to +-5 so one odd feature cannot dominate, then each group
(timbre, harmony, rhythm, spectral shape) is scaled so it carries a set share of the
vector's energy, and the whole vector is made unit length. Cosine similarity (a dot
product) then weighs "same instruments and production" most, then spectral shape, key
and pitch content, and groove.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from engine.analysis.features import N_MFCC, Features

GROUPS: tuple[tuple[str, int, float], ...] = (
    # name, dimensions, share of the vector's energy
    ("timbre", (N_MFCC - 1) + N_MFCC, 0.40),   # MFCC means (without c0 = level) and deviations
    ("harmony", 12, 0.20),                      # mean chroma
    ("rhythm", 5, 0.15),                        # tempo, onset rate, onset strength and spread, pulse
    ("spectral", 7 + 7 + 7, 0.25),              # contrast bands, centroid, bandwidth, rolloff, ...
)
SOUND_DIM = sum(n for _, n, _ in GROUPS)
STATS_PATH = Path(__file__).with_name("sound_stats.json")
Z_CLIP = 5.0


def raw_vector(f: Features) -> np.ndarray:
    """The unnormalised features in group order, float64 ``[SOUND_DIM]``."""
    tempo = np.log2(f.tempo / 120.0) if f.tempo else 0.0
    parts = [
        f.mfcc_mean[1:], f.mfcc_std,
        f.chroma_mean,
        [tempo, f.onset_rate, f.onset_mean, f.onset_cv, f.pulse_clarity],
        f.contrast_mean, f.contrast_std,
        [np.log(f.centroid_hz + 1.0), f.log_centroid_std, f.log_bandwidth, f.log_rolloff,
         f.log_flatness, f.zcr, f.rms_db_std],
    ]
    v = np.concatenate([np.asarray(p, dtype=np.float64).ravel() for p in parts])
    assert v.shape == (SOUND_DIM,), v.shape
    return v


@lru_cache(maxsize=1)
def _stats() -> tuple[np.ndarray, np.ndarray]:
    data = json.loads(STATS_PATH.read_text(encoding="utf-8"))
    center = np.asarray(data["center"], dtype=np.float64)
    scale = np.asarray(data["scale"], dtype=np.float64)
    if center.shape != (SOUND_DIM,) or scale.shape != (SOUND_DIM,):
        raise ValueError(f"{STATS_PATH.name} does not match the {SOUND_DIM}-dimension sound vector")
    return center, np.maximum(scale, 1e-6)


def _group_weights() -> np.ndarray:
    w = np.empty(SOUND_DIM)
    i = 0
    for _, n, share in GROUPS:
        w[i : i + n] = np.sqrt(share / n)
        i += n
    return w


def sound_vector(raw: np.ndarray) -> np.ndarray:
    """Raw features -> unit float32 ``[SOUND_DIM]`` embedding."""
    center, scale = _stats()
    z = np.clip((np.asarray(raw, dtype=np.float64) - center) / scale, -Z_CLIP, Z_CLIP)
    v = z * _group_weights()
    n = np.linalg.norm(v)
    if n < 1e-12:
        v = np.zeros(SOUND_DIM)
        v[0] = 1.0
        return v.astype(np.float32)
    return (v / n).astype(np.float32)


def fit_stats(raw_vectors: np.ndarray) -> dict:
    """Statistics for ``sound_stats.json`` from ``[N, SOUND_DIM]`` raw vectors of a corpus.

    Chroma gets a shared centre (1/12) and scale: a corpus's key mix should not make one
    pitch class matter more than another.
    """
    X = np.asarray(raw_vectors, dtype=np.float64)
    center = np.median(X, axis=0)
    q75, q25 = np.percentile(X, [75, 25], axis=0)
    scale = (q75 - q25) / 1.349  # the standard deviation of a normal with that spread
    scale = np.where(scale > 1e-9, scale, X.std(axis=0) + 1e-6)
    start = (N_MFCC - 1) + N_MFCC
    center[start : start + 12] = 1.0 / 12
    scale[start : start + 12] = float(np.mean(scale[start : start + 12]))
    return {"center": center.tolist(), "scale": scale.tolist(), "count": int(len(X))}
