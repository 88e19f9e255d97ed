"""The decoding loop of MusicGen-Stem: one step per ``next()``, with given frames never sampled.

As audiocraft's ``LMModel.generate`` at commit 29b8230 (the version that still forces the kept
streams): the frames of the prompt and the *forced* frames (a kept stem's codes, for every
frame of the output) are written into the code grid before the delay pattern is laid out;
at each step the model predicts a whole column, and only cells that are neither given nor
pattern padding take the prediction. Kept streams are therefore teacher-forced every step
and come out exactly as given.

Guidance batches the conditional and null inputs ``[cond..., null...]`` and mixes
``null + (cond - null) * cfg_coef``; the null condition is all-zero T5 states.
"""

from __future__ import annotations

from typing import Iterator

import mlx.core as mx
import numpy as np

from engine.musicgen.generate import fill_sequence, row_keys
from engine.musicgen.sampling import SamplingParams
from engine.musicgen_stem.lm import StemLM
from engine.musicgen_stem.pattern import StemDelayPattern


def condition_cross(lm: StemLM, t5_states: mx.array, mask: mx.array, use_cfg: bool) -> list:
    """T5 output -> per-layer cross-attention inputs (batch doubled under guidance), computed once."""
    states = lm.condition_states(t5_states, mask, null=False)
    if use_cfg:
        states = mx.concatenate([states, lm.condition_states(t5_states, mask, null=True)], axis=0)
    return lm.cross(states)


class StemTokenGeneration:
    """Fills a ``[B, K, total_frames]`` code grid whose ``known [K, total_frames]`` cells are given.

    ``codes``: the grid, with given values where ``known`` (anything elsewhere). Iterate (each
    item: ``(steps done, steps in all)``), then read ``codes``. Row ``b`` samples from its own
    key (``params.seed + b`` unless ``keys [B, 2]`` are handed over from a previous window);
    after iteration ``keys`` holds where the stream stopped. The loop is MusicGen's
    ``fill_sequence``: guidance, sampling and the given cells in one compiled step tail.
    """

    def __init__(self, lm: StemLM, cross: list, params: SamplingParams, pattern: StemDelayPattern,
                 codes: np.ndarray, known: np.ndarray, prompt_frames: int, keys: mx.array | None = None):
        B, K, F = codes.shape
        if known.shape != (K, F):
            raise ValueError(f"known mask {known.shape} does not match codes {codes.shape}")
        if not known[:, :prompt_frames].all():
            raise ValueError("every prompt frame must be given")
        self.lm, self.cross, self.params, self.pattern = lm, cross, params, pattern
        self.total_frames = F
        grid = np.where(known[None], codes, pattern.special_token).astype(np.int64)
        self.sequence_length = pattern.steps_for_frames(F)
        self.first_step = pattern.first_step_of_frame(prompt_frames)
        self.sequence = pattern.build(grid, steps=self.sequence_length)
        self.fixed = pattern.build_mask(known, self.sequence_length)
        self.keys = keys if keys is not None else row_keys(params.seed, B)

    @property
    def total_steps(self) -> int:
        return max(0, self.sequence_length - self.first_step)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        decoder = self.lm.decoder

        def forward(x: mx.array, cache, prefix) -> mx.array:
            return decoder(x, cache, self.cross)  # the stem LM has no prefix to feed

        steps = fill_sequence(decoder, self.params, self.sequence, self.fixed, self.first_step, self.keys, self.cross,
                              forward=forward)
        for done, self.keys in enumerate(steps, 1):
            yield done, self.total_steps

    @property
    def codes(self) -> np.ndarray:
        """``[B, K, total_frames]`` (valid once iteration finished)."""
        return self.pattern.revert(self.sequence)[:, :, : self.total_frames]
