"""The ``musicgen`` backend: one MusicGen batch for all requested parts, fitted to the session.

Each part gets its own prompt from the session's genre, moods, tempo and key and the track's
role. The raw 32 kHz output is resampled (soxr) to the session rate and conformed to the
session grid (beat-tracked, stretched to the session tempo, first downbeat on bar one) so it
sits with the locked tracks. With a melody checkpoint, the chroma of the locked tonal tracks
conditions the new parts.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import soxr

from engine.backends.base import CancelCallback, GeneratedPart, GenerationRequest, PartSpec, ProgressCallback
from engine.context import MusicalContext
from engine.errors import BackendError, EngineError, GenerationCancelled
from engine.musicgen.conform import conform_to_grid, locked_onsets
from engine.musicgen.continuation import DEFAULT_PROMPT_SECONDS, MIN_PROMPT_SECONDS, AudioContinuation
from engine.musicgen.pipeline import MusicGenPipeline
from engine.musicgen.precision import default_dtype
from engine.musicgen.resident import ResidentModels
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


def sampling_params(request: GenerationRequest, make: Callable[..., SamplingParams], engine: str) -> SamplingParams:
    """The request's ``PARAM_NAMES`` that are set, and its seed, through ``make`` (which fills the defaults)."""
    given = {k: request.params[k] for k in PARAM_NAMES if request.params.get(k) is not None}
    try:
        return make(**given, seed=int(request.seed))
    except TypeError as exc:
        raise BackendError(f"invalid {engine} parameters: {exc}") from exc


def run_steps(job: Iterable[tuple[int, int]], progress: ProgressCallback | None, cancel: CancelCallback | None,
              engine: str) -> None:
    """Run a generation job (each item one decoding step taken): progress up to 90 %, cancel between steps."""
    for done, total in job:
        if progress is not None:
            progress(0.9 * done / total, f"{engine} step {done}/{total}")
        if cancel is not None and cancel():
            raise GenerationCancelled()


class MusicGenBackend:
    name = "musicgen"

    def __init__(self, model_dir: str | os.PathLike | None = None, dtype: str | None = None,
                 cache_dir: str | os.PathLike | None = None, context_seconds: float = 30.0,
                 extend_stride_seconds: float = 18.0, tier: str = "render", models: ResidentModels | None = None,
                 progress: ProgressCallback | None = None):
        """``dtype`` None: the platform's default for ``tier`` (``precision.default_dtype``).

        ``models``: the engine thread's ``ResidentModels``; with it, a model already loaded is
        reused and others are released first. Loading here means a missing or broken folder
        is reported before any request is made.
        """
        dtype = dtype or default_dtype(tier)
        options = dict(context_seconds=context_seconds, extend_stride_seconds=extend_stride_seconds)
        if models is not None:
            self.pipeline = models.get(model_dir, dtype=dtype, progress=progress, **options)
        else:
            self.pipeline = MusicGenPipeline.load(model_dir, dtype=dtype, cache_dir=cache_dir, progress=progress,
                                                  **options)

    def _reference_audio(self, request: GenerationRequest, seconds: float, channels: int) -> np.ndarray | None:
        reference = request.reference
        if reference is None or not hasattr(reference, "load_audio"):
            return None
        try:
            return reference.load_audio(self.pipeline.sample_rate, max_seconds=seconds, channels=channels)
        except EngineError:
            raise
        except Exception as exc:  # the file moved or became unreadable since it was analysed
            raise BackendError(f"the reference {getattr(reference, 'path', '')} cannot be read any more ({exc})") from exc

    def _melody(self, request: GenerationRequest) -> np.ndarray | None:
        """Locked tonal tracks' mix, or else the reference's audio (melody checkpoints only)."""
        pipe = self.pipeline
        if not pipe.is_melody:
            return None
        tonal = [p.audio for p in request.locked if p.role in TONAL_ROLES]
        if tonal:
            mix = np.sum([np.asarray(a, np.float32).mean(axis=1) for a in tonal], axis=0)
            return soxr.resample(mix, request.sample_rate, pipe.sample_rate).astype(np.float32)
        audio = self._reference_audio(request, pipe.window_plan.context_seconds, 1)
        return None if audio is None else audio[:, 0]

    def _continuation(self, request: GenerationRequest, new_seconds: float
                      ) -> tuple[np.ndarray | list[np.ndarray] | None, str | None]:
        """(audio prompt ``[N, C]`` at the model rate, or one per part, where it came from) or (None, None).

        A selection's prompt is its last seconds that leave room in the model's window for
        ``new_seconds`` of new music (so one window holds prompt and part), cut to whole codec
        frames from the front: the new part then starts exactly where the given audio ends.
        """
        pipe = self.pipeline
        given = request.params.get("continue_from")
        if given is not None:
            many = isinstance(given, (tuple, list))
            items = list(given) if many else [given]
            if not items or not all(isinstance(g, AudioContinuation) for g in items):
                raise BackendError("params['continue_from'] must be an AudioContinuation (audio and its sample rate)"
                                   " or one per part")
            if many and len(items) != len(request.parts):
                raise BackendError(f"params['continue_from'] has {len(items)} audio prompts for "
                                   f"{len(request.parts)} parts: give one per part")
            room = max(MIN_PROMPT_SECONDS, pipe.window_plan.context_seconds - new_seconds)
            hop = pipe.config.audio_encoder.hop_length
            tails = []
            for g in items:
                tail = g.tail(pipe.sample_rate, pipe.audio_channels, seconds=min(g.seconds, room))
                tails.append(tail[tail.shape[0] % hop:] if tail.shape[0] >= hop else tail)
            if len({t.shape[0] for t in tails}) > 1:
                raise BackendError("the parts' audio prompts differ in length: continue every part from the same time")
            return (tails if many else tails[0]), "selection"
        if getattr(request.reference, "continue_audio", False):
            audio = self._reference_audio(request, DEFAULT_PROMPT_SECONDS, pipe.audio_channels)
            if audio is not None and audio.size:
                return audio, "reference"
        return None, None

    @staticmethod
    def _conform(audio: np.ndarray, sample_rate: int, tempo: float, beats_per_bar: int, num_samples: int,
                 onsets: Any = None):
        """``audio [N, C]`` onto the grid, its downbeat and phase chosen to agree with the locked
        tracks' ``onsets`` (``conform.locked_onsets``). conform_to_grid is mono: a stereo take keeps
        its two channels only when both were fitted alike (same beats, same stretch); else both get
        the fitted mid channel, so the channels can never drift apart."""
        mid, report = conform_to_grid(audio.mean(axis=1), sample_rate, tempo, beats_per_bar, num_samples,
                                      locked_onsets=onsets)
        if audio.shape[1] == 1:
            return mid[:, None], report
        sides = [conform_to_grid(audio[:, c], sample_rate, tempo, beats_per_bar, num_samples, locked_onsets=onsets)
                 for c in range(2)]
        same = ("stretch_rate", "downbeat_s")
        if all(all(side[1].get(k) == report.get(k) for k in same) for side in sides):
            return np.stack([side[0] for side in sides], axis=1), report
        return np.stack([mid, mid], axis=1), {**report, "stereo": "fitted as one channel"}

    def seconds_to_generate(self, context: MusicalContext, prompt_seconds: float = 0.0) -> float:
        """What the session needs plus room for the grid fit, never enough to open a window for slack alone.

        Room: a bar for cutting to the first downbeat and 15 % for stretching to the session
        tempo (any shortfall is silence). Past the model's context that slack cost a whole second
        window (re-reading its prompt), so when the music fits one window the slack is cut there.
        """
        bar_seconds = context.beats_per_bar * context.seconds_per_beat
        needed = context.duration
        wanted = (needed + bar_seconds) * 1.15 + 0.5
        room = self.pipeline.window_plan.context_seconds - prompt_seconds
        if needed <= room < wanted:
            return room
        return wanted

    def generate(self, request: GenerationRequest, progress: ProgressCallback | None = None,
                 cancel: CancelCallback | None = None) -> Sequence[GeneratedPart]:
        if not request.parts:
            return []
        pipe = self.pipeline
        context = request.context
        params = sampling_params(request, SamplingParams, "MusicGen")
        prompts = [part_prompt(context, part, request.prompt) for part in request.parts]
        selection_seconds = context.duration + 0.1  # a continuation is already in time: only the length
        prompt_audio, continued = self._continuation(request, selection_seconds)
        first_prompt = prompt_audio[0] if isinstance(prompt_audio, list) else prompt_audio
        prompt_seconds = 0.0 if first_prompt is None else first_prompt.shape[0] / pipe.sample_rate
        if continued == "selection":
            seconds = selection_seconds
        else:
            seconds = self.seconds_to_generate(context, prompt_seconds)
        melody = self._melody(request)
        job = pipe.start(prompts, params, pipe.frames_for_seconds(seconds), melody=melody, audio_prompt=prompt_audio)
        run_steps(job, progress, cancel, "MusicGen")
        if progress is not None:
            progress(0.92, "decoding audio")
        codes = job.codes[:, :, job.prompt_frames:]  # the prompt is the user's music, not the new part
        raw = pipe.decode(codes)
        raw = raw if raw.ndim == 3 else raw[:, :, None]
        num_samples = context.num_samples(request.sample_rate)
        beats_per_bar = max(1, int(round(context.beats_per_bar)))
        onsets = locked_onsets(request.locked, request.sample_rate) if request.locked else None
        parts = []
        for i, part in enumerate(request.parts):
            audio = soxr.resample(raw[i], pipe.sample_rate, request.sample_rate).astype(np.float32)
            if continued == "selection":
                fitted = np.zeros((num_samples, audio.shape[1]), np.float32)
                fitted[: min(num_samples, audio.shape[0])] = audio[:num_samples]
                report: Any = {"skipped": "a continuation is already in time with the music before it"}
            else:
                fitted, report = self._conform(audio, request.sample_rate, context.tempo, beats_per_bar, num_samples,
                                               onsets)
            stereo = fitted if fitted.shape[1] == 2 else np.repeat(fitted[:, :1], 2, axis=1)
            resolved: dict[str, Any] = {
                "model": pipe.folder.path.name, "prompt": prompts[i], "seed": params.seed + i,
                "greedy": params.greedy, "temperature": params.temperature, "top_k": params.top_k,
                "top_p": params.top_p, "cfg_coef": params.cfg_coef, "melody_conditioned": melody is not None,
                "continued_from": continued, "prompt_seconds": round(prompt_seconds, 3),
                "dtype": str(pipe.model.decoder.dtype).replace("mlx.core.", ""),
                "conform": report,
            }
            parts.append(GeneratedPart(part.name, part.role, stereo, None, resolved))
            if progress is not None:
                progress(0.92 + 0.08 * (i + 1) / len(request.parts), f"fitted {part.name} to the grid")
        return parts
