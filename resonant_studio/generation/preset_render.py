"""Generation with a resolved preset configuration: the session it makes, and rendering takes
that are post-processed and carry the configuration that made them (through ``plan``).

``resonant render`` / ``regenerate`` run these; the window's controller uses
``session_for_config`` and then the same plan on its engine thread. No Qt here.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from engine.backends import CancelCallback, ProgressCallback
from engine.context import MusicalContext
from engine.theory import pitch_name
from resonant_studio.core.imports import conform_locked
from resonant_studio.generation import studio
from resonant_studio.presets.resolve import ResolvedConfig
from resonant_studio.generation import plan
from resonant_studio.generation.postprocess import TAKE_PARAM_KEY
from tracks import Session, Take, Track
from tracks.session import DEFAULT_SAMPLE_RATE

__all__ = ["TAKE_PARAM_KEY", "generate_with_config", "new_session_from_config", "regenerate_tracks",
           "session_for_config"]


def new_session_from_config(config: ResolvedConfig, *, sample_rate: int = DEFAULT_SAMPLE_RATE,
                            name: str | None = None) -> Session:
    """A session with the configuration's context and length, one empty track per part."""
    # session_context() carries ``duration_seconds`` when a role fixes the length: the bars
    # cover it, and the session (so every export) is exactly that long.
    label = config.user_prompt or "-".join(n for n in (config.style, config.role) if n) or config.prompt
    session = Session(config.session_context(), name=name or studio.slugify(label), sample_rate=sample_rate,
                      prompt=config.prompt)
    for role in config.context.roles:
        session.add_track(Track(studio.TRACK_NAMES.get(role, role.title()), role), record=False)
    return session


def generate_with_config(session: Session, config: ResolvedConfig, targets: Sequence[Track] | None = None, *,
                         progress: ProgressCallback | None = None, cancel: CancelCallback | None = None,
                         engine_options: Mapping[str, Any] | None = None) -> list[Take]:
    """Render ``targets`` (default: every unlocked track) as ``config`` says and add the takes.

    Each take's params hold the engine's own parameters, the post-processing report and the
    whole resolved configuration under ``"preset"``.
    """
    _, takes = plan.generate(session, targets, config=config, engine_options=engine_options,
                             progress=progress, cancel=cancel)
    return takes


def regenerate_tracks(session: Session, targets: Sequence[Track], *, seed: int, engine: str = "composer",
                      prompt: str | None = None, context: MusicalContext | None = None,
                      engine_options: Mapping[str, Any] | None = None,
                      progress: ProgressCallback | None = None, cancel: CancelCallback | None = None) -> list[Take]:
    """A few tracks regenerated, post-processed like the takes beside them."""
    _, takes = plan.generate(session, targets, seed=seed, engine=engine, prompt=prompt, context=context,
                             engine_options=engine_options, progress=progress, cancel=cancel,
                             label=f"Regenerate {targets[0].name}" if len(targets) == 1 else None)
    return takes


# --- the window's split generation (request on the UI thread, takes applied when it returns) ---
def session_for_config(current: Session | None, config: ResolvedConfig) -> tuple[Session, MusicalContext, bool]:
    """(session, context for the request, whether the session is new) for a preset generation.

    A fresh piece (no session, or no takes yet) starts from the configuration. With takes and
    nothing locked, the session takes the configuration's context (an undoable change). With
    a locked track the session keeps its tempo, key and length so the new parts fit it.
    """
    if current is None or not any(t.takes for t in current.tracks):
        return new_session_from_config(config, sample_rate=current.sample_rate if current else DEFAULT_SAMPLE_RATE,
                                       name=current.name if current and current.name != "Untitled" else None), \
            config.context, True
    if not any(t.locked for t in current.tracks):
        current.prompt = config.prompt
        current.context = config.session_context()
        return current, config.context, False
    return current, MusicalContext.from_dict(current.context), False


def preset_timing_offer(session: Session | None, config: ResolvedConfig) -> str | None:
    """What following ``config``'s tempo and key would change under locked tracks, in words
    ("tempo 120 -> 128 bpm, key A minor -> C major"); None when nothing would or nothing is
    locked. The window asks before doing it (``follow_preset_timing``), as for a reference."""
    if session is None or not any(t.locked for t in session.tracks) or not any(t.takes for t in session.tracks):
        return None
    ctx, target = session.context, config.context
    changes = []
    if abs(float(target.tempo) - session.tempo) > 1e-6:
        changes.append(f"tempo {session.tempo:g} -> {target.tempo:g} bpm")
    tonic, mode = int(ctx.get("tonic", 0)), str(ctx.get("mode", "major"))
    if (target.tonic, target.mode) != (tonic, mode):
        changes.append(f"key {pitch_name(tonic)} {mode} -> {target.key_name}")
    return ", ".join(changes) or None


def follow_preset_timing(session: Session, config: ResolvedConfig) -> list[Track]:
    """The person agreed: the session takes ``config``'s tempo, key and chords, and its locked
    audio is fitted to them (new takes, the originals kept), as one undoable step. The length
    in bars stays the session's, so every locked track still ends with the piece."""
    target = config.context.to_dict()
    with session.history.group("Follow the preset's tempo and key"):
        changed = conform_locked(session, float(target["tempo"]), int(target["tonic"]))
        session.context = {**session.context, **{k: target[k] for k in ("tempo", "tonic", "mode", "chords")
                                                  if k in target}}
    return changed
