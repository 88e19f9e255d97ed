"""Regenerating a section: new material for a range of bars, the rest of the take kept.

Two ways to get the new bars. The composer makes a whole new part for the session (so it
fits the locked tracks and the chords, on the same grid) and the section's bars are taken
from it. An engine that continues audio (``CONTINUING_ENGINES``: MusicGen) is asked for the
section alone, prompted with the take's own last seconds before the range
(``continuation_request``), so the new bars carry on from the music they follow; they start
on the section's first bar line (``place``). Either way the new bars go into the old take,
sample for sample everywhere else. The two seams sit on bar lines and crossfade with an
equal-power curve over ``FADE_S`` just inside the section (the bars around it stay
bit-identical), so neither seam clicks. A
symbolic take keeps its notes outside the range and gets the new part's notes inside it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from engine.backends import GenerationRequest
from engine.musicgen.continuation import DEFAULT_PROMPT_SECONDS, AudioContinuation
from resonant_studio.core.errors import AppError

FADE_S = 0.010
CONTINUING_ENGINES = ("musicgen",)
"""Engines whose section regeneration continues the take's audio before the range."""
SECTION_KEY = "section"
"""Where a take's params record the range it replaced: {"bars": [first, last], "seconds": [start, end],
"replaces": take id}."""


@dataclass(frozen=True)
class Section:
    """Bars ``first``..``last`` (1-based, inclusive) of a piece."""

    first: int
    last: int

    def check(self, bars: int) -> None:
        if not 1 <= self.first <= self.last <= bars:
            raise AppError(f"bars {self.first}-{self.last} are not inside the piece (bars 1-{bars}): "
                           "select a range within it")
        if self.first == 1 and self.last == bars:
            raise AppError("the selection is the whole piece: regenerate the track instead")

    def seconds(self, seconds_per_bar: float) -> tuple[float, float]:
        return (self.first - 1) * seconds_per_bar, self.last * seconds_per_bar


@dataclass(frozen=True)
class SectionEdit:
    """What a section regeneration needs of one track's current take (immutable, shared)."""

    track_id: str
    take_id: str
    audio: np.ndarray
    notes: tuple | None
    start: int
    end: int
    """Samples: the section is ``[start, end)``."""
    start_beat: float
    end_beat: float


def section_from_seconds(start: float, end: float, seconds_per_bar: float, bars: int) -> Section:
    """The whole bars a selection (e.g. the ruler's loop region) covers."""
    first = int(np.floor(start / seconds_per_bar + 1e-6)) + 1
    last = int(np.ceil(end / seconds_per_bar - 1e-6))
    return Section(max(1, first), min(bars, max(first, last)))


def continuation_request(request: GenerationRequest, section: Section, edits: tuple[SectionEdit, ...]
                         ) -> GenerationRequest:
    """The request for a continuing engine: only the section's bars, each part prompted with
    its own take's last seconds before the range (``params["continue_from"]``, one
    ``AudioContinuation`` per part; none for a section that opens the piece), and the other
    tracks cut to the section, so what conditions the new bars is what plays with them."""
    sr = request.sample_rate
    start, end = edits[0].start, edits[0].end
    ctx = request.context
    skip = (section.first - 1) % len(ctx.chords) if ctx.chords else 0
    context = ctx.with_changes(bars=section.last - section.first + 1, chords=ctx.chords[skip:] + ctx.chords[:skip])
    locked = tuple(replace(p, audio=_segment(p.audio, start, end), features=p.features if start == 0 else None)
                   for p in request.locked)
    params = dict(request.params)
    params.pop("continue_from", None)
    if start > 0:
        seconds = min(DEFAULT_PROMPT_SECONDS, start / sr)
        first = max(0, start - int(np.ceil(seconds * sr)))
        params["continue_from"] = tuple(AudioContinuation(e.audio[first:start], sr, seconds=seconds) for e in edits)
    return replace(request, context=context, locked=locked, params=params)


def _segment(audio: np.ndarray, start: int, end: int) -> np.ndarray:
    """``audio[start:end]``, silence-padded to the section's length (a locked take may be shorter)."""
    part = np.asarray(audio)[start:end]
    if part.shape[0] == end - start:
        return part
    out = np.zeros((end - start, *part.shape[1:]), dtype=part.dtype if part.size else np.float32)
    out[:part.shape[0]] = part
    return out


def place(old: np.ndarray, section_audio: np.ndarray, start: int, end: int) -> np.ndarray:
    """``old`` with the section's new audio written from ``start`` (at most up to ``end``): a
    whole take again, which post-processing and ``splice`` treat as a new part."""
    out = old.copy()
    n = min(end - start, section_audio.shape[0])
    out[start:start + n] = section_audio[:n]
    return out


def splice(old: np.ndarray, new: np.ndarray, start: int, end: int, sample_rate: int) -> np.ndarray:
    """``old`` with ``[start, end)`` from ``new``; equal-power crossfades inside the range at both seams."""
    if old.shape != new.shape:
        raise AppError(f"the new part is {new.shape[0]} samples long, the take {old.shape[0]}: cannot splice")
    out = old.copy()
    out[start:end] = new[start:end]
    fade = max(1, min(int(round(FADE_S * sample_rate)), (end - start) // 2))
    t = ((np.arange(fade, dtype=np.float64) + 0.5) / fade)
    rise = np.sin(0.5 * np.pi * t)[:, None].astype(np.float32)   # the new material coming in
    fall = np.cos(0.5 * np.pi * t)[:, None].astype(np.float32)
    if start > 0:
        a, b = start, start + fade
        out[a:b] = old[a:b] * fall + new[a:b] * rise
    if end < len(old):
        a, b = end - fade, end
        out[a:b] = new[a:b] * fall + old[a:b] * rise
    return out


def splice_notes(old: tuple | None, new: tuple | None, start_beat: float, end_beat: float) -> tuple | None:
    """Old notes outside ``[start_beat, end_beat)`` and the new part's notes inside it (cut to it)."""
    if old is None or new is None:
        return None
    kept = []
    for n in old:
        pitch, start, length, *rest = n
        if start >= end_beat or start + length <= start_beat:
            kept.append(tuple(n))
        elif start < start_beat:  # runs into the section: shortened to its edge
            kept.append((pitch, start, start_beat - start, *rest))
    inside = []
    for n in new:
        pitch, start, length, *rest = n
        if start_beat <= start < end_beat:
            inside.append((pitch, start, min(length, end_beat - start), *rest))
    return tuple(sorted(kept + inside, key=lambda n: (n[1], n[0])))
