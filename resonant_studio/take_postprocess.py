"""Which post-processing a generation's parts get, decided with the document, run anywhere.

The decision needs the session (UI thread): a preset generation uses its configuration's
settings; regenerating some tracks of a preset session repeats what their siblings got
(length, loop seam, fades, and the siblings' recorded gain, not a fresh normalisation,
which would level one part as loud as the whole mix). The work is numpy only, so the engine
thread runs it (``postprocess_requested``) when the request carries the decision under
``POSTPROCESS_REQUEST``; ``finish_parts`` runs it on the spot otherwise (the CLI).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping, Sequence

import numpy as np

from engine.backends import GeneratedPart
from engine.postprocess import PostprocessSettings, peak_db, postprocess_parts
from resonant_studio.preset_resolve import ResolvedConfig
from tracks import Session, Track

TAKE_PARAM_KEY = "preset"
"""Where a take's params keep the resolved configuration (``ResolvedConfig.to_dict()``)."""
REPORT_KEY = "postprocess"
"""Where a part's / take's params keep what post-processing did (length, loudness, gain)."""
POSTPROCESS_REQUEST = "postprocess_request"
"""Request param: ``{"settings": PostprocessSettings dict, "gain_db": fixed gain or absent}``."""


def uses_config(session: Session, config: ResolvedConfig | None) -> bool:
    """True when the session is laid out by ``config`` (its context, its length)."""
    return config is not None and session.context == config.session_context()


def stored_config(session: Session, exclude: Sequence[Track] = ()) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(resolved configuration, post-processing report) of the newest preset take in the session."""
    found = [take for track in session.tracks if track not in exclude for take in track.takes
             if TAKE_PARAM_KEY in take.params]
    if not found:
        return None
    newest = max(found, key=lambda take: take.created)
    return dict(newest.params[TAKE_PARAM_KEY]), dict(newest.params.get(REPORT_KEY, {}))


def postprocess_request(session: Session, targets: Sequence[Track],
                        config: ResolvedConfig | None) -> dict[str, Any] | None:
    """What should happen to the parts about to be generated for ``targets``; None: nothing."""
    if uses_config(session, config):
        assert config is not None
        return {"settings": config.postprocess.to_dict()}
    stored = stored_config(session, exclude=targets)
    if stored is None:
        return None
    sibling_config, sibling_report = stored
    settings = {**sibling_config["postprocess"], "loudness_lufs": None}
    return {"settings": settings, "gain_db": float(sibling_report.get("gain_db", 0.0))}


def run_postprocess(spec: Mapping[str, Any], parts: Sequence[GeneratedPart],
                    sample_rate: int) -> tuple[list[GeneratedPart], dict[str, Any]]:
    """Apply a ``postprocess_request`` decision; numpy only, safe on any thread."""
    settings = PostprocessSettings.from_dict(spec["settings"])
    audio, report = postprocess_parts([p.audio for p in parts], sample_rate, settings)
    gain_db = float(spec.get("gain_db") or 0.0)
    if gain_db:
        loudest = max((peak_db(a) for a in audio), default=float("-inf"))
        if np.isfinite(loudest):
            gain_db = min(gain_db, settings.peak_ceiling_db - loudest)  # never clip
        scale = np.float32(10.0 ** (gain_db / 20.0))
        audio = [(a * scale).astype(np.float32) for a in audio]
        report["gain_db"] = round(gain_db, 3)
    return [replace(p, audio=a) for p, a in zip(parts, audio)], report


def postprocess_requested(request: Any, parts: Sequence[GeneratedPart]) -> list[GeneratedPart]:
    """Engine-thread hook: run the post-processing ``request.params`` asks for, if any."""
    spec = getattr(request, "params", {}).get(POSTPROCESS_REQUEST) if request is not None else None
    if not spec:
        return list(parts)
    out, report = run_postprocess(spec, parts, request.sample_rate)
    return [replace(p, params={**dict(p.params), REPORT_KEY: report}) for p in out]


def finish_parts(session: Session, targets: Sequence[Track], parts: Sequence[GeneratedPart],
                 config: ResolvedConfig | None, engine: str) -> tuple[list[GeneratedPart], dict[str, Any]]:
    """The parts, post-processed (unless the engine thread already did it), and the params
    to store with their takes (engine, sampling, the resolved configuration)."""
    extra: dict[str, Any] = {"engine": engine}
    if uses_config(session, config):
        assert config is not None
        extra.update(config.generation_params)
        extra[TAKE_PARAM_KEY] = config.to_dict()
    if parts and all(REPORT_KEY in p.params for p in parts):
        return list(parts), extra
    spec = postprocess_request(session, targets, config)
    if spec is None:
        return list(parts), extra
    out, report = run_postprocess(spec, parts, session.sample_rate)
    extra[REPORT_KEY] = report
    return out, extra
