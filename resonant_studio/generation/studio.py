"""Sessions from prompts, and the two ends of a generation: the request built from a session
and the takes added to it. No Qt.

``generation.plan`` puts these together (plan, run, apply); nothing else should.
"""

from __future__ import annotations

import re
import secrets
from typing import Any, Mapping, Sequence

from engine.backends import (
    GeneratedPart,
    GenerationRequest,
    LockedPart,
    PartSpec,
)
from engine.context import MusicalContext
from engine.prompt import analyze_prompt
from engine.theory import Note
from resonant_studio.core.errors import AppError
from resonant_studio.core.imports import features_of
from tracks import LockedTrackError, Session, Take, Track
from tracks.session import DEFAULT_SAMPLE_RATE

TRACK_NAMES = {"drums": "Drums", "bass": "Bass", "harmony": "Harmony", "melody": "Melody", "other": "Other"}


def new_seed() -> int:
    """A fresh seed for a generation the user did not give one for (recorded in the take)."""
    return secrets.randbelow(2**31)


def slugify(text: str, fallback: str = "untitled", limit: int = 64) -> str:
    """A file-name-safe name from ``text``, cut at a word boundary to at most ``limit`` characters."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if len(slug) > limit:
        cut = slug[: limit + 1]
        slug = cut[: cut.rfind("-")] if "-" in cut else slug[:limit]
    return slug.strip("-") or fallback


def new_session(prompt: str, *, bars: int | None = None, seconds: float | None = None,
                sample_rate: int = DEFAULT_SAMPLE_RATE, name: str | None = None,
                context: MusicalContext | None = None) -> Session:
    """A session with the context read from ``prompt`` and one empty track per role."""
    ctx = context if context is not None else analyze_prompt(prompt, bars=bars, seconds=seconds)
    session = Session(ctx.to_dict(), name=name or slugify(prompt), sample_rate=sample_rate, prompt=prompt)
    for role in ctx.roles:
        session.add_track(Track(TRACK_NAMES.get(role, role.title()), role), record=False)
    return session


def context_of(session: Session) -> MusicalContext:
    return MusicalContext.from_dict(session.context)


def add_missing_parts(session: Session) -> list[Track]:
    """When every track is locked (say, a studio that holds only imports), add an empty track
    for each role of the piece that no track has yet, as one undoable step, so Generate has
    something to fill around them. Returns the tracks added."""
    if any(not t.locked for t in session.tracks):
        return []
    have = {t.role for t in session.tracks}
    roles = [r for r in context_of(session).roles if r not in have and r != "other"]
    added = []
    with session.history.group("Add parts"):
        for role in roles:
            added.append(session.add_track(Track(TRACK_NAMES.get(role, role.title()), role)))
    return added


def default_targets(session: Session) -> list[Track]:
    """Every unlocked track: what "Generate" fills."""
    targets = [t for t in session.tracks if not t.locked]
    if not targets:
        raise AppError("every track is locked: unlock a track to regenerate it")
    return targets


def _fixed_part(track: Track) -> LockedPart:
    take = track.active_take
    assert take is not None
    notes = tuple(Note(*n) for n in take.notes) if take.notes is not None else None
    # what was detected in an imported take travels with it, so every engine hears it
    return LockedPart(name=track.name, role=track.role, audio=take.audio, notes=notes, features=features_of(take))


def build_request(session: Session, targets: Sequence[Track], seed: int, *, prompt: str | None = None,
                  params: Mapping[str, Any] | None = None, reference: Any = None,
                  context: MusicalContext | None = None) -> GenerationRequest:
    """The request that regenerates ``targets`` so they fit every other track.

    Locked tracks are the context; so are the other tracks that are not being regenerated,
    since they stay in the mix unchanged; muted (or, with a solo, unsoloed) tracks are not
    heard, so they are not. Regenerating a locked track is refused.
    """
    if not targets:
        raise AppError("nothing to generate: choose at least one track")
    for t in targets:
        if t.locked:
            raise LockedTrackError(f"track {t.name!r} is locked: unlock it before regenerating")
    target_ids = {t.id for t in targets}
    # what is heard is the context: a muted track (the app's own drums under an imported loop,
    # say) does not steer the new part; a locked one that is muted still never changes
    audible = {t.id for t in session.audible_tracks()}
    fixed = tuple(_fixed_part(t) for t in session.tracks
                  if t.id not in target_ids and t.active_take is not None and t.id in audible)
    text = session.prompt if prompt is None else prompt
    return GenerationRequest(
        context=context if context is not None else context_of(session),
        parts=tuple(PartSpec(name=t.name, role=t.role, prompt=text) for t in targets),
        seed=int(seed),
        sample_rate=session.sample_rate,
        locked=fixed,
        prompt=text,
        params=dict(params or {}),
        reference=reference,
    )


def apply_results(session: Session, targets: Sequence[Track], parts: Sequence[GeneratedPart],
                  backend_name: str, seed: int, prompt: str, *, label: str | None = None,
                  extra_params: Mapping[str, Any] | None = None) -> list[Take]:
    """Add one take per target (as one undoable step); nothing is replaced."""
    if len(parts) != len(targets):
        raise AppError(f"the {backend_name} engine returned {len(parts)} parts for {len(targets)} tracks")
    takes = []
    for track, part in zip(targets, parts):
        params = {**dict(part.params), **dict(extra_params or {})}
        notes = tuple(tuple(n) for n in part.notes) if part.notes is not None else None
        takes.append(Take(audio=part.audio, notes=notes, prompt=prompt, seed=seed,
                          backend=backend_name, params=params))
    if label is None:
        label = "Generate" if len(targets) > 1 else f"Regenerate {targets[0].name}"
    session.add_takes(zip(targets, takes), label=label)
    return takes


def part_context(session: Session, track: Track, prompt: str) -> MusicalContext:
    """The session's context with the instrument hint a per-part prompt gives ``track``.

    Tempo, key, meter and length stay the session's: a regenerated part must fit the rest.
    """
    ctx = context_of(session)
    if not prompt.strip():
        return ctx
    hint = analyze_prompt(prompt).instrument(track.role)
    if hint is None:
        return ctx
    instruments = dict(ctx.instruments)
    instruments[track.role] = hint
    return ctx.with_changes(instruments=tuple(sorted(instruments.items())))
