"""Regenerating a section: the rest of the take kept sample for sample, seams without clicks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soxr

from engine.backends import get_backend
from engine.context import MusicalContext
from resonant_studio.core.errors import AppError
from resonant_studio.generation.plan import apply_plan, generate, plan_generation, run_plan
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


# --- MusicGen: the section continues from the take's own audio before it -------------------------------

TINY = Path(__file__).parent / "fixtures" / "musicgen-tiny"


@pytest.fixture(scope="module")
def musicgen(tmp_path_factory):
    return get_backend("musicgen", model_dir=str(TINY), cache_dir=tmp_path_factory.mktemp("cache"))


def _musicgen_take(session, tracks, backend, seed, section=None):
    plan = plan_generation(session, tracks, seed=seed, engine="musicgen", engine_options={}, section=section)
    return plan, apply_plan(session, plan, run_plan(plan, backend))[1]


def test_a_musicgen_section_continues_the_takes_own_audio_and_keeps_the_rest(musicgen, monkeypatch) -> None:
    session = new_session("lofi hip hop", context=MusicalContext(tempo=120.0, bars=6))
    tracks = [session.track("bass"), session.track("melody")]
    _, old = _musicgen_take(session, tracks, musicgen, seed=5)
    pipe = musicgen.pipeline
    received, returned = [], []
    start_job, generate_parts = pipe.start, musicgen.generate
    monkeypatch.setattr(pipe, "start", lambda *a, **k: received.append((a, k)) or start_job(*a, **k))
    monkeypatch.setattr(musicgen, "generate", lambda *a, **k: returned.extend(generate_parts(*a, **k)) or returned)
    plan, new = _musicgen_take(session, tracks, musicgen, seed=9, section=Section(3, 4))
    assert plan.section_continues and plan.request.context.bars == 2  # only the section's bars are asked for

    sr, start, end = session.sample_rate, 4 * 44100, 8 * 44100  # bars 3-4 at 120 bpm: 4 s to 8 s
    (args, kwargs), = received
    prompts = kwargs["audio_prompt"]
    assert args[2] == pipe.frames_for_seconds(4.1)  # the section's 4 s, not the piece's 12 s
    assert isinstance(prompts, list) and len(prompts) == 2  # each part hears its own take
    for take, prompt in zip(old, prompts):
        # the take up to bar 3, at the model's rate and channels: its last 4 s (all of it here)
        before = soxr.resample(take.audio[:start].mean(axis=1), sr, pipe.sample_rate, quality="HQ")
        assert prompt.shape == (len(before), 1) and len(before) % 640 == 0  # whole codec frames: on the beat
        np.testing.assert_allclose(prompt[:, 0], before, atol=1e-5)
    assert not np.allclose(prompts[0], prompts[1])

    fade = round(0.010 * sr)
    for take, before, part in zip(new, old, returned):
        np.testing.assert_array_equal(take.audio[:start], before.audio[:start])  # bit-identical outside
        np.testing.assert_array_equal(take.audio[end:], before.audio[end:])
        # the new bars are the continuation itself, starting on bar 3 (not bars 3-4 of a new piece)
        np.testing.assert_array_equal(take.audio[start + fade:end - fade], part.audio[fade:end - start - fade])
        assert take.params["continued_from"] == "selection" and take.params["prompt_seconds"] == pytest.approx(4.0)
        assert take.params[SECTION_KEY]["replaces"] == before.id
        assert np.abs(part.audio).max() > 0
        for seam in (start, end):
            assert _seam_jump(take.audio, seam) < 4.0, "a click at the seam"
    session.history.undo()
    assert [t.active_take for t in tracks] == list(old)


def test_a_section_that_opens_the_piece_has_nothing_to_continue(musicgen) -> None:
    session = new_session("lofi hip hop", context=MusicalContext(tempo=120.0, bars=4))
    bass = session.track("bass")
    _, (old,) = _musicgen_take(session, [bass], musicgen, seed=2)
    plan, (take,) = _musicgen_take(session, [bass], musicgen, seed=3, section=Section(1, 2))
    assert "continue_from" not in plan.request.params and take.params["continued_from"] is None
    np.testing.assert_array_equal(take.audio[4 * 44100:], old.audio[4 * 44100:])
    assert not np.array_equal(take.audio[:4 * 44100], old.audio[:4 * 44100])


def test_the_composer_still_takes_the_section_from_a_whole_new_part() -> None:
    session = _session()
    plan = plan_generation(session, [session.track("bass")], seed=1, section=Section(3, 4))
    assert not plan.section_continues and "continue_from" not in plan.request.params
    assert plan.request.context.bars == session.bars


def test_the_continuation_request_holds_the_section_only() -> None:
    from engine.backends import LockedPart
    from engine.theory import Chord
    from resonant_studio.generation.section import SectionEdit, continuation_request
    from resonant_studio.generation.studio import build_request

    chords = tuple(Chord(r, "min") for r in (9, 5, 0, 7))
    session = new_session("lofi", context=MusicalContext(tempo=120.0, bars=8, chords=chords))
    request = build_request(session, [session.track("bass")], 1)
    short = LockedPart("Drums", "drums", np.ones((3 * 44100, 2), np.float32))  # a locked take shorter than the piece
    request = type(request)(**{**request.__dict__, "locked": (short,)})
    take = np.linspace(-0.5, 0.5, session.num_samples * 2, dtype=np.float32).reshape(-1, 2)
    start, end = 4 * 44100, 8 * 44100
    edit = SectionEdit("bass", "old", take, None, start, end, 8.0, 16.0)
    out = continuation_request(request, Section(3, 4), (edit,))
    assert out.context.bars == 2 and [c.root for c in out.context.chords] == [0, 7, 9, 5]  # bar 3 opens it
    (locked,) = out.locked
    assert locked.audio.shape == (end - start, 2) and not locked.audio.any()  # cut to the section: silence there
    (given,) = out.params["continue_from"]
    np.testing.assert_array_equal(given.audio, take[:start])  # the take up to bar 3 (its last 4 s: all of it)
    assert given.seconds == pytest.approx(4.0) and given.sample_rate == 44100
