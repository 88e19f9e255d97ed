"""What the composer hears in the locked parts: their kicks and snares, and their chords.

Any locked part counts, whatever its role or origin: a part's notes are read when it has them
(General MIDI kick/snare pitches), else its ``LockedFeatures``, else its audio is measured
here. The drum measurement is numpy only (a few ms a second of audio); chords need librosa's
chroma and are measured only for parts that have neither notes nor features.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from engine.backends.base import GenerationRequest, LockedPart
from engine.composer.grid import KICK_PITCHES, kick_beats_from_notes, snap_beats
from engine.context import MusicalContext

SNARE_PITCHES = (37, 38, 39, 40)


def _percussion(part: LockedPart, sample_rate: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(kick seconds, snare seconds) of a locked part that is percussive, else None."""
    f = part.features
    if f is not None:
        return (np.asarray(f.kicks), np.asarray(f.snares)) if f.is_percussive else None
    from engine.analysis.drum_onsets import detect_drums
    from engine.analysis.onsets import mono_at_rate, spectrogram
    from engine.analysis.role import is_percussive

    y = mono_at_rate(part.audio, sample_rate)
    spec = spectrogram(y)
    d = detect_drums(None, 22050, spec, y)
    if part.role != "drums" and not is_percussive(spec, d.all)[0]:
        return None
    return d.kick, d.snare


def locked_drums(request: GenerationRequest) -> tuple[np.ndarray, np.ndarray, str] | None:
    """(kick beats, beats of snares without a kick, where they came from) of the locked parts."""
    ctx = request.context
    kicks: list[np.ndarray] = []
    snares: list[np.ndarray] = []
    sources: list[str] = []
    for part in request.locked:
        if part.notes is not None:
            found = kick_beats_from_notes(part.notes)
            if found.size:
                kicks.append(found)
                snares.append(np.asarray(sorted({round(float(n[1]), 6) for n in part.notes
                                                 if int(n[0]) in SNARE_PITCHES})))
                sources.append("locked drum notes")
                continue
            if any(int(n[0]) in KICK_PITCHES for n in part.notes) or part.role != "drums":
                continue
        found_s = _percussion(part, request.sample_rate)
        if found_s is None or found_s[0].size == 0:
            continue
        kicks.append(np.unique(np.round(snap_beats(found_s[0], ctx.tempo), 6)))
        snares.append(np.unique(np.round(snap_beats(found_s[1], ctx.tempo), 6)) if found_s[1].size else np.zeros(0))
        sources.append("locked drum audio" if part.role == "drums" else f"locked {part.role} audio")
    if not kicks:
        return None
    k = _merge_close(np.concatenate(kicks), ctx.tempo)
    s = np.concatenate(snares) if snares else np.zeros(0)
    # Snares struck with a kick are the kick's business; only lone snares are kept clear of.
    lone = np.array([x for x in s if k.size == 0 or np.min(np.abs(k - x)) * 60.0 / ctx.tempo > 0.05])
    return k, lone, ", ".join(sorted(set(sources)))


def _merge_close(beats: np.ndarray, tempo: float) -> np.ndarray:
    """Drop kicks within 30 ms of an earlier one (the same kick heard in two locked tracks)."""
    keep: list[float] = []
    for b in np.sort(beats):
        if not keep or (b - keep[-1]) * 60.0 / tempo > 0.03:
            keep.append(float(b))
    return np.asarray(keep)


def locked_features(parts: Sequence[LockedPart], sample_rate: int, context: MusicalContext) -> list:
    """The ``LockedFeatures`` of every locked part that has no notes (measured when missing)."""
    from engine.locked import features_from_audio

    out = []
    for part in parts:
        if part.features is not None:
            out.append(part.features)
        elif part.notes is None and part.role != "drums":
            out.append(features_from_audio(part.audio, sample_rate, int(round(context.beats_per_bar)),
                                           near_tempo=context.tempo, known_grid=(context.tempo, 0.0)))
    return out


def follow_locked_chords(request: GenerationRequest) -> tuple[MusicalContext, bool]:
    """The request's context with the chords heard in the locked tonal parts, and whether it
    now follows them. A locked part cannot change, so what it plays wins over the context's
    progression; ``params={"follow_locked_chords": False}`` keeps the context's own."""
    ctx = request.context
    if request.params.get("follow_locked_chords", True) is False or not any(spec.role in ("bass", "harmony", "melody", "other") for spec in request.parts):
        return ctx, False
    from engine.locked import context_chords

    feats = locked_features(request.locked, request.sample_rate, ctx)
    chords = context_chords(feats, ctx)
    if chords is None:
        return ctx, False
    return ctx.with_changes(chords=chords), True
