"""The ``musicgen`` backend: one MusicGen batch for all requested parts, fitted to the session.

Each part gets its own prompt from the session's genre, moods, tempo and key and the track's
role. The raw 32 kHz output is resampled (soxr) to the session rate and conformed to the
session grid (beat-tracked, stretched to the session tempo, first downbeat on bar one) so it
sits with the locked tracks. With a melody checkpoint, the chroma of the locked tonal tracks
conditions the new parts.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from engine.backends.base import CancelCallback, GeneratedPart, GenerationRequest, PartSpec, ProgressCallback
from engine.context import MusicalContext
from engine.errors import BackendError, GenerationCancelled
from engine.musicgen.conform import conform_to_grid
from engine.musicgen.pipeline import MusicGenPipeline
from engine.musicgen.sampling import SamplingParams

ROLE_WORDS = {
    "drums": "drums only, a drum kit groove with no melody",
    "bass": "solo bass line only, no drums",
    "harmony": "chords only, sustained keys and pads, no drums",
    "melody": "lead melody only, a single instrument, no drums",
    "other": "atmospheric texture and ear candy",
}
TONAL_ROLES = ("bass", "harmony", "melody", "other")
PARAM_NAMES = ("temperature", "top_k", "top_p", "cfg_coef")


def part_prompt(context: MusicalContext, part: PartSpec, session_prompt: str = "") -> str:
    """The text MusicGen gets for one track: the user's words, the style, the role, tempo and key."""
    text = (part.prompt or session_prompt or context.description or "").strip()
    words = [text]
    if context.genre and context.genre.lower() not in text.lower():
        words.append(context.genre)
    words.append(ROLE_WORDS.get(part.role, part.role))
    hint = context.instrument(part.role)
    if hint:
        words.append(hint)
    if context.moods:
        words.append(", ".join(context.moods))
    words.append(f"{context.tempo:g} bpm")
    words.append(f"in {context.key_name}")
    return ", ".join(w.strip() for w in words if w and w.strip())


class MusicGenBackend:
    name = "musicgen"

    def __init__(self, model_dir: str | os.PathLike | None = None, dtype: str = "float32",
                 cache_dir: str | os.PathLike | None = None, context_seconds: float = 30.0,
                 extend_stride_seconds: float = 18.0):
        # Loading here means a missing or broken folder is reported before any request is made.
        self.pipeline = MusicGenPipeline.load(model_dir, dtype=dtype, cache_dir=cache_dir,
                                              context_seconds=context_seconds,
                                              extend_stride_seconds=extend_stride_seconds)

    def _params(self, request: GenerationRequest) -> SamplingParams:
        given = {k: request.params[k] for k in PARAM_NAMES if request.params.get(k) is not None}
        try:
            return SamplingParams(**{**given, "seed": int(request.seed)})
        except TypeError as exc:
            raise BackendError(f"invalid MusicGen parameters: {exc}") from exc

    def _melody(self, request: GenerationRequest) -> np.ndarray | None:
        pipe = self.pipeline
        tonal = [p.audio for p in request.locked if p.role in TONAL_ROLES]
        if not pipe.is_melody or not tonal:
            return None
        import soxr

        mix = np.sum([np.asarray(a, np.float32).mean(axis=1) for a in tonal], axis=0)
        return soxr.resample(mix, request.sample_rate, pipe.sample_rate).astype(np.float32)

    def generate(self, request: GenerationRequest, progress: ProgressCallback | None = None,
                 cancel: CancelCallback | None = None) -> Sequence[GeneratedPart]:
        import soxr

        if not request.parts:
            return []
        pipe = self.pipeline
        context = request.context
        params = self._params(request)
        prompts = [part_prompt(context, part, request.prompt) for part in request.parts]
        bar_seconds = context.beats_per_bar * context.seconds_per_beat
        # Room for cutting to the first downbeat and for a stretch of up to 15%; any shortfall is silence.
        seconds = (context.duration + bar_seconds) * 1.15 + 0.5
        melody = self._melody(request)
        job = pipe.start(prompts, params, pipe.frames_for_seconds(seconds), melody=melody)
        for done, total in job:  # each item is one decoding step already taken
            if progress is not None:
                progress(0.9 * done / total, f"MusicGen step {done}/{total}")
            if cancel is not None and cancel():
                raise GenerationCancelled()
        if progress is not None:
            progress(0.92, "decoding audio")
        raw = pipe.decode(job.codes)
        num_samples = context.num_samples(request.sample_rate)
        beats_per_bar = max(1, int(round(context.beats_per_bar)))
        parts = []
        for i, part in enumerate(request.parts):
            audio = soxr.resample(raw[i], pipe.sample_rate, request.sample_rate).astype(np.float32)
            fitted, report = conform_to_grid(audio, request.sample_rate, context.tempo, beats_per_bar, num_samples)
            stereo = np.repeat(fitted[:, None], 2, axis=1)
            resolved: dict[str, Any] = {
                "model": pipe.folder.path.name, "prompt": prompts[i], "seed": params.seed + i,
                "greedy": params.greedy, "temperature": params.temperature, "top_k": params.top_k,
                "top_p": params.top_p, "cfg_coef": params.cfg_coef, "melody_conditioned": melody is not None,
                "conform": report,
            }
            parts.append(GeneratedPart(part.name, part.role, stereo, None, resolved))
            if progress is not None:
                progress(0.92 + 0.08 * (i + 1) / len(request.parts), f"fitted {part.name} to the grid")
        return parts
