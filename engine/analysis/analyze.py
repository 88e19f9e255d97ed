"""Analyse an audio file or buffer: duration, tempo and beats, key, loudness, sound embedding.

Safe to call from a worker thread; librosa is imported on first use, not at import.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from engine.analysis.audio_io import (ANALYSIS_RATE, MAX_ANALYSIS_SECONDS, MIN_SOUND_SECONDS, AudioFileError,
                                     read_audio, to_analysis_rate)
from engine.analysis.errors import AnalysisError
from engine.analysis.features import MIN_KEY_SECONDS, MIN_TEMPO_SECONDS, measure
from engine.analysis.key import estimate_key
from engine.analysis.result import AudioAnalysis, frozen_array
from engine.analysis.sound_vector import raw_vector, sound_vector

WAVEFORM_POINTS = 600
LOUDNESS_MIN_SECONDS = 0.4  # one BS.1770 gating block


def analyze_file(path: str | os.PathLike, max_seconds: float = MAX_ANALYSIS_SECONDS) -> AudioAnalysis:
    """Analyse the first ``max_seconds`` of ``path`` (the duration reported is the whole file's).

    Raises ``AnalysisError`` for files that are missing, unreadable, empty or not audio.
    """
    # resampled while it streams in: memory is bounded by the analysis rate, not the file's
    loaded = read_audio(path, max_seconds=max_seconds, sample_rate=ANALYSIS_RATE)
    held = len(loaded.audio) / loaded.sample_rate
    if held < MIN_SOUND_SECONDS:
        frames = round(held * loaded.file_rate) if loaded.file_rate else len(loaded.audio)
        raise AudioFileError(f"'{loaded.path.name}' holds only {held * 1000:.1f} ms of audio ({frames} sample"
                             f"{'s' if frames != 1 else ''}), less than the {MIN_SOUND_SECONDS * 1000:.0f} ms "
                             "analysis needs to describe a sound")
    warnings = []
    if loaded.truncated:
        warnings.append(
            f"only the first {max_seconds / 60:g} minutes of {loaded.duration / 60:.0f} were analysed"
        )
    return _analyze(
        loaded.audio, loaded.sample_rate, str(Path(path).expanduser().resolve()), loaded.duration, warnings,
        file_rate=loaded.file_rate, file_channels=loaded.file_channels,
    )


def analyze_audio(audio: np.ndarray, sample_rate: int, path: str = "") -> AudioAnalysis:
    """Analyse a buffer (float ``[N]`` or ``[N, C]``), e.g. a generated take before it is saved."""
    a = np.asarray(audio, dtype=np.float32)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[0] == 0:
        raise AnalysisError("there is no audio to analyse (the buffer is empty)")
    if sample_rate <= 0:
        raise AnalysisError(f"sample rate must be positive, not {sample_rate}")
    a = np.nan_to_num(a[: int(MAX_ANALYSIS_SECONDS * sample_rate)])
    return _analyze(a, int(sample_rate), path, len(audio) / sample_rate, [])


def _analyze(audio: np.ndarray, sample_rate: int, path: str, duration: float, warnings: list[str], *,
             file_rate: int | None = None, file_channels: int | None = None) -> AudioAnalysis:
    """``file_rate``/``file_channels``: what the file itself has, when ``audio`` was read at the
    analysis rate (the reported values are the file's)."""
    seconds = len(audio) / sample_rate
    y = to_analysis_rate(audio, sample_rate)
    f = measure(y, ANALYSIS_RATE)
    heard = None
    tempo, beats = f.tempo, f.beats
    if f.silent:
        warnings.append("the audio is silent, so it has no tempo or key")
    elif seconds < MIN_TEMPO_SECONDS:
        warnings.append(f"{seconds:.2f} s is too short to measure a tempo")
    else:
        # The project's beat tracker: tempo octave from the backbeat or the chord changes,
        # a downbeat, chords per bar, a role, and "no key" for drums.
        from engine.analysis.beats import CLEAR_BEAT
        from engine.locked import features_from_audio

        heard = features_from_audio(y, ANALYSIS_RATE)
        if heard.tempo is None or (heard.beat_strength < CLEAR_BEAT and f.tempo is None):
            tempo, beats = None, np.zeros(0)
            warnings.append("no steady beat was found")
        else:
            tempo, beats = heard.tempo, np.asarray(heard.beats)
            if heard.beat_strength < CLEAR_BEAT:
                # A faint beat: librosa's estimate (its tempo prior) is the better guess there.
                tempo, beats = f.tempo, f.beats
                warnings.append("the beat is faint, so the tempo is a best guess")

    tonic = mode = None
    key_confidence = 0.0
    if heard is not None and heard.role == "drums":
        warnings.append("it sounds like drums, which have no key")
    elif heard is not None and heard.tonic is not None and seconds >= MIN_KEY_SECONDS:
        # The key import reads too (a bass line's from its notes, other parts' from their bar
        # chords): a plain chroma profile named a B minor bass line A major, and its import B minor.
        tonic, mode, key_confidence = heard.tonic, heard.mode, heard.key_confidence
        warnings.extend(w for w in heard.warnings if "major or minor" in w)
    elif not f.silent and seconds >= MIN_KEY_SECONDS:
        key = estimate_key(f.chroma_mean)
        if key is not None:
            tonic, mode, key_confidence = key.tonic, key.mode, key.confidence
    elif not f.silent:
        warnings.append(f"{seconds:.2f} s is too short to tell the key")

    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    peak_dbfs = 20 * np.log10(peak) if peak > 0 else -120.0
    lufs = _integrated_loudness(audio, sample_rate) if not f.silent else None
    return AudioAnalysis(
        path=path,
        duration=float(duration),
        sample_rate=int(file_rate or sample_rate),
        channels=int(file_channels or audio.shape[1]),
        analysed_seconds=float(seconds),
        tempo=None if tempo is None else float(tempo),
        beats=tuple(float(b) for b in beats),
        tonic=tonic,
        mode=mode,
        key_confidence=float(key_confidence),
        loudness_lufs=lufs,
        peak_dbfs=float(peak_dbfs),
        energy=_energy(lufs, f.onset_rate),
        brightness=f.centroid_hz,
        onset_rate=f.onset_rate,
        chroma_mean=frozen_array(f.chroma_mean),
        chroma=frozen_array(f.chroma),
        chroma_rate=f.frame_rate,
        sound_vector=frozen_array(sound_vector(raw_vector(f))),
        waveform=frozen_array(waveform_envelope(audio)),
        warnings=tuple(warnings),
        downbeat=None if heard is None or tempo is None else heard.downbeat,
        chords=() if heard is None else heard.chords,
        role=None if heard is None else heard.role,
    )


def _integrated_loudness(audio: np.ndarray, sample_rate: int) -> float | None:
    if len(audio) < LOUDNESS_MIN_SECONDS * sample_rate or audio.shape[1] > 5:
        return None
    import pyloudnorm

    try:
        value = float(pyloudnorm.Meter(sample_rate).integrated_loudness(audio.astype(np.float64)))
    except ValueError:
        return None
    return value if np.isfinite(value) else None


def _energy(lufs: float | None, onset_rate: float) -> float:
    """0..1: loudness (-40 LUFS -> 0, -8 LUFS -> 1) weighted 0.6, onsets per second (0..6) 0.4."""
    loud = 0.0 if lufs is None else float(np.clip((lufs + 40.0) / 32.0, 0.0, 1.0))
    busy = float(np.clip(onset_rate / 6.0, 0.0, 1.0))
    return round(0.6 * loud + 0.4 * busy, 4)


def waveform_envelope(audio: np.ndarray, points: int = WAVEFORM_POINTS) -> np.ndarray:
    """[points, 2] (min, max) of the mono mix per slice; fewer rows for very short audio."""
    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    n = min(points, len(mono))
    if n == 0:
        return np.zeros((0, 2), dtype=np.float32)
    edges = np.linspace(0, len(mono), n + 1).astype(int)
    mins = np.minimum.reduceat(mono, edges[:-1])
    maxs = np.maximum.reduceat(mono, edges[:-1])
    return np.stack([mins, maxs], axis=1).astype(np.float32)
