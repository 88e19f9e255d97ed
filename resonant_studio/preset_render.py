"""Generation with a resolved preset configuration: the session it makes, the post-processing
its takes get, and the configuration stored with each take so it can be made again.

The window's controller and ``resonant render`` both use these; nothing here imports Qt.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping, Sequence

import numpy as np

from engine.backends import CancelCallback, GeneratedPart, ProgressCallback, get_backend
from engine.context import MusicalContext
from engine.postprocess import PostprocessSettings, peak_db, postprocess_parts
from resonant_studio import studio
from resonant_studio.preset_resolve import ResolvedConfig
from tracks import Session, Take, Track
from tracks.session import DEFAULT_SAMPLE_RATE

TAKE_PARAM_KEY = "preset"
"""Where a take's params keep the resolved configuration (``ResolvedConfig.to_dict()``)."""


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


def apply_postprocess(parts: Sequence[GeneratedPart], sample_rate: int,
                      settings: PostprocessSettings) -> tuple[list[GeneratedPart], dict[str, Any]]:
    """The parts with their audio brought to length, looped, faded and levelled together."""
    audio, report = postprocess_parts([p.audio for p in parts], sample_rate, settings)
    return [replace(p, audio=a) for p, a in zip(parts, audio)], report


def generate_with_config(session: Session, config: ResolvedConfig, targets: Sequence[Track] | None = None, *,
                         progress: ProgressCallback | None = None, cancel: CancelCallback | None = None,
                         engine_options: Mapping[str, Any] | None = None) -> list[Take]:
    """Render ``targets`` (default: every unlocked track) as ``config`` says and add the takes.

    Each take's params hold the engine's own parameters, the post-processing report and the
    whole resolved configuration under ``"preset"``.
    """
    chosen = list(targets) if targets is not None else studio.default_targets(session)
    options = dict(engine_options) if engine_options is not None else config.engine_options()
    params = {**config.generation_params}
    request = studio.build_request(session, chosen, config.seed, prompt=config.prompt, params=params,
                                   context=config.context)
    backend = get_backend(config.engine, **options)
    parts = backend.generate(request, progress=progress, cancel=cancel)
    parts, extra = finish_parts(session, chosen, parts, config, config.engine)
    return studio.apply_results(session, chosen, parts, config.engine, config.seed, config.prompt,
                                extra_params=extra)


# --- regenerating one part of a preset session --------------------------------------------------
def stored_config(session: Session, exclude: Sequence[Track] = ()) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(resolved configuration, post-processing report) of the newest preset take in the session."""
    found = [take for track in session.tracks if track not in exclude for take in track.takes
             if TAKE_PARAM_KEY in take.params]
    if not found:
        return None
    newest = max(found, key=lambda take: take.created)
    return dict(newest.params[TAKE_PARAM_KEY]), dict(newest.params.get("postprocess", {}))


def postprocess_like_siblings(parts: Sequence[GeneratedPart], session: Session,
                              targets: Sequence[Track]) -> tuple[list[GeneratedPart], dict[str, Any]]:
    """Give regenerated parts the length, loop seam, fades and gain their siblings got.

    The loudness gain is the one recorded with the siblings, not a new normalisation (a part
    on its own would be levelled as loud as the whole mix), lowered only if it would clip.
    """
    stored = stored_config(session, exclude=targets)
    if stored is None:
        return list(parts), {}
    config, sibling_report = stored
    settings = replace(PostprocessSettings.from_dict(config["postprocess"]), loudness_lufs=None)
    out, report = apply_postprocess(parts, session.sample_rate, settings)
    gain_db = float(sibling_report.get("gain_db", 0.0))
    if gain_db:
        loudest = max((peak_db(p.audio) for p in out), default=float("-inf"))
        if np.isfinite(loudest):
            gain_db = min(gain_db, settings.peak_ceiling_db - loudest)
        scale = np.float32(10.0 ** (gain_db / 20.0))
        out = [replace(p, audio=(p.audio * scale).astype(np.float32)) for p in out]
        report["gain_db"] = round(gain_db, 3)
    return out, report


def regenerate_tracks(session: Session, targets: Sequence[Track], *, seed: int, engine: str = "composer",
                      prompt: str | None = None, context: MusicalContext | None = None,
                      engine_options: Mapping[str, Any] | None = None,
                      progress: ProgressCallback | None = None, cancel: CancelCallback | None = None) -> list[Take]:
    """``studio.generate`` for a few tracks, post-processed like the takes beside them."""
    request = studio.build_request(session, targets, seed, prompt=prompt, context=context)
    backend = get_backend(engine, **dict(engine_options or {}))
    parts = backend.generate(request, progress=progress, cancel=cancel)
    parts, report = postprocess_like_siblings(parts, session, targets)
    extra: dict[str, Any] = {"engine": engine}
    if report:
        extra["postprocess"] = report
    return studio.apply_results(session, list(targets), parts, engine, seed, request.prompt, extra_params=extra)


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


def finish_parts(session: Session, targets: Sequence[Track], parts: Sequence[GeneratedPart],
                 config: ResolvedConfig | None, engine: str) -> tuple[list[GeneratedPart], dict[str, Any]]:
    """Post-process returned parts and say what to store with their takes.

    With a configuration whose context the session uses, its settings apply; otherwise (a
    single-track regenerate, or a session pinned by a locked track) the parts are treated
    like the takes beside them.
    """
    extra: dict[str, Any] = {"engine": engine}
    if config is not None and session.context == config.session_context():
        out, report = apply_postprocess(parts, session.sample_rate, config.postprocess)
        extra.update(config.generation_params)
        extra.update(postprocess=report)
        extra[TAKE_PARAM_KEY] = config.to_dict()
        return out, extra
    out, report = postprocess_like_siblings(parts, session, targets)
    if report:
        extra["postprocess"] = report
    return out, extra
