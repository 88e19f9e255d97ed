"""Importing audio the app did not write, so that every engine can fit it.

``prepare_import`` is the compute (any thread; the window runs it on its files worker): read
the file through the one audio reader, listen to it (``engine.locked.features_from_audio``:
tempo, beat grid with downbeat, kick/snare/hat onsets, chords per bar, key or "no key", a
proposed role), and conform it to the session (aligned on its first downbeat, time-stretched
with Rubber Band to the session tempo, looped or padded to the session's length, never cut).
``apply_import`` adds it to the session as one undoable step: a locked track whose active take
is the conformed audio and whose first take is the original as it was, so "keep the original
tempo" is one take away and nothing is lost. An import into an empty studio makes the session
at the import's own tempo, meter, key and length.

What was detected is stored with the take (``FEATURES_KEY``), so a saved project keeps it and
every generation request carries it to the engines.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.context import MusicalContext
from engine.errors import EngineError
from engine.import_conform import conform_import, context_for_import
from engine.locked import LockedFeatures, features_from_audio
from resonant_studio.core.audio import read_audio
from resonant_studio.core.errors import AppError
from tracks import Session, Take, Track
from tracks.track import ROLES

FEATURES_KEY = "features"
"""A take's params: what was detected in its audio (``LockedFeatures.to_dict()``), in session time."""
CONFORM_KEY = "conform"
"""A take's params: what conform did (``ConformInfo.to_dict()``)."""
DEFAULT_RATE = 44100


@dataclass(frozen=True, eq=False)
class PreparedImport:
    name: str
    path: str
    role: str
    role_proposed: str
    original: np.ndarray
    """The file at the session rate, stereo, as it is."""
    original_features: LockedFeatures
    conformed: np.ndarray | None
    """Fitted to the session (None when it keeps its own tempo and needed no fitting)."""
    conformed_features: LockedFeatures | None
    conform_info: dict[str, Any] | None
    new_context: MusicalContext | None
    """For an import into an empty studio: the session it makes."""
    sample_rate: int
    warnings: tuple[str, ...] = ()


def prepare_import(path: str | Path, context: MusicalContext | None, *, sample_rate: int = DEFAULT_RATE,
                   role: str | None = None, at_bar: int = 1, keep_tempo: bool = False) -> PreparedImport:
    """Read, listen, conform. ``context`` None: an empty studio (the import makes the session).

    ``at_bar`` counts from 1. Raises AppError with one sentence.
    """
    if role is not None and role not in ROLES:
        raise AppError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    audio = read_audio(path, sample_rate)
    name = Path(path).stem or "Imported"
    try:
        # The recording's own reading, not one pulled toward the session's tempo: a syncopated
        # bass line's onsets fit a level 7/8 of its tempo better than its own, and a search near
        # the session finds that level. Conform folds half- and double-time readings itself.
        features = features_from_audio(audio, sample_rate,
                                       beats_per_bar=int(context.beats_per_bar) if context else 4)
        new_context = None
        if context is None:
            new_context = context_for_import(features)
            target = new_context
        else:
            target = context
        if not 1 <= at_bar <= target.bars:
            raise AppError(f"bar {at_bar} is outside the session's {target.bars} bars: choose 1 to {target.bars}")
        fitted = conform_import(audio, sample_rate, features, target, at_bar=at_bar - 1, keep_tempo=keep_tempo)
    except EngineError as exc:
        raise AppError(f"cannot import {Path(path).name}: {str(exc).rstrip('.')}") from exc
    n = target.num_samples(sample_rate)
    conformed = _stereo_at_least(np.asarray(fitted.audio, dtype=np.float32), n)
    return PreparedImport(name=name, path=str(path), role=role or features.role, role_proposed=features.role,
                          original=audio, original_features=features, conformed=conformed,
                          conformed_features=fitted.features, conform_info=fitted.info.to_dict(),
                          new_context=new_context, sample_rate=sample_rate,
                          warnings=tuple(dict.fromkeys([*features.warnings, *fitted.info.warnings])))


def _stereo_at_least(audio: np.ndarray, n: int) -> np.ndarray:
    """Stereo, at least the session's length (padded with silence). Longer audio is kept whole:
    nothing is cut; the mix plays the piece's length, and conform's warning says what runs past."""
    if audio.ndim == 1:
        audio = audio[:, None]
    if audio.shape[1] == 1:
        audio = np.repeat(audio, 2, axis=1)
    audio = audio[:, :2]
    if audio.shape[0] >= n:
        return np.ascontiguousarray(audio)
    out = np.zeros((n, 2), dtype=np.float32)
    out[: audio.shape[0]] = audio
    return out


def unique_name(session: Session, base: str) -> str:
    names = {t.name.lower() for t in session.tracks}
    if base.lower() not in names:
        return base
    n = 2
    while f"{base} {n}".lower() in names:
        n += 1
    return f"{base} {n}"


def apply_import(session: Session | None, prepared: PreparedImport) -> tuple[Session, Track]:
    """Add the import as a locked track (one undoable step); a new session when ``session`` is None."""
    if session is None:
        ctx = prepared.new_context or MusicalContext()
        session = Session(ctx.to_dict(), name=prepared.name, sample_rate=prepared.sample_rate, prompt="")
    elif session.sample_rate != prepared.sample_rate:
        raise AppError("the session's sample rate changed while the file was read: import it again")
    file = Path(prepared.path).name
    track = Track(unique_name(session, prepared.name), prepared.role)
    original = Take(audio=prepared.original, prompt=f"imported from {file}",
                    backend="", params={FEATURES_KEY: prepared.original_features.to_dict(), "original": True,
                                        "source_file": file})
    takes = [original]
    if prepared.conformed is not None:
        takes.append(Take(audio=prepared.conformed, prompt=f"imported from {file}, fitted to the session",
                          backend="", params={FEATURES_KEY: prepared.conformed_features.to_dict(),
                                              CONFORM_KEY: prepared.conform_info, "source_file": file}))
    with session.history.group(f"Import {file}"):
        session.add_track(track)
        for take in takes:
            track.add_take(take)
        track.locked = True
    return session, track


def features_of(take: Take) -> LockedFeatures | None:
    """What was detected in a take's audio, if it was (imports); None otherwise."""
    data = take.params.get(FEATURES_KEY) if take.params else None
    if not isinstance(data, dict):
        return None
    try:
        return LockedFeatures.from_dict(data)
    except (KeyError, TypeError, ValueError):
        return None


def _unpitched(track: Track, take: Take) -> bool:
    """A drum part has no key to move: a key change stretches it in time only."""
    features, fitted = features_of(take), take.params.get("fitted_to")
    if isinstance(fitted, dict) and "pitched" in fitted:  # a fitted take has no features of its own
        return track.role == "drums" or not fitted["pitched"]
    return track.role == "drums" or (features is not None and features.tonic is None)


def conform_locked(session: Session, tempo: float, tonic: int | None = None) -> list[Track]:
    """Fit every locked track with audio to a new tempo (and key): Rubber Band stretches it
    (and shifts a pitched part by the smallest interval to the new tonic; drums and audio
    with no detected key keep their pitch), as a new take, the old
    one kept. Only after the person agreed (Use as reference, a preset): one undoable step
    with the context change the caller makes. Returns the tracks changed."""
    from engine.stretch import time_stretch

    old_tempo = session.tempo
    old_tonic = int(session.context.get("tonic", 0))
    shift = 0 if tonic is None else ((int(tonic) - old_tonic + 6) % 12) - 6
    rate = float(tempo) / float(old_tempo)
    changed = []
    if abs(rate - 1.0) < 1e-6 and shift == 0:
        return changed
    for track in session.tracks:
        take = track.active_take
        if not track.locked or take is None:
            continue
        unpitched = _unpitched(track, take)
        semitones = 0 if unpitched else shift
        if abs(rate - 1.0) < 1e-6 and semitones == 0:
            continue
        try:
            audio = time_stretch(take.audio, session.sample_rate, rate, semitones=float(semitones))
        except EngineError as exc:
            raise AppError(f"cannot fit {track.name} to {tempo:g} bpm: {str(exc).rstrip('.')}") from exc
        fitted = Take(audio=audio, notes=None, prompt=take.prompt, seed=take.seed, backend=take.backend,
                      params={**{k: v for k, v in take.params.items() if k != FEATURES_KEY},
                              "fitted_from": take.id, "fitted_to": {"tempo": float(tempo), "semitones": semitones,
                                                                      "pitched": not unpitched}})
        track.locked = False
        track.add_take(fitted)
        track.locked = True
        changed.append(track)
    return changed
