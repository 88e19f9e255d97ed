"""tracks/loudness.py gives pyloudnorm's integrated loudness, a block at a time."""

import numpy as np
import pyloudnorm
import pytest

from tracks import loudness
from tracks.loudness import measure_lufs


@pytest.mark.parametrize("sample_rate,frames,channels", [
    (44100, 44100 * 3 + 17, 2),   # edges that fall inside blocks
    (48000, 19200, 1),            # exactly one gating block
    (22050, 22050 * 10, 2),
    (32000, 32000 * 7 + 5, 5),    # five channels, surround weights
])
def test_matches_pyloudnorm(sample_rate, frames, channels, monkeypatch):
    monkeypatch.setattr(loudness, "BLOCK_FRAMES", 4096)  # many blocks even on short audio
    rng = np.random.default_rng(frames)
    x = rng.standard_normal((frames, channels)) * 0.1
    x[: frames // 3] *= 0.001  # a quiet start the relative gate drops
    audio = x if channels > 1 else x[:, 0]
    assert measure_lufs(audio, sample_rate) == pytest.approx(
        pyloudnorm.Meter(sample_rate).integrated_loudness(audio), abs=1e-6)


def test_block_size_does_not_change_the_figure(monkeypatch):
    x = np.random.default_rng(1).standard_normal((44100 * 2, 2)) * 0.2
    whole = measure_lufs(x, 44100)
    monkeypatch.setattr(loudness, "BLOCK_FRAMES", 1000)
    assert measure_lufs(x, 44100) == pytest.approx(whole, abs=1e-9)


@pytest.mark.parametrize("audio", [np.zeros((44100, 2)), np.zeros(100), np.zeros((44100, 6)), np.zeros((0, 2))],
                         ids=["silence", "shorter than a block", "six channels", "empty"])
def test_no_figure_where_bs1770_gives_none(audio):
    assert measure_lufs(audio, 44100) is None
