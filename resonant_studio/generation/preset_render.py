"""Generation with a resolved preset configuration: the session it makes, and rendering takes
that are post-processed and carry the configuration that made them (through ``plan``).

``resonant render`` / ``regenerate`` run these; the window's controller uses
``session_for_config`` and then the same plan on its engine thread. No Qt here.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from engine.backends import CancelCallback, ProgressCallback
from engine.context import MusicalContext
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
