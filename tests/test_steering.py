"""'Use as reference': the session context follows the reference's tempo, key and energy."""

from __future__ import annotations

import numpy as np
import pytest

from engine.analysis import ReferenceAnalysis, analyze_audio
from engine.context import MusicalContext
from engine.theory import Chord
from resonant_studio.generation import studio
from resonant_studio.core.errors import AppError
from resonant_studio.core.steering import apply_reference, fit_tempo, steer
from synth_music import render

SR = 22050


@pytest.fixture(scope="module")
def reference():
    return analyze_audio(render(96, 2, "minor", seconds=10, sr=SR, timbre="organ"), SR, path="/refs/ballad.wav")


def test_steer_changes_tempo_key_energy_tags_and_prompt(reference) -> None:
    ctx = MusicalContext(tempo=140, tonic=0, mode="major", chords=(Chord(0, "maj"), Chord(7, "maj"), Chord(9, "min"), Chord(5, "maj")))
    s = steer(ctx.to_dict(), "synthwave for night driving", reference, tags=("Ballad",))
    new = MusicalContext.from_dict(s.context)  # still a valid context
    assert new.tempo == pytest.approx(96, rel=0.02)
    assert (new.tonic, new.mode) == (2, "minor")
    assert new.energy == pytest.approx(reference.energy, abs=1e-3)
    # I V vi IV in C major -> i v VI iv in D minor: same degrees, the new key's chords.
    assert [c.name for c in new.chords] == ["Dm", "Am", "A#", "Gm"]
    assert "ballad" in new.tags and "minor" in new.tags
    assert s.prompt.startswith("synthwave for night driving, ") and "ballad" in s.prompt
    assert any(c.startswith("tempo 140 -> ") for c in s.changes) and any("key C major -> D minor" in c for c in s.changes)
    assert isinstance(s.reference, ReferenceAnalysis) and s.reference.path == "/refs/ballad.wav"


def test_same_mode_transposes_chords_and_words_are_not_repeated(reference) -> None:
    ctx = MusicalContext(tonic=9, mode="minor", chords=(Chord(9, "min7"), Chord(4, "dom7"))).to_dict()
    s = steer(ctx, "dark and slow", reference, tags=("dark",))
    assert [Chord.from_dict(c).name for c in s.context["chords"]] == ["Dm7", "A7"]
    assert s.prompt.count("dark") == 1


def test_the_prompt_names_the_reference_tempo_and_key_instead_of_its_own(reference) -> None:
    """Reading the steered prompt again (a fresh Generate does) gives the reference's tempo and key."""
    from engine.prompt import analyze_prompt

    s = steer(MusicalContext().to_dict(), "upbeat house in C major at 124 bpm, warm bass", reference)
    assert "124" not in s.prompt and "C major" not in s.prompt and "warm bass" in s.prompt
    again = analyze_prompt(s.prompt)
    assert again.tempo == pytest.approx(round(reference.tempo)) and again.key_name == "D minor"


def test_fit_tempo_folds_into_the_context_range() -> None:
    assert fit_tempo(400.0) == 200.0 and fit_tempo(20.0) == 40.0 and fit_tempo(123.456) == 123.46


def test_apply_reference_is_one_undo_step_and_reaches_the_request(reference) -> None:
    session = studio.new_session("upbeat house in C major at 124 bpm", bars=4)
    before = session.context
    steering = apply_reference(session, reference, continue_audio=True)
    assert session.tempo == pytest.approx(reference.tempo, rel=1e-3) and session.key_name == "D minor"
    request = studio.build_request(session, list(session.tracks), seed=1, reference=steering.reference)
    assert request.context.tonic == 2 and request.context.tempo == pytest.approx(reference.tempo, rel=1e-3)
    assert request.reference.continue_audio and request.reference.chroma.shape[1] == 12
    audio = request.reference.chroma  # read-only steering data
    assert not audio.flags.writeable
    session.history.undo()
    assert session.context == before


def test_a_reference_without_tempo_or_key_is_refused() -> None:
    silent = analyze_audio(np.zeros((SR * 4, 2), dtype=np.float32), SR, path="/refs/silence.wav")
    session = studio.new_session("ambient", bars=2)
    with pytest.raises(AppError, match="neither a tempo nor a key"):
        apply_reference(session, silent)


def test_reference_loads_its_audio_for_an_audio_prompt(tmp_path) -> None:
    import soundfile as sf

    path = tmp_path / "ref.wav"
    sf.write(str(path), render(120, 0, "major", seconds=6, sr=44100), 44100)
    from engine.analysis import analyze_file

    ref = analyze_file(path).reference(continue_audio=True)
    audio = ref.load_audio(32000, max_seconds=2.0)
    assert audio.shape == (64000, 1) and audio.dtype == np.float32
    assert np.abs(audio).max() > 0.1


def test_locked_tracks_keep_their_tempo_and_key_unless_the_person_agrees(reference) -> None:
    from resonant_studio.core.imports import conform_locked
    from resonant_studio.core.steering import timing_offer
    from resonant_studio.generation.plan import generate

    session = studio.new_session("techno 128 bpm in A minor", context=MusicalContext(tempo=128.0, bars=4, tonic=9,
                                                                                        mode="minor"))
    generate(session, seed=2)
    drums = session.track("drums")
    drums.locked = True
    before = drums.active_take.audio.copy()
    apply_reference(session, reference)
    assert session.tempo == 128.0 and session.key_name == "A minor"  # kept: drums are locked
    np.testing.assert_array_equal(drums.active_take.audio, before)
    offer = timing_offer(session, reference)
    assert offer and "tempo 128 -> 96" in offer
    # the person agrees: the tempo and key follow, the locked audio is fitted (a new take)
    target = steer(session.context, session.prompt, reference)
    with session.history.group("Follow"):
        conform_locked(session, target.context["tempo"], reference.tonic)
        session.context = target.context
    assert session.tempo == pytest.approx(96, rel=0.02) and len(drums.takes) == 2 and drums.locked
    np.testing.assert_array_equal(drums.takes[0].audio, before)  # the original is still a take
    assert abs(drums.active_take.num_samples - session.num_samples) <= 2  # it still ends with the piece
    session.history.undo()
    assert session.tempo == 128.0 and drums.active_take.audio is drums.takes[0].audio


def test_a_reference_without_a_key_never_changes_the_key(reference) -> None:
    from dataclasses import replace

    drum_loop = replace(reference, tonic=None, mode=None)
    session = studio.new_session("house in C major", context=MusicalContext(tonic=0, mode="major"))
    apply_reference(session, drum_loop)
    assert session.key_name == "C major"
