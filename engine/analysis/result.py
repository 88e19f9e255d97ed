"""What analysis returns: plain frozen data that crosses threads and layers."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.theory import pitch_name


def _frozen(a: np.ndarray, dtype=np.float32) -> np.ndarray:
    out = np.array(a, dtype=dtype, copy=True)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class AudioAnalysis:
    """One file's analysis. Fields that cannot be measured (tempo of a 0.1 s click, key of
    silence) are None and ``warnings`` says why."""

    path: str
    duration: float
    """Seconds in the whole file."""
    sample_rate: int
    channels: int
    analysed_seconds: float
    """How much of the file the figures below describe (long files: the first minutes)."""
    tempo: float | None
    beats: tuple[float, ...]
    """Beat times in seconds (the beat grid)."""
    tonic: int | None
    mode: str | None
    key_confidence: float
    loudness_lufs: float | None
    """Integrated loudness (ITU-R BS.1770); None for files under 0.4 s."""
    peak_dbfs: float
    energy: float
    """0 (calm) .. 1 (intense), from loudness and onset density."""
    brightness: float
    """Mean spectral centroid in Hz."""
    onset_rate: float
    """Onsets per second."""
    chroma_mean: np.ndarray
    """[12] mean chroma, summing to 1 (C first)."""
    chroma: np.ndarray
    """[T, 12] chroma frames at ``chroma_rate`` frames per second (for melody conditioning)."""
    chroma_rate: float
    sound_vector: np.ndarray
    """Unit-length embedding: cosine similarity means 'sounds alike'."""
    waveform: np.ndarray
    """[W, 2] min/max envelope of the analysed audio, for drawing."""
    warnings: tuple[str, ...] = ()
    downbeat: float | None = None
    """Seconds to the first beat that starts a bar."""
    chords: tuple = ()
    """One ``Chord`` (or None) per bar from ``downbeat``; empty for drums."""
    role: str | None = None
    """Proposed from the audio: drums, bass, harmony or melody (None when not measured)."""

    @property
    def key_name(self) -> str | None:
        if self.tonic is None or self.mode is None:
            return None
        return f"{pitch_name(self.tonic)} {self.mode}"

    @property
    def title(self) -> str:
        return Path(self.path).stem

    def to_dict(self, include_arrays: bool = False) -> dict[str, Any]:
        """Plain JSON-able data; ``include_arrays`` adds beats, chroma_mean and sound_vector."""
        d: dict[str, Any] = {
            "path": self.path,
            "title": self.title,
            "duration": round(self.duration, 3),
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "analysed_seconds": round(self.analysed_seconds, 3),
            "tempo": None if self.tempo is None else round(self.tempo, 2),
            "key": self.key_name,
            "tonic": self.tonic,
            "mode": self.mode,
            "key_confidence": round(self.key_confidence, 3),
            "loudness_lufs": None if self.loudness_lufs is None else round(self.loudness_lufs, 2),
            "peak_dbfs": round(self.peak_dbfs, 2),
            "energy": round(self.energy, 3),
            "brightness": round(self.brightness, 1),
            "onset_rate": round(self.onset_rate, 3),
            "num_beats": len(self.beats),
            "downbeat": None if self.downbeat is None else round(self.downbeat, 4),
            "role": self.role,
            "chords": [None if c is None else c.name for c in self.chords],
            "warnings": list(self.warnings),
        }
        if include_arrays:
            d["beats"] = [round(b, 4) for b in self.beats]
            d["chroma_mean"] = [round(float(x), 5) for x in self.chroma_mean]
            d["sound_vector"] = [float(x) for x in self.sound_vector]
        return d

    def reference(self, continue_audio: bool = False) -> "ReferenceAnalysis":
        return ReferenceAnalysis.from_analysis(self, continue_audio=continue_audio)


@dataclass(frozen=True, eq=False)
class ReferenceAnalysis:
    """Steering material handed to a backend in ``GenerationRequest.reference``.

    The session context already carries the reference's tempo, key and energy, so every
    backend follows those; this adds what only some backends use: the chroma over time
    (MusicGen melody) and the audio itself as a prompt to continue (plain MusicGen, when
    ``continue_audio`` is set).
    """

    path: str
    tempo: float | None
    tonic: int | None
    mode: str | None
    energy: float
    loudness_lufs: float | None
    duration: float
    chroma: np.ndarray = field(repr=False)
    """[T, 12] float32, read-only."""
    chroma_rate: float = 0.0
    continue_audio: bool = False

    @classmethod
    def from_analysis(cls, analysis: AudioAnalysis, continue_audio: bool = False) -> "ReferenceAnalysis":
        return cls(
            path=analysis.path,
            tempo=analysis.tempo,
            tonic=analysis.tonic,
            mode=analysis.mode,
            energy=analysis.energy,
            loudness_lufs=analysis.loudness_lufs,
            duration=analysis.duration,
            chroma=_frozen(analysis.chroma),
            chroma_rate=analysis.chroma_rate,
            continue_audio=continue_audio,
        )

    def load_audio(self, sample_rate: int, max_seconds: float = 30.0, channels: int = 1) -> np.ndarray:
        """The reference's first ``max_seconds`` as float32 ``[N, channels]`` at ``sample_rate``."""
        from engine.analysis.audio_io import read_audio

        loaded = read_audio(self.path, max_seconds=max_seconds, sample_rate=sample_rate,
                            channels=channels if channels in (1, 2) else None)
        audio = loaded.audio
        if audio.shape[1] != channels:
            audio = np.repeat(audio[:, :1], channels, axis=1) if audio.shape[1] == 1 else audio[:, :channels]
        return np.ascontiguousarray(audio, dtype=np.float32)


def frozen_array(a: Any, dtype=np.float32) -> np.ndarray:
    return _frozen(np.asarray(a), dtype)


def normalise_path(path: str | os.PathLike) -> str:
    return str(Path(path).expanduser().resolve())
