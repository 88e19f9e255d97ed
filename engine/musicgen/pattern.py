"""The delay codebook pattern: codebook ``k`` runs ``k`` steps behind codebook 0.

Layout (as transformers and audiocraft): a sequence of ``S`` steps starts with one column of
the special token; frame ``f`` of codebook ``k`` sits at step ``f + delay(k) + 1``; every other
cell holds the special token. Mono: ``delay(k) = k``, so ``F`` frames take ``S = F + K`` steps.
Stereo checkpoints interleave the channels' codebooks (left 0, right 0, left 1, ...) and each
left/right pair shares one delay: ``delay(k) = k // 2``, ``S = F + K / 2``.

    build(codes [B, K, F]) -> sequence [B, K, F + D]      (D = K / channels delays)
    revert(sequence [B, K, S]) -> codes [B, K, S - D]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DelayPattern:
    num_codebooks: int
    special_token: int
    audio_channels: int = 1

    def __post_init__(self) -> None:
        if self.audio_channels not in (1, 2) or self.num_codebooks % self.audio_channels:
            raise ValueError(f"{self.num_codebooks} codebooks cannot hold {self.audio_channels} interleaved channels")

    @property
    def num_delays(self) -> int:
        """Distinct delays: the number of codebooks per channel."""
        return self.num_codebooks // self.audio_channels

    def delay(self, k: int) -> int:
        return k // self.audio_channels

    def steps_for_frames(self, frames: int) -> int:
        return frames + self.num_delays

    def frames_for_steps(self, steps: int) -> int:
        return max(0, steps - self.num_delays)

    def build(self, codes: np.ndarray, steps: int | None = None) -> np.ndarray:
        """Lay ``codes [B, K, F]`` out in the delay pattern, ``steps`` long (default ``F + D``)."""
        B, K, F = codes.shape
        if K != self.num_codebooks:
            raise ValueError(f"expected {self.num_codebooks} codebooks, got {K}")
        steps = self.steps_for_frames(F) if steps is None else steps
        sequence = np.full((B, K, steps), self.special_token, dtype=np.int64)
        for k in range(K):
            d = self.delay(k)
            n = max(0, min(F, steps - d - 1))
            sequence[:, k, d + 1: d + 1 + n] = codes[:, k, :n]
        return sequence

    def revert(self, sequence: np.ndarray) -> np.ndarray:
        """Undo ``build``: ``[B, K, S]`` -> ``[B, K, S - D]`` frames aligned across codebooks."""
        B, K, S = sequence.shape
        frames = self.frames_for_steps(S)
        codes = np.empty((B, K, frames), dtype=sequence.dtype)
        for k in range(K):
            d = self.delay(k)
            codes[:, k] = sequence[:, k, d + 1: d + 1 + frames]
        return codes

    def fixed_mask(self, steps: int, prompt_frames: int, total_frames: int) -> np.ndarray:
        """``[K, steps]`` True where a cell is not sampled: special cells and prompt tokens.

        A prompt token is never overwritten by a sampled one.
        """
        delays = np.array([self.delay(k) for k in range(self.num_codebooks)])[:, None]
        frame = np.arange(steps)[None, :] - delays - 1
        return (frame < prompt_frames) | (frame >= total_frames)
