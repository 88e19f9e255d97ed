"""The delay codebook pattern: codebook ``k`` runs ``k`` steps behind codebook 0.

Layout (as transformers and audiocraft): a sequence of ``S`` steps starts with one column of
the special token; frame ``f`` of codebook ``k`` sits at step ``f + k + 1``; every other cell
holds the special token. ``F`` frames therefore take ``S = F + K`` steps.

    build(codes [B, K, F]) -> sequence [B, K, F + K]
    revert(sequence [B, K, S]) -> codes [B, K, S - K]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DelayPattern:
    num_codebooks: int
    special_token: int

    def steps_for_frames(self, frames: int) -> int:
        return frames + self.num_codebooks

    def frames_for_steps(self, steps: int) -> int:
        return max(0, steps - self.num_codebooks)

    def build(self, codes: np.ndarray, steps: int | None = None) -> np.ndarray:
        """Lay ``codes [B, K, F]`` out in the delay pattern, ``steps`` long (default ``F + K``)."""
        B, K, F = codes.shape
        if K != self.num_codebooks:
            raise ValueError(f"expected {self.num_codebooks} codebooks, got {K}")
        steps = self.steps_for_frames(F) if steps is None else steps
        sequence = np.full((B, K, steps), self.special_token, dtype=np.int64)
        for k in range(K):
            n = max(0, min(F, steps - k - 1))
            sequence[:, k, k + 1: k + 1 + n] = codes[:, k, :n]
        return sequence

    def revert(self, sequence: np.ndarray) -> np.ndarray:
        """Undo ``build``: ``[B, K, S]`` -> ``[B, K, S - K]`` frames aligned across codebooks."""
        B, K, S = sequence.shape
        frames = self.frames_for_steps(S)
        codes = np.empty((B, K, frames), dtype=sequence.dtype)
        for k in range(K):
            codes[:, k] = sequence[:, k, k + 1: k + 1 + frames]
        return codes

    def fixed_mask(self, steps: int, prompt_frames: int, total_frames: int) -> np.ndarray:
        """``[K, steps]`` True where a cell is not sampled: special cells and prompt tokens.

        A prompt token is never overwritten by a sampled one.
        """
        k = np.arange(self.num_codebooks)[:, None]
        frame = np.arange(steps)[None, :] - k - 1
        return (frame < prompt_frames) | (frame >= total_frames)
