"""Reading audio for analysis: any rate, mono or multichannel, bounded in length.

Everything libsndfile reads (WAV, FLAC, OGG, MP3 with libsndfile >= 1.1, AIFF, ...). Long
files are not loaded whole: analysis looks at the first ``max_seconds`` and reports the full
duration from the header.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.analysis.errors import AnalysisError

ANALYSIS_RATE = 22050
MAX_ANALYSIS_SECONDS = 300.0


@dataclass(frozen=True)
class LoadedAudio:
    """``audio`` is float32 ``[N, C]`` at ``sample_rate`` (the file's own rate)."""

    path: Path
    audio: np.ndarray
    sample_rate: int
    channels: int
    duration: float
    """Seconds in the whole file, not only in ``audio``."""
    truncated: bool


def _describe(path: Path) -> str:
    return f"'{path.name}'"


def _decoder_reason(exc: Exception) -> str:
    """libsndfile's words for "unknown format" mislead ("not a regular file (possibly a pipe?)")."""
    text = str(exc)
    if "Error opening" in text:
        text = text.split(": ", 1)[-1]
    if "not a regular file" in text or "Format not recognised" in text or "unknown format" in text.lower():
        return "its contents are not in a known audio format (was it renamed?)"
    return text.rstrip(".") or "the decoder gave up"


def read_audio(path: str | os.PathLike, max_seconds: float = MAX_ANALYSIS_SECONDS, offset_seconds: float = 0.0) -> LoadedAudio:
    """Read at most ``max_seconds`` from ``offset_seconds``. Raises ``AnalysisError`` with a
    sentence a person can act on for missing, unreadable, empty or non-audio files."""
    import soundfile as sf

    p = Path(path)
    if not p.exists():
        raise AnalysisError(f"{p} does not exist")
    if p.is_dir():
        raise AnalysisError(f"{p} is a folder, not an audio file")
    if not os.access(p, os.R_OK):
        raise AnalysisError(f"{_describe(p)} cannot be read: permission denied")
    if p.stat().st_size == 0:
        raise AnalysisError(f"{_describe(p)} is empty (0 bytes)")
    try:
        with sf.SoundFile(str(p)) as f:
            rate, channels = int(f.samplerate), int(f.channels)
            total = int(f.frames) if f.frames and f.frames > 0 else 0
            start = int(max(0.0, offset_seconds) * rate)
            if total and start >= total:
                start = 0
            if start:
                f.seek(start)
            want = int(max_seconds * rate)
            audio = f.read(frames=want, dtype="float32", always_2d=True)
            truncated = bool(total and total - start > want) or (not total and len(audio) >= want)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AnalysisError(
            f"{_describe(p)} is not audio this app can read (WAV, FLAC, OGG or MP3): {_decoder_reason(exc)}"
        ) from exc
    if rate <= 0 or channels <= 0:
        raise AnalysisError(f"{_describe(p)} has no audio channels")
    if len(audio) == 0:
        raise AnalysisError(f"{_describe(p)} holds no audio samples")
    if not np.all(np.isfinite(audio)):
        audio = np.nan_to_num(audio, nan=0.0, posinf=0.0, neginf=0.0)
    duration = (total / rate) if total else len(audio) / rate
    return LoadedAudio(p, audio, rate, channels, float(duration), truncated)


def to_analysis_rate(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """``[N, C]`` at any rate -> mono float32 ``[M]`` at ``ANALYSIS_RATE``."""
    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    mono = np.ascontiguousarray(mono, dtype=np.float32)
    if sample_rate == ANALYSIS_RATE:
        return mono
    import soxr

    return soxr.resample(mono, sample_rate, ANALYSIS_RATE, quality="HQ").astype(np.float32)
