"""Regenerating a section: the rest of the take kept sample for sample, seams without clicks."""

from __future__ import annotations

import numpy as np
import pytest

from engine.context import MusicalContext
from resonant_studio.core.errors import AppError
from resonant_studio.generation.plan import generate
from resonant_studio.generation.section import SECTION_KEY, Section, section_from_seconds, splice
from resonant_studio.generation.studio import new_session


def _session():
    session = new_session("dark techno 128 bpm in A minor", context=MusicalContext(tempo=128.0, bars=8))
    generate(session, seed=5)
    return session


def _seam_jump(audio: np.ndarray, at: int) -> float:
    """How far one sample step at ``at`` is from the typical steps around it (a click is an outlier)."""
    d = np.abs(np.diff(audio[at - 200: at + 200, 0].astype(np.float64)))
    return float(d[195:205].max() / (np.percentile(d, 95) + 1e-9))


def test_bars_3_to_4_of_the_bass_are_new_and_the_rest_is_bit_identical() -> None:
    session = _session()
    bass = session.track("bass")
    old = bass.active_take
    _, (take,) = generate(session, [bass], seed=99, section=Section(3, 4))
    assert len(bass.takes) == 2 and bass.active_take is take  # a new take; the old one is kept
    sr, per_bar = session.sample_rate, 4 * 60.0 / 128.0
    start, end = round(2 * per_bar * sr), round(4 * per_bar * sr)
    np.testing.assert_array_equal(take.audio[:start], old.audio[:start])
    np.testing.assert_array_equal(take.audio[end:], old.audio[end:])
    assert not np.array_equal(take.audio[start:end], old.audio[start:end])
    assert take.params[SECTION_KEY]["replaces"] == old.id
    assert take.params[SECTION_KEY]["seconds"] == pytest.approx([2 * per_bar, 4 * per_bar], abs=1 / sr)
    inside = [n for n in take.notes if 8 <= n[1] < 16]
    assert inside and all(n in old.notes or 8 <= n[1] < 16 for n in take.notes)
    assert [n for n in take.notes if n[1] < 8] == [n for n in old.notes if n[1] < 8 and n[1] + n[2] <= 8]
    for seam in (start, end):
        assert _seam_jump(take.audio, seam) < 4.0, "a click at the seam"
    session.history.undo()
    assert bass.active_take is old  # undoable


def test_splice_crossfades_without_a_step() -> None:
    sr = 44100
    old = np.full((sr, 2), 0.5, dtype=np.float32)
    new = np.full((sr, 2), -0.5, dtype=np.float32)
    out = splice(old, new, 10_000, 30_000, sr)
    assert np.max(np.abs(np.diff(out[:, 0]))) < 0.01  # a 1.0 jump without the fade
    np.testing.assert_array_equal(out[:10_000], old[:10_000])
    np.testing.assert_array_equal(out[30_000:], old[30_000:])


def test_a_selection_snaps_to_whole_bars_and_bad_ranges_are_a_sentence() -> None:
    assert section_from_seconds(3.9, 7.4, 1.875, 8) == Section(3, 4)
    with pytest.raises(AppError, match="not inside"):
        Section(7, 9).check(8)
    with pytest.raises(AppError, match="whole piece"):
        Section(1, 8).check(8)
