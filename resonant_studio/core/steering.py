"""'Use as reference': a reference track's analysis -> changes to the session context.

The context is what every backend honours, so putting the reference's tempo, key, energy
and style words there steers all of them without special code. What only some backends
use (the chroma over time for MusicGen melody, the audio to continue for plain MusicGen)
travels in ``GenerationRequest.reference`` as an ``engine.analysis.ReferenceAnalysis``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from engine.analysis import AudioAnalysis, ReferenceAnalysis, style_words
from engine.context import MAX_TEMPO, MIN_TEMPO
from engine.theory import SCALES, diatonic_chord, pitch_name
from resonant_studio.core.errors import AppError

CONTEXT_MODES = ("major", "minor")


@dataclass(frozen=True)
class Steering:
    context: dict[str, Any]
    """The session context with the reference's tempo, key, energy and tags."""
    prompt: str
    """The prompt with the reference's style words added (words already there are not repeated)."""
    reference: ReferenceAnalysis
    """Hand this to ``studio.build_request(..., reference=...)``."""
    changes: tuple[str, ...]
    """What changed, for a status line: ('tempo 120 -> 96 bpm', 'key A minor -> D minor', ...)."""


def fit_tempo(tempo: float) -> float:
    """A reference tempo the context accepts: halved or doubled into range, 2 decimals."""
    while tempo > MAX_TEMPO:
        tempo /= 2.0
    while tempo < MIN_TEMPO:
        tempo *= 2.0
    return round(tempo, 2)


def _move_chords(chords: Sequence[Mapping[str, Any]], old_tonic: int, old_mode: str,
                 new_tonic: int, new_mode: str) -> list[dict]:
    """Keep the progression's degrees in the new key: in the same mode a transposition;
    across modes each diatonic chord becomes the new key's chord on that degree."""
    delta = (new_tonic - old_tonic) % 12
    old_scale = SCALES.get(old_mode, SCALES["major"])
    out = []
    for c in chords:
        root, quality = int(c["root"]), str(c["quality"])
        offset = (root - old_tonic) % 12
        if old_mode != new_mode and new_mode in SCALES and offset in old_scale:
            triad = diatonic_chord(new_tonic, new_mode, old_scale.index(offset) + 1)
            seventh = quality in ("maj7", "min7", "dom7")
            quality = {"maj": "maj7", "min": "min7"}.get(triad.quality, triad.quality) if seventh else triad.quality
            out.append({"root": triad.root, "quality": quality})
        else:
            out.append({"root": (root + delta) % 12, "quality": quality})
    return out


def steer(context: Mapping[str, Any], prompt: str, analysis: AudioAnalysis, *,
          continue_audio: bool = False, tags: Sequence[str] = (), keep_timing: bool = False) -> Steering:
    """The context and prompt after using ``analysis`` as the reference.

    ``tags`` are extra words (e.g. the library's tags for the reference). Values the
    analysis could not measure (the tempo of a drone, the key of a drum loop) stay as they were.
    ``keep_timing``: the tempo and key stay the session's (locked tracks are playing in them).
    """
    ctx = dict(context)
    changes: list[str] = []
    reference = analysis.reference(continue_audio=continue_audio)  # the whole analysis, for the engines
    if keep_timing:
        analysis = _without_timing(analysis)
    if analysis.tempo is not None:
        tempo = fit_tempo(analysis.tempo)
        old = float(ctx.get("tempo", 120.0))
        if abs(tempo - old) > 1e-6:
            changes.append(f"tempo {old:g} -> {tempo:g} bpm")
        ctx["tempo"] = tempo
    if analysis.tonic is not None and analysis.mode in CONTEXT_MODES:
        old_tonic, old_mode = int(ctx.get("tonic", 0)), str(ctx.get("mode", "major"))
        if (old_tonic, old_mode) != (analysis.tonic, analysis.mode):
            ctx["chords"] = _move_chords(ctx.get("chords") or [], old_tonic, old_mode, analysis.tonic, analysis.mode)
            changes.append(f"key {pitch_name(old_tonic)} {old_mode} -> {analysis.key_name}")
        ctx["tonic"], ctx["mode"] = analysis.tonic, analysis.mode
    ctx["energy"] = round(float(analysis.energy), 3)
    words = list(dict.fromkeys([*(t.strip().lower() for t in tags if t.strip()), *style_words(analysis)]))
    ctx["tags"] = list(dict.fromkeys([*(ctx.get("tags") or []), *words]))
    new_prompt = prompt_with_reference(prompt, words, analysis)
    if new_prompt != prompt.strip():
        changes.append(f"prompt: {new_prompt}")
    return Steering(ctx, new_prompt, reference, tuple(changes))


_TEMPO_RE = re.compile(r"(?:\b(?:at|@)\s*)?\b\d{2,3}(?:\.\d+)?\s*bpm\b", re.IGNORECASE)
_KEY_RE = re.compile(r"(?:\bin\s+)?\b[A-G][#b♯♭]?\s*(?:major|minor)\b")


def prompt_with_reference(prompt: str, words: Sequence[str], analysis: AudioAnalysis) -> str:
    """The prompt with the reference's style words, key and tempo; a tempo or key the prompt
    already named is replaced, since prompt reading takes the first one it finds."""
    text = prompt
    if analysis.tempo is not None:
        text = _TEMPO_RE.sub("", text)
    if analysis.key_name is not None:
        text = _KEY_RE.sub("", text)
    text = re.sub(r"\s+,", ",", re.sub(r"\s{2,}", " ", text))
    text = re.sub(r",(\s*,)+", ",", text).strip(" ,")
    present = text.lower()
    extra = [w for w in words if not re.search(rf"\b{re.escape(w)}\b", present)
             and not (analysis.key_name is not None and w == analysis.mode)]
    if analysis.key_name is not None:
        extra.append(analysis.key_name)
    if analysis.tempo is not None:
        extra.append(f"{fit_tempo(analysis.tempo):.0f} bpm")
    return ", ".join([p for p in [text, *extra] if p])


def _without_timing(analysis: AudioAnalysis) -> AudioAnalysis:
    from dataclasses import replace

    return replace(analysis, tempo=None, tonic=None, mode=None)


def timing_offer(session: Any, analysis: AudioAnalysis) -> str | None:
    """What following the reference's tempo and key would change under locked tracks, in words
    (None when nothing would, or no track is locked): the window asks before doing it."""
    if not any(t.locked for t in session.tracks):
        return None
    full = steer(session.context, session.prompt, analysis)
    kept = [c for c in full.changes if c.startswith(("tempo", "key"))]
    return ", ".join(kept) or None


def apply_reference(session: Any, analysis: AudioAnalysis, *, continue_audio: bool = False,
                    tags: Sequence[str] = (), follow_timing: bool | None = None) -> Steering:
    """Steer ``session`` (a ``tracks.Session``): its context changes as one undo step and its
    prompt gains the style words. Returns the steering, whose ``reference`` the next
    generation request carries.

    With a locked track in the session the tempo and key stay the session's unless
    ``follow_timing`` is True (the person agreed: the caller then conforms the locked audio),
    so nothing changes under a locked track without asking. A reference with no key (a drum
    loop) never changes the key.
    """
    if analysis.tempo is None and analysis.tonic is None:
        raise AppError(
            f"'{analysis.title}' has neither a tempo nor a key to follow ({'; '.join(analysis.warnings) or 'no beat or pitch found'}): "
            "choose a longer or more musical reference"
        )
    if follow_timing is None:
        follow_timing = not any(t.locked for t in session.tracks)
    steering = steer(session.context, session.prompt, analysis, continue_audio=continue_audio, tags=tags,
                     keep_timing=not follow_timing)
    session.context = steering.context
    session.prompt = steering.prompt
    return steering
