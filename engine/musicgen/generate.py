"""The decoding loop: conditioning in, delay-patterned codes out, one step per ``next()``.

Classifier-free guidance runs the conditional and unconditional inputs as one batch
``[cond..., uncond...]`` and mixes their logits: ``uncond + (cond - uncond) * cfg_coef``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import mlx.core as mx
import numpy as np

from engine.musicgen.chroma import null_chroma
from engine.musicgen.model import MusicGen
from engine.musicgen.pattern import DelayPattern
from engine.musicgen.sampling import SamplingParams, choose_tokens


@dataclass(frozen=True)
class Conditioning:
    """Tokenised conditioning for a batch of ``B`` items (the output of the tokenize step).

    ``input_ids``/``attention_mask``: ``[B, L]`` T5 tokens. ``chroma``: ``[B, T, 12]`` one-hot
    melody (melody model only; None gives the null melody). ``prompt_codes``: ``[B, K, P]``
    audio-prompt codes to continue, or None.
    """

    input_ids: np.ndarray
    attention_mask: np.ndarray
    chroma: np.ndarray | None = None
    prompt_codes: np.ndarray | None = None

    @property
    def batch_size(self) -> int:
        return int(self.input_ids.shape[0])

    def with_prompt(self, prompt_codes: np.ndarray | None, chroma: np.ndarray | None) -> "Conditioning":
        return Conditioning(self.input_ids, self.attention_mask, chroma, prompt_codes)


@dataclass
class DecoderInputs:
    """The forward step's result: what the decoder attends to, batch doubled under guidance."""

    cross: list | None
    prefix: mx.array | None


def condition(model: MusicGen, cond: Conditioning, use_cfg: bool) -> DecoderInputs:
    """Run T5 (and the chroma projection) once for a whole generation."""
    ids = mx.array(cond.input_ids)
    mask = mx.array(cond.attention_mask)
    states = model.encode_text(ids, mask)
    if use_cfg:
        states = mx.concatenate([states, mx.zeros_like(states)], axis=0)
        mask = mx.concatenate([mask, mx.zeros_like(mask)], axis=0)
    if not model.config.is_melody:
        return DecoderInputs(cross=model.decoder.cross_states(states, mask), prefix=None)
    B, num_chroma = cond.batch_size, model.config.num_chroma
    chroma = cond.chroma if cond.chroma is not None else np.broadcast_to(null_chroma(1, num_chroma), (B, 1, num_chroma))
    chroma = np.asarray(chroma, dtype=np.float32)
    if use_cfg:
        null = np.broadcast_to(null_chroma(chroma.shape[1], num_chroma), chroma.shape)
        chroma = np.concatenate([chroma, null], axis=0)
    audio_states = model.project_chroma(mx.array(chroma).astype(states.dtype))
    return DecoderInputs(cross=None, prefix=mx.concatenate([audio_states, states], axis=1))


def row_keys(seed: int, batch: int) -> list[mx.array]:
    """One random key per batch row: ``seed``, ``seed + 1``, ..."""
    return [mx.random.key(seed + b) for b in range(batch)]


class TokenGeneration:
    """Generates ``new_frames`` frames after the prompt's ``P`` frames, one decoding step per yield.

    Iterate it (each item: ``(steps done, steps in all)``), then read ``codes`` ``[B, K, P + new_frames]``.
    Row ``b`` samples from its own key, ``params.seed + b``: a seed fixes a row's tokens whatever
    else shares the batch.
    """

    def __init__(self, model: MusicGen, cond: Conditioning, params: SamplingParams, new_frames: int,
                 pattern: DelayPattern, keys: list[mx.array] | None = None):
        self.model, self.cond, self.params, self.pattern = model, cond, params, pattern
        K = pattern.num_codebooks
        B = cond.batch_size
        prompt = cond.prompt_codes if cond.prompt_codes is not None else np.zeros((B, K, 0), np.int64)
        self.prompt_frames = prompt.shape[2]
        self.total_frames = self.prompt_frames + max(0, new_frames)
        # transformers' max_new_tokens for new_frames frames: new_frames + K - 1 steps after the prompt.
        self.sequence_length = self.pattern.steps_for_frames(self.total_frames)
        self.first_step = self.prompt_frames + 1
        self.sequence = pattern.build(prompt, steps=self.sequence_length)
        self.fixed = pattern.fixed_mask(self.sequence_length, self.prompt_frames, self.total_frames)
        self.keys = keys if keys is not None else row_keys(params.seed, B)

    @property
    def total_steps(self) -> int:
        return max(0, self.sequence_length - self.first_step)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        if self.total_steps == 0:
            return
        use_cfg = self.params.uses_cfg
        inputs = condition(self.model, self.cond, use_cfg)
        cache = self.model.decoder.make_cache()
        B = self.cond.batch_size
        tokens = self.sequence[:, :, : self.first_step]
        prefix = inputs.prefix
        for j in range(self.first_step, self.sequence_length):
            x = mx.array(tokens.astype(np.int32))
            if use_cfg:
                x = mx.concatenate([x, x], axis=0)
            logits = self.model.decoder(x, cache, inputs.cross, prefix=prefix)[:, :, -1, :]
            prefix = None  # the prefix lives in the cache after the first step
            if use_cfg:
                cond_logits, uncond_logits = logits[:B], logits[B:]
                logits = uncond_logits + (cond_logits - uncond_logits) * self.params.cfg_coef
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
        """``[B, K, frames]``: prompt frames then generated ones (valid once iteration finished)."""
        return self.pattern.revert(self.sequence)[:, :, : self.total_frames]
