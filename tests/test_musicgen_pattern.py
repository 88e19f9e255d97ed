"""The delay codebook pattern: build/revert round trips and the prompt rule."""

from __future__ import annotations

import numpy as np
import pytest

from engine.musicgen.pattern import DelayPattern

SPECIAL = 2048


@pytest.mark.parametrize("K", [1, 2, 4, 8])
@pytest.mark.parametrize("F", [0, 1, 3, 17])
def test_build_then_revert_is_identity(K, F):
    rng = np.random.default_rng(K * 100 + F)
    codes = rng.integers(0, SPECIAL, size=(2, K, F))
    pattern = DelayPattern(K, SPECIAL)
    sequence = pattern.build(codes)
    assert sequence.shape == (2, K, F + K)
    np.testing.assert_array_equal(pattern.revert(sequence), codes)


@pytest.mark.parametrize("K", [2, 4])
def test_codebook_k_runs_k_steps_behind(K):
    codes = np.arange(1, 1 + K * 5).reshape(1, K, 5)
    sequence = DelayPattern(K, SPECIAL).build(codes)
    for k in range(K):
        row = sequence[0, k]
        assert (row[: k + 1] == SPECIAL).all()
        np.testing.assert_array_equal(row[k + 1: k + 6], codes[0, k])
        assert (row[k + 6:] == SPECIAL).all()


def test_matches_transformers_layout_for_four_codebooks():
    """The docstring example of transformers' build_delay_pattern_mask (P = special, x = frame)."""
    sequence = DelayPattern(4, SPECIAL).build(np.zeros((1, 4, 4), int))
    layout = (sequence[0] != SPECIAL).astype(int)
    np.testing.assert_array_equal(layout, [
        [0, 1, 1, 1, 1, 0, 0, 0],
        [0, 0, 1, 1, 1, 1, 0, 0],
        [0, 0, 0, 1, 1, 1, 1, 0],
        [0, 0, 0, 0, 1, 1, 1, 1],
    ])


@pytest.mark.parametrize("K,P,F", [(4, 3, 8), (2, 0, 5), (4, 6, 6)])
def test_prompt_cells_are_never_sampled(K, P, F):
    pattern = DelayPattern(K, SPECIAL)
    steps = pattern.steps_for_frames(F)
    fixed = pattern.fixed_mask(steps, P, F)
    prompt_layout = pattern.build(np.ones((1, K, P), int), steps=steps)[0] == 1
    assert not (prompt_layout & ~fixed).any(), "a prompt token would be overwritten"
    special = pattern.build(np.zeros((1, K, F), int), steps=steps)[0] == SPECIAL
    assert (fixed[special]).all()
    assert (~fixed).sum() == K * (F - P)


def test_build_rejects_wrong_codebook_count():
    with pytest.raises(ValueError):
        DelayPattern(4, SPECIAL).build(np.zeros((1, 3, 2), int))


@pytest.mark.parametrize("K", [2, 4, 8])
@pytest.mark.parametrize("F", [0, 1, 5])
def test_stereo_pairs_share_a_delay_and_round_trip(K, F):
    rng = np.random.default_rng(K + 10 * F)
    codes = rng.integers(0, SPECIAL, size=(2, K, F))
    pattern = DelayPattern(K, SPECIAL, audio_channels=2)
    sequence = pattern.build(codes)
    assert sequence.shape == (2, K, F + K // 2)
    np.testing.assert_array_equal(pattern.revert(sequence), codes)
    for k in range(K):  # left k//2 and right k//2 sit at the same steps
        if F:
            assert sequence[0, k, k // 2 + 1] == codes[0, k, 0]
        assert (sequence[:, k, : k // 2 + 1] == SPECIAL).all()


def test_stereo_needs_an_even_number_of_codebooks():
    with pytest.raises(ValueError):
        DelayPattern(3, SPECIAL, audio_channels=2)
