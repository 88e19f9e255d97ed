"""What is heard in a locked track, so every engine can fit it whoever wrote it.

``LockedFeatures`` is computed once from a track's audio (at import, or when it is locked)
and rides on ``LockedPart.features``: onsets per drum voice, the beat grid and its downbeat,
the chord of each bar, the key with a confidence (None for drums: "no key"), the tempo and a
role proposal. Times are seconds from the start of the audio as it sits in the session.

``context_from_locked`` turns the features of the locked tonal tracks into the session's
chord progression (and key, when the prompt named none): the app calls it before generating.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, Sequence

import numpy as np

from engine.context import MusicalContext
from engine.theory import Chord

NO_KEY_CONFIDENCE = 0.0


@dataclass(frozen=True, eq=False)
class LockedFeatures:
    """Plain, read-only data about one locked track's audio."""

    duration: float
    tempo: float | None
    beats: tuple[float, ...]
    downbeat: float | None
    """Seconds to the first beat that starts a bar (None when no beat was found)."""
    beats_per_bar: int
    beat_strength: float
    kicks: tuple[float, ...] = ()
    snares: tuple[float, ...] = ()
    hats: tuple[float, ...] = ()
    onsets: tuple[float, ...] = ()
    """Every onset, whatever made it."""
    chords: tuple[Chord | None, ...] = ()
    """One per bar from ``downbeat`` (None where no chord fits)."""
    tonic: int | None = None
    mode: str | None = None
    key_confidence: float = NO_KEY_CONFIDENCE
    role: str = "other"
    """Proposed from the audio: drums, bass, harmony or melody."""
    percussive: float = 0.0
    warnings: tuple[str, ...] = field(default=())

    @property
    def has_key(self) -> bool:
        return self.tonic is not None

    @property
    def key_name(self) -> str:
        from engine.theory import pitch_name

        return "no key" if self.tonic is None else f"{pitch_name(self.tonic)} {self.mode}"

    @property
    def is_percussive(self) -> bool:
        return self.role == "drums"

    @property
    def is_tonal(self) -> bool:
        return self.role in ("harmony", "melody", "bass") and any(c is not None for c in self.chords)

    def chord_at(self, seconds: float) -> Chord | None:
        """The chord of the bar of this track that holds ``seconds`` (None outside)."""
        if self.downbeat is None or not self.tempo or not self.chords:
            return None
        bar_s = self.beats_per_bar * 60.0 / self.tempo
        i = int(np.floor((seconds - self.downbeat) / bar_s))
        return self.chords[i] if 0 <= i < len(self.chords) else None

    def to_dict(self) -> dict:
        """Plain JSON-able data (rounded), e.g. for a project file or `resonant analyze`."""
        r = lambda xs: [round(float(x), 4) for x in xs]  # noqa: E731
        return {
            "duration": round(self.duration, 4), "tempo": None if self.tempo is None else round(self.tempo, 3),
            "beats": r(self.beats), "downbeat": None if self.downbeat is None else round(self.downbeat, 4),
            "beats_per_bar": self.beats_per_bar, "beat_strength": round(self.beat_strength, 3),
            "kicks": r(self.kicks), "snares": r(self.snares), "hats": r(self.hats), "onsets": r(self.onsets),
            "chords": [None if c is None else c.to_dict() for c in self.chords],
            "key": self.key_name, "tonic": self.tonic, "mode": self.mode,
            "key_confidence": round(self.key_confidence, 3), "role": self.role,
            "percussive": round(self.percussive, 3), "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "LockedFeatures":
        t = lambda k: tuple(float(x) for x in d.get(k, ()))  # noqa: E731
        return cls(
            duration=float(d["duration"]), tempo=d.get("tempo"), beats=t("beats"), downbeat=d.get("downbeat"),
            beats_per_bar=int(d.get("beats_per_bar", 4)), beat_strength=float(d.get("beat_strength", 0.0)),
            kicks=t("kicks"), snares=t("snares"), hats=t("hats"), onsets=t("onsets"),
            chords=tuple(None if c is None else Chord.from_dict(c) for c in d.get("chords", ())),
            tonic=d.get("tonic"), mode=d.get("mode"), key_confidence=float(d.get("key_confidence", 0.0)),
            role=str(d.get("role", "other")), percussive=float(d.get("percussive", 0.0)),
            warnings=tuple(d.get("warnings", ())),
        )


def features_from_audio(audio: np.ndarray, sample_rate: int, beats_per_bar: int = 4,
                        near_tempo: float | None = None,
                        known_grid: tuple[float, float] | None = None) -> LockedFeatures:
    """Everything a locked track carries, measured on its audio (``[N]`` or ``[N, C]``).

    ``near_tempo`` (the session's) is given for audio already conformed to the session, so
    the grid is read at the session's tempo octave; ``known_grid`` (tempo, downbeat seconds)
    is given when conform has put the audio on the session grid, so bars are the session's. Costs about a second per minute of audio
    (librosa's chroma is the largest part).
    """
    from engine.analysis.beats import track_beats
    from engine.analysis.chords import CHROMA_RATE_22K, chords_per_bar, chroma_cqt, key_from_chords, key_of_bass_line, roots_per_bar
    from engine.analysis.drum_onsets import detect_drums
    from engine.analysis.onsets import mono_at_rate, spectrogram
    from engine.analysis.role import propose_role

    y = mono_at_rate(audio, sample_rate)
    duration = y.size / 22050.0
    if y.size == 0 or float(np.sqrt(np.mean(np.square(y)))) < 1e-5:
        return LockedFeatures(duration, None, (), None, beats_per_bar, 0.0, warnings=("the audio is silent",))
    spec = spectrogram(y)
    chroma, bass_chroma = chroma_cqt(y)
    drums = detect_drums(None, 22050, spec, y)
    proposal = propose_role(spec, chroma, drums.all)
    percussive = proposal.role == "drums"
    grid = track_beats(spec, beats_per_bar, drums=drums if percussive else None,
                       chroma=None if percussive else chroma, chroma_rate=CHROMA_RATE_22K, near_tempo=near_tempo,
                       onset_times=drums.all)
    if known_grid is not None:
        period = 60.0 / known_grid[0]
        down = float(known_grid[1])
        grid = replace(grid, tempo=float(known_grid[0]), first_beat=down % period, downbeat=down)
    warnings = []
    if not grid.clear:
        warnings.append("no clear beat was found; the tempo is a guess")
    chords: tuple[Chord | None, ...] = ()
    tonic = mode = None
    confidence = NO_KEY_CONFIDENCE
    if percussive:
        warnings.append("drums: no key")
    else:
        total = chroma.sum(axis=0)
        profile = total / max(float(total.sum()), 1e-12)
        if proposal.role == "bass":
            # Single notes: the key from the notes (duration, downbeats, phrase starts, last), each
            # bar's root from its bass notes, its quality from that key (a bass line names roots).
            # The downbeats and phrase starts are the line's own: read at a session's double tempo,
            # every other "bar line" falls mid-bar and the phrases start on the wrong chords.
            own = grid
            if near_tempo is not None or known_grid is not None:
                own = track_beats(spec, beats_per_bar, chroma=chroma, chroma_rate=CHROMA_RATE_22K,
                                  onset_times=drums.all)
            key = key_of_bass_line(y, own, duration)
            chords = roots_per_bar(bass_chroma, CHROMA_RATE_22K, grid, duration, key)
        else:
            chords = chords_per_bar(chroma, bass_chroma, CHROMA_RATE_22K, grid, duration)
            key = key_from_chords(profile, chords)
        if key is not None:
            tonic, mode, confidence = key.tonic, key.mode, key.confidence
            if not key.mode_clear:
                warnings.append("the line never plays a third or a sixth: major or minor is a guess")
    return LockedFeatures(
        duration=duration, tempo=grid.tempo, beats=tuple(float(b) for b in grid.beat_times(duration)),
        downbeat=grid.downbeat, beats_per_bar=beats_per_bar, beat_strength=grid.strength,
        kicks=tuple(float(t) for t in drums.kick) if percussive else (),
        snares=tuple(float(t) for t in drums.snare) if percussive else (),
        hats=tuple(float(t) for t in drums.hats) if percussive else (),
        onsets=tuple(float(t) for t in drums.all), chords=chords, tonic=tonic, mode=mode,
        key_confidence=confidence, role=proposal.role, percussive=proposal.percussive, warnings=tuple(warnings),
    )


def shifted(features: LockedFeatures, offset_s: float, rate: float = 1.0) -> LockedFeatures:
    """The features of the same audio placed ``offset_s`` later and played ``rate`` x faster."""
    move = lambda xs: tuple(float(x / rate + offset_s) for x in xs)  # noqa: E731
    return replace(
        features, duration=features.duration / rate + offset_s,
        tempo=None if features.tempo is None else features.tempo * rate, beats=move(features.beats),
        downbeat=None if features.downbeat is None else features.downbeat / rate + offset_s,
        kicks=move(features.kicks), snares=move(features.snares), hats=move(features.hats), onsets=move(features.onsets),
    )


def context_chords(features: Iterable[LockedFeatures], context: MusicalContext) -> tuple[Chord, ...] | None:
    """One chord per session bar heard in the locked tonal tracks (None when none has chords).

    Each session bar takes the chord the tonal tracks agree on at its middle (a harmony part
    outvotes a bass, which only says the root); bars nobody covers repeat the bar a
    progression-length before, so a 4-bar loop's chords carry over an 8-bar session.
    """
    tonal = [f for f in features if f.is_tonal]
    if not tonal:
        return None
    bar_s = context.beats_per_bar * context.seconds_per_beat
    out: list[Chord | None] = []
    for bar in range(context.bars):
        mid = (bar + 0.5) * bar_s
        votes: dict[tuple[int, str], float] = {}
        for f in tonal:
            c = f.chord_at(mid)
            if c is not None:
                weight = 0.5 if f.role == "bass" else 1.0
                votes[(c.root, c.quality)] = votes.get((c.root, c.quality), 0.0) + weight
        out.append(Chord(*max(votes, key=votes.get)) if votes else None)
    if all(c is None for c in out):
        return None
    for i, c in enumerate(out):
        if c is None:
            known = [out[j] for j in range(i % 4, len(out), 4) if out[j] is not None] or [x for x in out if x]
            out[i] = known[0]
    return tuple(out)  # type: ignore[return-value]


def context_from_locked(context: MusicalContext, features: Sequence[LockedFeatures], *,
                        chords_stated: bool = False, key_stated: bool = False) -> MusicalContext:
    """``context`` with the locked tonal tracks' chords (unless the prompt stated chords) and
    their key (unless the prompt stated one). Tempo, meter and length are never changed here."""
    changes: dict = {}
    if not chords_stated:
        chords = context_chords(features, context)
        if chords is not None:
            changes["chords"] = chords
    if not key_stated:
        keyed = [f for f in features if f.is_tonal and f.has_key]
        if keyed:
            best = max(keyed, key=lambda f: (f.role != "bass", f.key_confidence))
            changes["tonic"], changes["mode"] = int(best.tonic), str(best.mode)
    return context.with_changes(**changes) if changes else context
