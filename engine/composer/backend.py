"""The built-in composer: writes each part from the musical context and renders it with numpy.

Instant and weight-free, it is the default engine. Parts are deterministic per (seed, role):
the same request gives bit-identical audio. The bass is placed on the kicks of the drums it
will play with: a locked drum track's notes, else kicks detected in a locked drum track's
audio, else the drums generated in the same request, else the style's own drum pattern.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from engine.backends.base import CancelCallback, GeneratedPart, GenerationRequest, ProgressCallback
from engine.context import ALL_ROLES, MusicalContext
from engine.errors import BackendError, GenerationCancelled
from engine.theory import Note
from engine.composer import bass, drums, harmony, melody
from engine.composer.grid import kick_beats_from_notes, part_rng
from engine.composer.listen import follow_locked_chords, locked_drums
from engine.composer.render import fit_level_for, render_drums, render_tonal
from engine.composer.styles import check_voice, family_of, voice_for

MIN_RATE, MAX_RATE = 8000, 192000

# Stereo placement per role: the low end in the middle, the tonal parts a little apart.
_PAN = {"drums": 0.0, "bass": 0.0, "harmony": -0.2, "melody": 0.2, "other": 0.35}


class ComposerBackend:
    """Backend "composer": symbolic parts per role, rendered by a small numpy synth."""

    name = "composer"

    def __init__(self, **options: Any) -> None:
        # Options meant for other engines (model_dir, device...) are accepted and ignored.
        self.options = dict(options)

    # --- the Backend protocol -----------------------------------------------------------
    def generate(
        self,
        request: GenerationRequest,
        progress: ProgressCallback | None = None,
        cancel: CancelCallback | None = None,
    ) -> list[GeneratedPart]:
        _check_request(request)
        ctx, following = follow_locked_chords(request)
        family = family_of(ctx.genre)
        seen: dict[str, int] = {}
        indices = []
        for spec in request.parts:
            indices.append(seen.get(spec.role, 0))
            seen[spec.role] = indices[-1] + 1
        # Drums come first whatever the order asked for: the bass is placed on their kicks.
        drum_cache: dict[int, tuple[list[Note], dict]] = {}
        for i, spec in enumerate(request.parts):
            if spec.role == "drums" and indices[i] == 0:
                drum_cache[i] = self._write_drums(ctx, family, request, indices[i])
        needs_kicks = any(spec.role == "bass" for spec in request.parts)
        kicks, avoid, kick_source = (self._kicks(request, family, drum_cache) if needs_kicks
                                     else (np.zeros(0), np.zeros(0), "none"))

        results: list[GeneratedPart] = []
        total = len(request.parts)
        for i, spec in enumerate(request.parts):
            if cancel is not None and cancel():
                raise GenerationCancelled()
            if progress is not None:
                progress(i / total, f"composing {spec.name} ({spec.role})")
            rng = part_rng(request.seed, spec.role, indices[i])
            overrides = _role_overrides(request.params, spec.role)
            if spec.role == "drums":
                notes, params = drum_cache.get(i) or self._write_drums(ctx, family, request, indices[i])
                audio = render_drums(notes, ctx, request.sample_rate, params["voice"])
            else:
                voice = check_voice(spec.role, overrides.get("voice") or voice_for(spec.role, ctx.instrument(spec.role), family))
                notes, params = _write_tonal(spec.role, ctx, family, voice, rng, overrides, kicks, kick_source,
                                             avoid, following)
                audio = render_tonal(notes, ctx, request.sample_rate, voice, _PAN[spec.role])
            fit_level_for(spec.role, audio)
            params = {"engine": self.name, "seed": int(request.seed), "role": spec.role,
                      "style": family, **params}
            if following and spec.role != "drums":
                params["chords_from"] = "locked tracks"
            results.append(GeneratedPart(spec.name, spec.role, audio, tuple(notes), params))
        if progress is not None:
            progress(1.0, "done")
        return results

    # --- helpers ------------------------------------------------------------------------
    def _write_drums(self, ctx: MusicalContext, family: str, request: GenerationRequest, index: int) -> tuple[list[Note], dict]:
        overrides = _role_overrides(request.params, "drums")
        kit = check_voice("drums", overrides.get("voice") or voice_for("drums", ctx.instrument("drums"), family))
        pattern = overrides.get("pattern")
        if pattern is not None and pattern not in drums.patterns_for(ctx, family):
            names = ", ".join(drums.patterns_for(ctx, family))
            raise BackendError(f"the composer has no {family} drum pattern {pattern!r} in {ctx.meter[0]}/{ctx.meter[1]}: choose one of {names}")
        notes, plan = drums.write_drums(ctx, family, part_rng(request.seed, "drums", index), pattern)
        return notes, {"voice": kit, **plan.to_params()}

    def _kicks(self, request: GenerationRequest, family: str,
               drum_cache: Mapping[int, tuple[list[Note], dict]]) -> tuple[np.ndarray, np.ndarray, str]:
        """Where the kicks are, the lone snares to keep clear of, and where that came from."""
        ctx = request.context
        heard = locked_drums(request)
        if heard is not None and heard[0].size:
            return heard
        if drum_cache:
            notes = next(iter(drum_cache.values()))[0]
            return kick_beats_from_notes(notes), _snare_beats(notes), "generated drums"
        # No drums anywhere: the style's own drum pattern still gives the bass its groove.
        notes, _ = drums.write_drums(ctx, family, part_rng(request.seed, "drums", 0))
        return kick_beats_from_notes(notes), _snare_beats(notes), "style pattern"


def _snare_beats(notes) -> np.ndarray:
    kicks = set(kick_beats_from_notes(notes).round(6))
    return np.asarray(sorted({round(float(n[1]), 6) for n in notes if int(n[0]) in (38, 39, 40)} - kicks))


def _write_tonal(role: str, ctx: MusicalContext, family: str, voice: str, rng: np.random.Generator,
                 overrides: Mapping[str, Any], kicks: np.ndarray, kick_source: str,
                 avoid: np.ndarray, following: bool = False) -> tuple[list[Note], dict]:
    if role == "bass":
        # Defaults are drawn even when pinned, so pinning a choice leaves the rest unchanged.
        default = bass.default_pattern(family, ctx.energy, rng)
        pattern = overrides.get("pattern") or default
        default_groove = bass.default_groove(pattern, ctx.energy, rng)
        groove = overrides.get("groove") or default_groove
        notes = bass.write_bass(ctx, kicks, pattern, rng, avoid, groove)
        return notes, {"voice": voice, "pattern": pattern, "groove": groove, "kick_source": kick_source,
                       "kicks": len(kicks)}
    if role == "harmony":
        rhythm = overrides.get("rhythm") or overrides.get("pattern") or harmony.default_rhythm(ctx, family, voice)
        notes, params = harmony.write_harmony(ctx, rhythm, rng)
        return notes, {"voice": voice, **params}
    if role == "melody":
        notes, params = melody.write_melody(ctx, rng, overrides.get("form") or overrides.get("pattern"),
                                            chord_tones=0.8 if following else 0.0)
        return notes, {"voice": voice, **params}
    default = melody.default_texture(family, voice, rng)
    texture = overrides.get("texture") or overrides.get("pattern") or default
    notes, params = melody.write_texture(ctx, texture, rng)
    return notes, {"voice": voice, **params}


def _role_overrides(params: Mapping[str, Any], role: str) -> Mapping[str, Any]:
    """Per-role choices a caller may pin, e.g. ``params={"bass": {"voice": "808"}}``.

    Keys are the names the part's own params use: "voice" for every role, "pattern" for
    drums and bass, "rhythm" for harmony, "form" for melody, "texture" for other ("pattern"
    is accepted for all of them). Anything else in a role's mapping is ignored.
    """
    value = params.get(role, {}) if isinstance(params, Mapping) else {}
    if not isinstance(value, Mapping):
        raise BackendError(f"composer parameters for {role} must be a mapping such as {{'voice': ...}}, not {value!r}")
    return value


def _check_request(request: GenerationRequest) -> None:
    rate = request.sample_rate
    if not isinstance(rate, (int, np.integer)) or not (MIN_RATE <= int(rate) <= MAX_RATE):
        raise BackendError(f"sample rate {rate!r} is not supported: use a whole number of Hz between {MIN_RATE} and {MAX_RATE}")
    if not request.parts:
        raise BackendError("nothing to generate: the request names no parts")
    for spec in request.parts:
        if spec.role not in ALL_ROLES:
            raise BackendError(f"part {spec.name!r} has role {spec.role!r}, which the composer cannot write: use one of {', '.join(ALL_ROLES)}")
    for part in request.locked:
        audio = np.asarray(part.audio)
        if audio.ndim not in (1, 2) or audio.shape[0] == 0:
            raise BackendError(f"locked part {part.name!r} has audio of shape {audio.shape}: expected [samples, channels]")
