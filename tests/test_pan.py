"""The mixer's pan: -1 puts a track in the left channel only, and the law is constant power."""

from __future__ import annotations

import numpy as np
import pytest

from tracks import Session, Take, Track
from tracks.mixer import pan_gains, render_mix


def session_with_one_track(pan: float) -> tuple[Session, np.ndarray]:
    s = Session({"tempo": 120.0, "meter": (4, 4), "bars": 1}, name="pan")
    rng = np.random.default_rng(3)
    audio = (rng.standard_normal((s.num_samples, 2)) * 0.1).astype(np.float32)
    t = Track("Keys", "harmony", pan=pan)
    t.add_take(Take(audio))
    s.add_track(t, record=False)
    return s, audio


def test_hard_left_is_the_left_channel_only() -> None:
    s, audio = session_with_one_track(-1.0)
    mix = render_mix(s)
    assert np.all(mix[:, 1] == 0.0)
    np.testing.assert_allclose(mix[:, 0], audio[:, 0] * np.sqrt(2.0), rtol=1e-6)


def test_hard_right_is_the_right_channel_only_and_centre_is_the_take() -> None:
    s, audio = session_with_one_track(1.0)
    mix = render_mix(s)
    assert np.max(np.abs(mix[:, 0])) < 1e-7
    s, audio = session_with_one_track(0.0)
    np.testing.assert_array_equal(render_mix(s), audio)


@pytest.mark.parametrize("pan", np.linspace(-1.0, 1.0, 9))
def test_the_pan_law_keeps_power_constant(pan: float) -> None:
    left, right = pan_gains(pan)
    assert left ** 2 + right ** 2 == pytest.approx(2.0)
    assert left >= 0.0 and right >= 0.0


def test_pan_moves_monotonically_towards_its_side() -> None:
    lefts = [pan_gains(p)[0] for p in np.linspace(-1.0, 1.0, 21)]
    assert all(a >= b for a, b in zip(lefts, lefts[1:]))
