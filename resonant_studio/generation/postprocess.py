"""Which post-processing a generation's parts get, decided with the document, run anywhere.

The decision needs the session (``postprocess_request``, made when a generation is planned,
on the UI thread in the window): a preset generation uses its configuration's settings;
regenerating some tracks of a preset session repeats what their siblings got (length, loop
seam, fades, and the siblings' recorded gain, not a fresh normalisation, which would level
one part as loud as the whole mix). The work (``run_postprocess``) is numpy only and runs
wherever the plan runs: the engine thread in the window, inline in the CLI.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping, Sequence

import numpy as np

from engine.backends import GeneratedPart
from engine.postprocess import PostprocessSettings, peak_db, postprocess_parts
from resonant_studio.presets.resolve import ResolvedConfig
from tracks import Session, Track

TAKE_PARAM_KEY = "preset"
"""Where a take's params keep the resolved configuration (``ResolvedConfig.to_dict()``)."""
REPORT_KEY = "postprocess"
"""Where a part's / take's params keep what post-processing did (length, loudness, gain)."""

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
