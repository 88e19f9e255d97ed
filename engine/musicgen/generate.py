"""The decoding loop: conditioning in, delay-patterned codes out, one step per ``next()``.

Classifier-free guidance runs the conditional and unconditional inputs as one batch
``[cond..., uncond...]`` and mixes their logits: ``uncond + (cond - uncond) * cfg_coef``.

The loop never leaves MLX between steps: the sequence, the fixed cells of the delay pattern
and the per-row random keys are MLX arrays, and step ``j + 1`` is built while step ``j`` is
evaluated (``mx.async_eval``), so the host never waits on a step to prepare the next.
``fill_sequence`` is that loop for any patterned sequence; MusicGen-Stem runs it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterator

import mlx.core as mx
import numpy as np

from engine.musicgen.chroma import null_chroma
from engine.musicgen.model import MusicGen
from engine.musicgen.pattern import DelayPattern
from engine.musicgen.sampling import SamplingParams, row_keys, sampler

PREFILL_CHUNK = 256
"""Prompt frames fed to the decoder at a time: bounds the attention scores of a long audio prompt
(a 25 s continuation at batch 8 would otherwise hold 8 x 16 x 1250 x 1250 scores per layer)."""

__all__ = ["Conditioning", "DecoderInputs", "TextStates", "TokenGeneration", "condition", "decoder_inputs",
           "encode_text", "fill_sequence", "prefill", "row_keys"]


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
class TextStates:
    """T5 output for a batch, doubled with the null condition under guidance: run once per generation."""

    states: mx.array
    mask: mx.array
    use_cfg: bool


@dataclass
class DecoderInputs:
    """The forward step's result: what the decoder attends to, batch doubled under guidance."""

    cross: list | None
    prefix: mx.array | None


def encode_text(model: MusicGen, cond: Conditioning, use_cfg: bool) -> TextStates:
    ids = mx.array(cond.input_ids)
    mask = mx.array(cond.attention_mask)
    states = model.encode_text(ids, mask)
    if use_cfg:
        states = mx.concatenate([states, mx.zeros_like(states)], axis=0)
        mask = mx.concatenate([mask, mx.zeros_like(mask)], axis=0)
    return TextStates(states, mask, use_cfg)


def decoder_inputs(model: MusicGen, text: TextStates, chroma: np.ndarray | None, batch: int) -> DecoderInputs:
    """Cross-attention keys/values (text model) or the chroma + text prefix (melody model)."""
    if not model.config.is_melody:
        return DecoderInputs(cross=model.decoder.cross_states(text.states, text.mask), prefix=None)
    num_chroma = model.config.num_chroma
    if chroma is None:
        chroma = np.broadcast_to(null_chroma(1, num_chroma), (batch, 1, num_chroma))
    chroma = np.asarray(chroma, dtype=np.float32)
    if text.use_cfg:
        null = np.broadcast_to(null_chroma(chroma.shape[1], num_chroma), chroma.shape)
        chroma = np.concatenate([chroma, null], axis=0)
    audio_states = model.project_chroma(mx.array(chroma).astype(text.states.dtype))
    return DecoderInputs(cross=None, prefix=mx.concatenate([audio_states, text.states], axis=1))


def condition(model: MusicGen, cond: Conditioning, use_cfg: bool) -> DecoderInputs:
    """Run T5 (and the chroma projection) once for a whole generation."""
    return decoder_inputs(model, encode_text(model, cond, use_cfg), cond.chroma, cond.batch_size)


@lru_cache(maxsize=32)
def step_tail(params: SamplingParams):
    """The compiled end of a step: guidance mix, sampling, and the delay pattern's fixed cells.

    ``(logits [B', K, V], keys [B, 2], fixed [K], given [B, K]) -> (column [B, K, 1], next keys)``;
    ``B' = 2B`` under guidance (conditional rows first).
    """
    sample = sampler(params)

    def tail(logits: mx.array, keys: mx.array, fixed: mx.array, given: mx.array):
        B = given.shape[0]
        if params.uses_cfg:
            logits = logits[B:] + (logits[:B] - logits[B:]) * params.cfg_coef
        chosen, keys = sample(logits, keys)
        return mx.where(fixed, given, chosen.astype(mx.int32))[:, :, None], keys

    return mx.compile(tail)


def prefill(decoder, tokens: mx.array, cache, cross: list | None, prefix: mx.array | None,
            uses_cfg: bool) -> tuple[mx.array, mx.array | None]:
    """Feed all but the last ``PREFILL_CHUNK`` prompt steps ``tokens [B, K, T]`` into the cache, chunk by chunk.

    Returns the tokens left for the first step, and the prefix if it was not fed yet.
    Their heads are never computed: only the cache is kept.
    """
    while tokens.shape[2] > PREFILL_CHUNK:
        chunk, tokens = tokens[:, :, :PREFILL_CHUNK], tokens[:, :, PREFILL_CHUNK:]
        x = mx.concatenate([chunk, chunk], axis=0) if uses_cfg else chunk
        decoder(x, cache, cross, prefix=prefix, last_only=True)
        prefix = None
        mx.eval([c.keys for c in cache] + [c.values for c in cache])
    return tokens, prefix


def fill_sequence(decoder, params: SamplingParams, sequence: np.ndarray, fixed: np.ndarray, start: int,
                  keys: mx.array, cross: list | None, prefix: mx.array | None = None,
                  forward: Callable | None = None) -> Iterator[mx.array]:
    """Sample, in place, the cells of ``sequence [B, K, S]`` from step ``start`` on that ``fixed [K, S]`` leaves free.

    One decoding step per item (the item: the keys ``[B, 2]`` after that step). The steps before
    ``start`` are the prompt (``prefill``). Step ``j + 1`` is queued while step ``j`` is evaluated.
    ``forward(x, cache, prefix)``: the decoder on one step's input ``x [B', K, T]`` (batch doubled
    under guidance) -> logits ``[B', K, T', V]``; by default the heads run on the last position only.
    """
    end = sequence.shape[2]
    if start >= end:
        return
    if forward is None:
        def forward(x, cache, prefix):
            return decoder(x, cache, cross, prefix=prefix, last_only=True)
    tail = step_tail(params)
    cache = decoder.make_cache()
    grid = mx.array(sequence.astype(np.int32))
    keep = mx.array(fixed)
    tokens, prefix = prefill(decoder, grid[:, :, :start], cache, cross, prefix, params.uses_cfg)

    def step(tokens: mx.array, keys: mx.array, j: int, prefix=None):
        x = mx.concatenate([tokens, tokens], axis=0) if params.uses_cfg else tokens
        return tail(forward(x, cache, prefix)[:, :, -1, :], keys, keep[:, j], grid[:, :, j])

    columns = []
    pending, keys = step(tokens, keys, start, prefix)
    mx.async_eval(pending, keys)
    for j in range(start, end):
        column, after = pending, keys
        if j + 1 < end:  # queue the next step before handing this one out
            pending, keys = step(column, keys, j + 1)
            mx.async_eval(pending, keys)
        columns.append(column)
        yield after
    sequence[:, :, start:end] = np.array(mx.concatenate(columns, axis=2)).astype(np.int64)


class TokenGeneration:
    """Generates ``new_frames`` frames after the prompt's ``P`` frames, one decoding step per yield.

    Iterate it (each item: ``(steps done, steps in all)``), then read ``codes`` ``[B, K, P + new_frames]``.
    Row ``b`` samples from its own key, ``params.seed + b``: a seed fixes a row's tokens whatever
    else shares the batch. ``keys`` (``[B, 2]``) continues another generation's random stream;
    ``text`` reuses T5 states computed for an earlier window, ``inputs`` the decoder inputs
    themselves (the text model's cross-attention keys/values do not change between windows).
    After iteration, ``keys`` holds where the stream stopped.
    """

    def __init__(self, model: MusicGen, cond: Conditioning, params: SamplingParams, new_frames: int,
                 pattern: DelayPattern, keys: mx.array | None = None, text: TextStates | None = None,
                 inputs: DecoderInputs | None = None):
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
        self.text = text
        self.inputs = inputs

    @property
    def total_steps(self) -> int:
        return max(0, self.sequence_length - self.first_step)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        if self.total_steps == 0:
            return
        inputs = self.inputs
        if inputs is None:
            text = self.text if self.text is not None else encode_text(self.model, self.cond, self.params.uses_cfg)
            inputs = decoder_inputs(self.model, text, self.cond.chroma, self.cond.batch_size)
        steps = fill_sequence(self.model.decoder, self.params, self.sequence, self.fixed, self.first_step, self.keys,
                              inputs.cross, inputs.prefix)
        for done, self.keys in enumerate(steps, 1):
            yield done, self.total_steps

    @property
    def codes(self) -> np.ndarray:
        """``[B, K, frames]``: prompt frames then generated ones (valid once iteration finished)."""
        return self.pattern.revert(self.sequence)[:, :, : self.total_frames]
