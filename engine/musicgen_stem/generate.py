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

from engine.musicgen.generate import row_keys
from engine.musicgen.sampling import SamplingParams, choose_tokens
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
    key (``params.seed + b`` unless ``keys`` are handed over from a previous window).
    """

    def __init__(self, lm: StemLM, cross: list, params: SamplingParams, pattern: StemDelayPattern,
                 codes: np.ndarray, known: np.ndarray, prompt_frames: int, keys: list[mx.array] | None = None):
        B, K, F = codes.shape
        if known.shape != (K, F):
            raise ValueError(f"known mask {known.shape} does not match codes {codes.shape}")
        if not known[:, :prompt_frames].all():
            raise ValueError("every prompt frame must be given")
        self.lm, self.cross, self.params, self.pattern = lm, cross, params, pattern
        self.batch = B
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
        if self.total_steps == 0:
            return
        use_cfg = self.params.uses_cfg
        decoder = self.lm.decoder
        cache = decoder.make_cache()
        B = self.batch
        tokens = self.sequence[:, :, : self.first_step]
        for j in range(self.first_step, self.sequence_length):
            x = mx.array(tokens.astype(np.int32))
            if use_cfg:
                x = mx.concatenate([x, x], axis=0)
            logits = decoder(x, cache, self.cross)[:, :, -1, :]
            if use_cfg:
                cond_logits, null_logits = logits[:B], logits[B:]
                logits = null_logits + (cond_logits - null_logits) * self.params.cfg_coef
            step_keys = None
            if not self.params.greedy:
                pairs = [mx.random.split(key) for key in self.keys]
                self.keys, step_keys = [p[0] for p in pairs], [p[1] for p in pairs]
            chosen = np.array(choose_tokens(logits, self.params, step_keys)).astype(np.int64)
            column = np.where(self.fixed[:, j][None, :], self.sequence[:, :, j], chosen)
            self.sequence[:, :, j] = column
            tokens = column[:, :, None]
            yield j - self.first_step + 1, self.total_steps

    @property
    def codes(self) -> np.ndarray:
        """``[B, K, total_frames]`` (valid once iteration finished)."""
        return self.pattern.revert(self.sequence)[:, :, : self.total_frames]
