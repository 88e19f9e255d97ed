"""MusicGen-Stem from prompts to three stems, and regeneration of some stems given the others.

    pipe = StemPipeline.load("models/musicgen-stem-6cb")          # T5 from models/musicgen-stem-6cb/t5
    job = pipe.generate(["funk"], SamplingParams(seed=1), pipe.frames_for_seconds(8))
    job = pipe.regenerate(["funk"], params, {"drums": drums_32k}, ["bass"], frames)
    for done, total in job:      # one decoding step per item; progress and cancel belong here
        ...
    stems = pipe.decode(job.codes)   # {"bass": [B, N], "drums": ..., "other": ...} at 32 kHz

Regeneration follows the fork (``regenerate_instruments_from_stems``): the kept stems' 25 s
window is encoded, ``codes[..., ::5]`` is a 250-frame summary prefix in which the regenerated
streams are the special token, one all-special transition frame follows, then the output is
generated with the kept streams forced at every frame. Past one window, later windows start
``extend_stride`` seconds on, and the overlap with the previous window is forced for the
regenerated streams too, so the new part continues itself across windows.
"""

from __future__ import annotations

import os
from typing import Callable, Iterator, Mapping, Sequence

import numpy as np

from engine.errors import BackendError
from engine.musicgen.generate import row_keys
from engine.musicgen.pipeline import WindowPlan
from engine.musicgen.sampling import SamplingParams
from engine.musicgen_stem.generate import StemTokenGeneration, condition_cross
from engine.musicgen_stem.model import MusicGenStem, load_stem_model
from engine.musicgen_stem.pattern import StemDelayPattern

SUMMARY_SECONDS = 25.0
SUMMARY_STRIDE = 5  # audiocraft's instrument_masking.ds_factor


class StemJob:
    """Windows run one after another, one decoding step per item ``(steps done, steps in all)``.

    ``windows(job)`` yields ``(generation, finish)`` pairs; ``finish(generation)`` appends the
    window's new frames to ``job.codes`` ``[B, K, frames]``, which later windows read.
    """

    def __init__(self, windows: Callable[["StemJob"], Iterator], total_steps: int, batch: int, K: int):
        self._windows = windows
        self.total_steps = total_steps
        self.codes = np.zeros((batch, K, 0), np.int64)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        done = 0
        for gen, finish in self._windows(self):
            for _ in gen:
                done += 1
                yield done, self.total_steps
            finish(gen)


class StemPipeline:
    def __init__(self, stem: MusicGenStem, context_seconds: float | None = None,
                 extend_stride_seconds: float = 18.0):
        self.stem = stem
        self.lm = stem.lm
        self.codec = stem.codec
        cfg = stem.lm_config
        self.pattern = StemDelayPattern(cfg.delays, cfg.special_token)
        seconds = cfg.segment_seconds if context_seconds is None else context_seconds
        self.context_frames = max(2, int(round(seconds * self.frame_rate)))
        stride = min(self.context_frames - 1, max(1, int(round(extend_stride_seconds * self.frame_rate))))
        self.window_plan = WindowPlan(self.context_frames, stride, float(seconds))
        self.summary_frames = int(round(SUMMARY_SECONDS * self.frame_rate))
        self.prefix_frames = len(range(0, self.summary_frames, SUMMARY_STRIDE)) + 1  # summary + transition

    @classmethod
    def load(cls, model_dir: str | os.PathLike, text_dir: str | os.PathLike | None = None, dtype: str = "float32",
             cache_dir: str | os.PathLike | None = None, **options) -> "StemPipeline":
        return cls(load_stem_model(model_dir, text_dir=text_dir, dtype=dtype, cache_dir=cache_dir), **options)

    @property
    def sample_rate(self) -> int:
        return self.codec.sample_rate

    @property
    def frame_rate(self) -> int:
        return self.codec.frame_rate

    @property
    def sources(self) -> tuple[str, ...]:
        return self.codec.sources

    @property
    def regeneration_frames(self) -> int:
        """Output frames one regeneration window holds (1249 at 30 s context)."""
        return max(1, self.context_frames - self.prefix_frames)

    def frames_for_seconds(self, seconds: float) -> int:
        return max(1, int(round(seconds * self.frame_rate)))

    def default_params(self, **overrides) -> SamplingParams:
        values = {"cfg_coef": self.stem.lm_config.cfg_coef, **{k: v for k, v in overrides.items() if v is not None}}
        return SamplingParams(**values)

    def _cross(self, prompts: Sequence[str], params: SamplingParams) -> list:
        prompts = [str(p) for p in prompts]
        if not prompts:
            raise BackendError("give at least one text prompt")
        states, mask = self.stem.encode_text(prompts)
        return condition_cross(self.lm, states, mask, params.uses_cfg)

    def decode(self, codes: np.ndarray) -> dict[str, np.ndarray]:
        return self.codec.decode(codes)

    # -- text -> three stems ------------------------------------------------------------------

    def generate(self, prompts: Sequence[str], params: SamplingParams, frames: int) -> StemJob:
        """All streams from text; past the context, audiocraft's extend-stride continuation."""
        cross = self._cross(prompts, params)
        B, K = len(prompts), self.pattern.num_codebooks
        plan = self.window_plan.windows(0, frames)
        total = sum(self.pattern.steps_for_frames(kept + new) - self.pattern.first_step_of_frame(kept) for kept, new in plan)
        keys = [row_keys(params.seed, B)]

        def windows(job: StemJob):
            for kept, new in plan:
                grid = np.zeros((B, K, kept + new), np.int64)
                grid[:, :, :kept] = job.codes[:, :, job.codes.shape[2] - kept:]
                known = np.zeros((K, kept + new), bool)
                known[:, :kept] = True
                gen = StemTokenGeneration(self.lm, cross, params, self.pattern, grid, known, kept, keys=keys[0])

                def finish(g, kept=kept):
                    keys[0] = g.keys
                    job.codes = np.concatenate([job.codes, g.codes[:, :, kept:]], axis=2)

                yield gen, finish

        return StemJob(windows, total, B, K)

    # -- regenerate some stems given the others ----------------------------------------------

    def streams_of(self, stems: Sequence[str]) -> list[int]:
        unknown = [s for s in stems if s not in self.codec.streams]
        if unknown:
            raise BackendError(f"unknown stem {unknown[0]!r}: MusicGen-Stem's stems are {', '.join(self.sources)}")
        return sorted(i for s in stems for i in self.codec.streams[s])

    def regeneration_windows(self, frames: int) -> list[tuple[int, int, int]]:
        """``(first output frame, frames, frames overlapping the previous window)`` per window."""
        room = self.regeneration_frames
        stride = max(1, min(room, self.window_plan.stride_frames))
        plan, start = [], 0
        while True:
            count = min(room, frames - start)
            overlap = 0 if not plan else plan[-1][0] + plan[-1][1] - start
            plan.append((start, count, overlap))
            if start + count >= frames:
                return plan
            start += stride

    def encode_kept(self, kept: Mapping[str, np.ndarray], start_frame: int) -> dict[str, np.ndarray]:
        """Each kept stem's ``summary_frames`` window from ``start_frame`` (zero-padded), encoded."""
        hop = self.codec.hop_length
        n = self.summary_frames * hop
        out = {}
        for stem, audio in kept.items():
            audio = np.asarray(audio, np.float32).reshape(-1)
            segment = audio[start_frame * hop: start_frame * hop + n]
            segment = np.pad(segment, (0, n - segment.size))
            out[stem] = self.codec.encode_stem(stem, segment)[0]
        return out

    def regenerate(self, prompts: Sequence[str], params: SamplingParams, kept: Mapping[str, np.ndarray],
                   regenerate: Sequence[str], frames: int) -> StemJob:
        """New ``regenerate`` stems over ``kept`` ones (mono audio at ``sample_rate``), ``frames`` long.

        A stem in neither is kept silent, as in the fork; with nothing kept this is ``generate``.
        """
        regenerate = list(dict.fromkeys(regenerate))
        kept = {s: a for s, a in kept.items() if s not in regenerate}
        if not regenerate:
            raise BackendError("name at least one stem to regenerate (drums, bass or other)")
        self.streams_of(list(kept) + regenerate)
        if not kept:
            return self.generate(prompts, params, frames)
        # As the fork: a stem neither given nor regenerated is kept, as silence.
        kept.update({s: np.zeros(1, np.float32) for s in self.sources if s not in kept and s not in regenerate})
        cross = self._cross(prompts, params)
        B, K, P = len(prompts), self.pattern.num_codebooks, self.prefix_frames
        special = self.pattern.special_token
        kept_streams = self.streams_of(list(kept))
        new_streams = self.streams_of(regenerate)
        plan = self.regeneration_windows(frames)
        total = sum(self.pattern.steps_for_frames(P + n) - self.pattern.first_step_of_frame(P) for _, n, _ in plan)
        keys = [row_keys(params.seed, B)]

        def windows(job: StemJob):
            for start, count, overlap in plan:
                window_codes = np.full((K, self.summary_frames), special, np.int64)
                for stem, codes in self.encode_kept(kept, start).items():
                    window_codes[self.codec.streams[stem]] = codes
                grid = np.full((B, K, P + count), special, np.int64)
                grid[:, :, : P - 1] = window_codes[None, :, ::SUMMARY_STRIDE]
                grid[:, new_streams, : P - 1] = special
                grid[:, kept_streams, P:] = window_codes[None, kept_streams, :count]
                known = np.zeros((K, P + count), bool)
                known[:, :P] = True
                known[kept_streams, P:] = True
                if overlap:
                    grid[:, new_streams, P: P + overlap] = job.codes[:, new_streams, start: start + overlap]
                    known[new_streams, P: P + overlap] = True
                gen = StemTokenGeneration(self.lm, cross, params, self.pattern, grid, known, P, keys=keys[0])

                def finish(g, overlap=overlap):
                    keys[0] = g.keys
                    job.codes = np.concatenate([job.codes, g.codes[:, :, P + overlap:]], axis=2)

                yield gen, finish

        return StemJob(windows, total, B, K)
