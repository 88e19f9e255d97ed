"""The delay codebook pattern with a delay per codebook (audiocraft's ``DelayedPatternProvider``).

MusicGen delays codebook ``k`` by ``k``; MusicGen-Stem restarts the delays in every stem
(6cb: bass, drums, other = ``[0 | 0 | 0, 1, 2, 3]``; 7cb: ``[0, 1 | 0 | 0, 1, 2, 3]``), so
several codebooks share a delay and the delays are not sorted. Layout: a sequence of
``S = F + max(delays) + 1`` steps starts with one column of the special token; frame ``f`` of
codebook ``k`` sits at step ``f + delays[k] + 1``; every other cell holds the special token.

    build(codes [B, K, F]) -> sequence [B, K, F + max_delay + 1]
    revert(sequence [B, K, S]) -> codes [B, K, S - max_delay - 1]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class StemDelayPattern:
    delays: tuple[int, ...]
    special_token: int

    def __post_init__(self):
        if not self.delays or min(self.delays) < 0:
            raise ValueError("delays must be a non-empty list of non-negative integers")

    @property
    def num_codebooks(self) -> int:
        return len(self.delays)

    @property
    def max_delay(self) -> int:
        return max(self.delays)

    def steps_for_frames(self, frames: int) -> int:
        return frames + self.max_delay + 1

    def frames_for_steps(self, steps: int) -> int:
        return max(0, steps - self.max_delay - 1)

    def first_step_of_frame(self, frame: int) -> int:
        """The first sequence step holding frame ``frame`` of any codebook (audiocraft's generation start)."""
        return frame + min(self.delays) + 1

    def _check(self, K: int) -> None:
        if K != self.num_codebooks:
            raise ValueError(f"expected {self.num_codebooks} codebooks, got {K}")

    def build(self, codes: np.ndarray, steps: int | None = None) -> np.ndarray:
        """Lay ``codes [B, K, F]`` out in the pattern, ``steps`` long (default ``F + max_delay + 1``)."""
        B, K, F = codes.shape
        self._check(K)
        steps = self.steps_for_frames(F) if steps is None else steps
        sequence = np.full((B, K, steps), self.special_token, dtype=np.int64)
        for k, d in enumerate(self.delays):
            n = max(0, min(F, steps - d - 1))
            sequence[:, k, d + 1: d + 1 + n] = codes[:, k, :n]
        return sequence

    def build_mask(self, known: np.ndarray, steps: int) -> np.ndarray:
        """``known [K, F]`` (frames given, never sampled) -> ``[K, steps]`` True where a cell is not sampled.

        A cell is not sampled when it holds no frame (the special token) or a given frame.
        """
        K, F = known.shape
        self._check(K)
        fixed = np.ones((K, steps), dtype=bool)
        for k, d in enumerate(self.delays):
            n = max(0, min(F, steps - d - 1))
            fixed[k, d + 1: d + 1 + n] = known[k, :n]
        return fixed

    def revert(self, sequence: np.ndarray) -> np.ndarray:
        """Undo ``build``: ``[B, K, S]`` -> ``[B, K, S - max_delay - 1]`` frames aligned across codebooks."""
        B, K, S = sequence.shape
        self._check(K)
        frames = self.frames_for_steps(S)
        codes = np.empty((B, K, frames), dtype=sequence.dtype)
        for k, d in enumerate(self.delays):
            codes[:, k] = sequence[:, k, d + 1: d + 1 + frames]
        return codes
