"""Mixer: gain, pan, mute and solo into a stereo float32 mix."""

from __future__ import annotations

import numpy as np
import pytest

from tracks import Session, Take, Track
from tracks.mixer import pan_gains, render_mix, render_stems

CTX = {"tempo": 120.0, "meter": [4, 4], "tonic": 0, "mode": "major", "bars": 1}


@pytest.fixture
def session() -> Session:
    s = Session(CTX, sample_rate=22050)
    n = s.num_samples
    for i, (name, role) in enumerate((("Drums", "drums"), ("Bass", "bass"), ("Keys", "harmony"))):
        t = s.add_track(Track(name, role), record=False)
        t.add_take(Take(np.full((n, 2), 0.1 * (i + 1), dtype=np.float32)))
    return s


def test_mix_is_sum_of_stems(session: Session) -> None:
    mix = render_mix(session)
    assert mix.dtype == np.float32 and mix.shape == (session.num_samples, 2)
    assert mix[0, 0] == pytest.approx(0.6)


def test_mute_and_solo_change_what_is_heard(session: Session) -> None:
    session.track("bass").muted = True
    assert render_mix(session)[0, 0] == pytest.approx(0.4)
    session.track("keys").solo = True
    assert render_mix(session)[0, 0] == pytest.approx(0.3)
    session.track("bass").solo = True  # soloed but muted stays silent
    assert render_mix(session)[0, 0] == pytest.approx(0.3)
    assert [t.name for t, _ in render_stems(session)] == ["Keys"]


def test_gain_in_db(session: Session) -> None:
    session.track("drums").gain_db = -6.0
    stems = dict((t.name, a) for t, a in render_stems(session))
    assert stems["Drums"][0, 0] == pytest.approx(0.1 * 10 ** (-6 / 20), rel=1e-5)


def test_equal_power_pan() -> None:
    left, right = pan_gains(-1.0)
    assert left == pytest.approx(np.sqrt(2)) and right == pytest.approx(0.0, abs=1e-7)
    left, right = pan_gains(0.5)
    assert left**2 + right**2 == pytest.approx(2.0)
    assert right > left


def test_short_take_is_padded_and_long_take_cropped(session: Session) -> None:
    n = session.num_samples
    session.track("drums").add_take(Take(np.ones((n // 2, 2), dtype=np.float32)))
    session.track("bass").add_take(Take(np.ones((n * 2, 2), dtype=np.float32)))
    stems = dict((t.name, a) for t, a in render_stems(session))
    assert all(a.shape == (n, 2) for a in stems.values())
    assert stems["Drums"][-1, 0] == 0.0 and stems["Drums"][0, 0] == 1.0


def test_empty_track_is_silent_and_not_a_stem() -> None:
    s = Session(CTX)
    s.add_track(Track("Melody", "melody"), record=False)
    assert render_stems(s) == []
    assert not render_mix(s).any()
