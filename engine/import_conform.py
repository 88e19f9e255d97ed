"""Fit an imported recording to a session: first downbeat on a bar line, session tempo, session length.

Pure functions on arrays; the app keeps the original file as a take and may offer "keep
original tempo" (``keep_tempo=True``). Nothing is cut silently: silence before the first sound
is dropped and said so; a pickup before the first downbeat goes to the end of a loop (where a
loop that starts mid-bar keeps it) or before the bar line; a recording longer than the session
is returned whole with ``extends_beyond_s`` set, so the app can offer to lengthen the session.

``context_for_import`` gives the session an import into an empty studio should create.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from engine.analysis.beats import CLEAR_BEAT
from engine.context import MusicalContext
from engine.errors import EngineError
from engine.locked import LockedFeatures, features_from_audio
from engine.stretch import time_stretch

SILENCE_DB = -50.0
"""Leading audio this far below the peak counts as silence, not as a pickup."""
LOOP_TOLERANCE_BEATS = 0.35
"""A recording within this of a whole number of bars (plus a release tail) is a loop."""


@dataclass(frozen=True)
class ConformInfo:
    """What conform did, in words and numbers, and what is needed to undo it."""

    source_tempo: float | None
    session_tempo: float
    stretch_rate: float
    """> 1: the recording was sped up. 1.0 when kept at its own tempo."""
    kept_tempo: bool
    source_downbeat_s: float
    """Where the first downbeat sat in the original file."""
    trimmed_silence_s: float
    pickup_s: float
    """Sound before the first downbeat (seconds of the original)."""
    pickup_placement: str
    """"none", "loop-end" (rotated to the end of the loop) or "before-bar"."""
    at_bar: int
    loop_bars: int
    """Bars in one loop of the recording (0 when it is not a loop)."""
    repeats: float
    padded_s: float
    extends_beyond_s: float
    """How far the conformed audio runs past the session's end (0 when it fits)."""
    warnings: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict:
        return {k: (round(v, 5) if isinstance(v, float) else (list(v) if isinstance(v, tuple) else v))
                for k, v in self.__dict__.items()}


@dataclass(frozen=True, eq=False)
class ConformedImport:
    audio: np.ndarray
    """float32 ``[N, C]`` at the session's sample rate, starting at the session's start."""
    features: LockedFeatures
    """Measured again on ``audio``: every time is session time."""
    info: ConformInfo


def _fold_rate(rate: float) -> float:
    """A half- or double-time reading plays along: 92 bpm in a 180 session stretches to 90, not 180."""
    while rate > 1.42:
        rate /= 2.0
    while rate < 0.71:
        rate *= 2.0
    return rate


def _first_sound(audio: np.ndarray, sample_rate: int) -> int:
    mono = np.abs(audio).max(axis=1)
    peak = float(mono.max(initial=0.0))
    if peak <= 0:
        return 0
    above = np.flatnonzero(mono >= peak * 10 ** (SILENCE_DB / 20))
    # Back off 5 ms so an attack's first rise is kept.
    return max(0, int(above[0]) - int(0.005 * sample_rate)) if above.size else 0


def conform_import(audio: np.ndarray, sample_rate: int, features: LockedFeatures, session: MusicalContext, *,
                   at_bar: int = 0, keep_tempo: bool = False, loop: bool = True,
                   stretcher: str = "rubberband") -> ConformedImport:
    """``audio`` (``[N]`` or ``[N, C]`` at ``sample_rate``, as imported) fitted to ``session``.

    ``features`` are the recording's own (``features_from_audio`` on the original).
    """
    x = np.asarray(audio, dtype=np.float32)
    x = x[:, None] if x.ndim == 1 else x
    if x.ndim != 2 or x.shape[0] == 0:
        raise EngineError(f"there is no audio to import (shape {np.shape(audio)})")
    if not (0 <= at_bar < session.bars):
        raise EngineError(f"bar {at_bar + 1} is outside the session's {session.bars} bars")
    warnings: list[str] = []
    sr = int(sample_rate)
    bpb = session.beats_per_bar
    start = _first_sound(x, sr)
    tempo = features.tempo
    clear = tempo is not None and features.beat_strength >= CLEAR_BEAT and features.downbeat is not None
    if not clear:
        warnings.append("no clear beat was found, so the recording keeps its own timing")
    rate = 1.0 if keep_tempo or not clear else _fold_rate(session.tempo / float(tempo))
    down = int(round(float(features.downbeat) * sr)) if clear else start
    down = max(down, start)
    if clear and features.downbeat is not None and features.downbeat * sr < start - 0.02 * sr:
        down = start  # the grid's first downbeat fell in the silence: the first sound opens the bar
    pickup = down - start
    src_bar = (bpb * 60.0 / float(tempo) if clear else bpb * session.seconds_per_beat) * sr
    body_len = x.shape[0] - down
    bars_f = (body_len + pickup) / src_bar
    whole = int(math.floor(bars_f + LOOP_TOLERANCE_BEATS / bpb))
    if features.onsets:
        # A release tail after the last onset is not a bar of its own: the loop is the fewest
        # whole bars that hold every onset.
        last = max(features.onsets) * sr
        held = int(math.ceil((last - start + 0.1 * src_bar / bpb) / src_bar))
        whole = max(1, min(whole, held))
    is_loop = loop and clear and whole >= 1
    placement = "none"
    if is_loop:
        content = int(round(whole * src_bar))
        main = x[down: start + content]
        tail = x[start + content:]
        pre = x[start:down]
        piece = np.concatenate([main, pre], axis=0)
        if pickup > 0.01 * sr:
            placement = "loop-end"
        loop_bars = whole
    else:
        piece = x[start:]
        tail = np.zeros((0, x.shape[1]), dtype=np.float32)
        loop_bars = 0
        if pickup > 0.01 * sr:
            placement = "before-bar"
    if abs(rate - 1.0) > 1e-6:
        piece = time_stretch(piece, sr, rate, stretcher)
        if tail.size:
            tail = time_stretch(tail, sr, rate, stretcher) if tail.shape[0] > 2048 else tail
    total = session.num_samples(sr)
    bar_out = bpb * session.seconds_per_beat * sr
    offset = int(round(at_bar * bar_out))
    pickup_out = int(round(pickup / rate)) if placement == "before-bar" else 0
    if placement == "before-bar" and pickup_out > offset:
        at_bar = min(session.bars - 1, at_bar + int(math.ceil((pickup_out - offset) / bar_out)))
        offset = int(round(at_bar * bar_out))
        warnings.append(f"the pickup before the first downbeat needs room, so the recording starts in bar {at_bar}")
    place = offset - pickup_out
    out_len = max(total, place + piece.shape[0] + (tail.shape[0] if not is_loop else 0))
    out = np.zeros((out_len, x.shape[1]), dtype=np.float32)
    repeats = 1.0
    if is_loop:
        period = piece.shape[0]
        n = max(1, int(math.ceil((total - place) / period)))
        repeats = (total - place) / period
        for k in range(n):
            at = place + k * period
            seg = piece[: max(0, min(period, out_len - at))]
            out[at: at + seg.shape[0]] += seg
            # The release tail of each pass rings into the next, as it would when looped live.
            if tail.size and at + period < out_len:
                t = tail[: out_len - (at + period)]
                out[at + period: at + period + t.shape[0]] += t
    else:
        out[place: place + piece.shape[0]] += piece
        if tail.size:
            out[place + piece.shape[0]: place + piece.shape[0] + tail.shape[0]] += tail
    extends = max(0, out_len - total) / sr
    if extends > 0:
        warnings.append(f"the recording runs {extends:.2f} s past the session's end; it is kept whole "
                        "(lengthen the session, or trim it yourself)")
    padded = 0.0 if is_loop else max(0, total - (place + piece.shape[0])) / sr
    if start > 0.01 * sr:
        warnings.append(f"dropped {start / sr:.2f} s of silence before the first sound")
    info = ConformInfo(
        source_tempo=None if tempo is None else float(tempo), session_tempo=float(session.tempo),
        stretch_rate=float(rate), kept_tempo=bool(keep_tempo), source_downbeat_s=down / sr,
        trimmed_silence_s=start / sr, pickup_s=pickup / sr, pickup_placement=placement, at_bar=int(at_bar),
        loop_bars=loop_bars, repeats=float(repeats), padded_s=float(padded), extends_beyond_s=float(extends),
        warnings=tuple(warnings),
    )
    if keep_tempo or not clear:
        conformed = features_from_audio(out, sr, int(round(bpb)))
    else:
        conformed = features_from_audio(out, sr, int(round(bpb)), near_tempo=session.tempo,
                                        known_grid=(session.tempo, offset / sr))
    return ConformedImport(out, conformed, info)


def context_for_import(features: LockedFeatures, base: MusicalContext | None = None) -> MusicalContext:
    """The session an import into an empty studio makes: the import's tempo, meter, key and
    length (whole bars, rounded up), its chords as the progression."""
    base = base or MusicalContext()
    changes: dict = {"meter": (features.beats_per_bar, 4)}
    if features.tempo:
        changes["tempo"] = float(np.clip(features.tempo, 30.0, 300.0))
        bar_s = features.beats_per_bar * 60.0 / features.tempo
        start = features.downbeat or 0.0
        changes["bars"] = int(np.clip(math.ceil((features.duration - start) / bar_s - LOOP_TOLERANCE_BEATS / 4), 1, 512))
    if features.tonic is not None:
        changes["tonic"], changes["mode"] = int(features.tonic), str(features.mode)
    chords = tuple(c for c in features.chords if c is not None)
    if chords:
        changes["chords"] = chords
    return base.with_changes(**changes)
