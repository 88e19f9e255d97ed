"""The per-codebook delay pattern and the rule that given (prompt or forced) tokens are never overwritten."""

from __future__ import annotations

import numpy as np
import pytest

from engine.musicgen.pattern import DelayPattern
from engine.musicgen_stem.pattern import StemDelayPattern

SPECIAL = 64
DELAYS = [(0, 0, 0, 1, 2, 3), (0, 1, 0, 0, 1, 2, 3), (0, 1, 2, 3), (2, 0, 1), (0,)]


@pytest.mark.parametrize("delays", DELAYS)
@pytest.mark.parametrize("F", [0, 1, 4, 23])
def test_build_then_revert_is_identity(delays, F):
    rng = np.random.default_rng(len(delays) * 100 + F)
    codes = rng.integers(0, SPECIAL, size=(2, len(delays), F))
    pattern = StemDelayPattern(delays, SPECIAL)
    sequence = pattern.build(codes)
    assert sequence.shape == (2, len(delays), F + max(delays) + 1)
    np.testing.assert_array_equal(pattern.revert(sequence), codes)


@pytest.mark.parametrize("delays", DELAYS)
def test_frame_f_of_codebook_k_sits_at_step_f_plus_delay_plus_one(delays):
    F = 5
    codes = np.arange(1, 1 + len(delays) * F).reshape(1, len(delays), F)
    sequence = StemDelayPattern(delays, SPECIAL).build(codes)
    for k, d in enumerate(delays):
        row = sequence[0, k]
        assert (row[: d + 1] == SPECIAL).all()
        np.testing.assert_array_equal(row[d + 1: d + 1 + F], codes[0, k])
        assert (row[d + 1 + F:] == SPECIAL).all()


@pytest.mark.parametrize("F", [1, 6, 20])
def test_musicgen_delays_give_the_musicgen_layout(F):
    codes = np.random.default_rng(F).integers(0, SPECIAL, size=(1, 4, F))
    np.testing.assert_array_equal(StemDelayPattern((0, 1, 2, 3), SPECIAL).build(codes),
                                  DelayPattern(4, SPECIAL).build(codes))


def test_seven_codebook_layout_matches_the_fork():
    """audiocraft DelayedPatternProvider(7, [0, 1, 0, 0, 1, 2, 3]).get_pattern(3): which cells hold frames."""
    sequence = StemDelayPattern((0, 1, 0, 0, 1, 2, 3), SPECIAL).build(np.zeros((1, 7, 3), int))
    np.testing.assert_array_equal((sequence[0] != SPECIAL).astype(int), [
        [0, 1, 1, 1, 0, 0, 0],
        [0, 0, 1, 1, 1, 0, 0],
        [0, 1, 1, 1, 0, 0, 0],
        [0, 1, 1, 1, 0, 0, 0],
        [0, 0, 1, 1, 1, 0, 0],
        [0, 0, 0, 1, 1, 1, 0],
        [0, 0, 0, 0, 1, 1, 1],
    ])


@pytest.mark.parametrize("delays", DELAYS[:3])
def test_build_mask_fixes_given_cells_and_padding_only(delays):
    K, F = len(delays), 9
    rng = np.random.default_rng(K)
    known = rng.random((K, F)) < 0.4
    pattern = StemDelayPattern(delays, SPECIAL)
    steps = pattern.steps_for_frames(F)
    fixed = pattern.build_mask(known, steps)
    for k, d in enumerate(delays):
        for s in range(steps):
            f = s - d - 1
            expect = True if not 0 <= f < F else bool(known[k, f])
            assert fixed[k, s] == expect


def test_given_tokens_survive_a_generation_that_would_overwrite_them():
    """A fake LM that always predicts token 5: only the cells not given may become 5."""
    import mlx.core as mx

    from engine.musicgen.sampling import SamplingParams
    from engine.musicgen_stem.generate import StemTokenGeneration

    class Decoder:
        def make_cache(self):
            return [None]

        def __call__(self, x, cache, cross):
            B, K, T = x.shape
            logits = np.zeros((B, K, T, SPECIAL), np.float32)
            logits[..., 5] = 1.0
            return mx.array(logits)

    class LM:
        decoder = Decoder()

    delays = (0, 1, 0, 0, 1, 2, 3)
    K, P, F = len(delays), 3, 12
    codes = np.random.default_rng(0).integers(6, SPECIAL, size=(1, K, F))
    known = np.zeros((K, F), bool)
    known[:, :P] = True
    known[[2, 3], :] = True  # two forced streams
    gen = StemTokenGeneration(LM(), None, SamplingParams(greedy=True, cfg_coef=1.0),
                              StemDelayPattern(delays, SPECIAL), codes, known, P)
    steps = list(gen)
    assert steps[-1] == (gen.total_steps, gen.total_steps)
    out = gen.codes
    np.testing.assert_array_equal(out[:, known], codes[:, known])
    assert (out[:, ~known] == 5).all()
