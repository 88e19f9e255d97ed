"""The document: tracks, takes, lock, events, undo/redo."""

from __future__ import annotations

import numpy as np
import pytest

from tracks import LockedTrackError, Session, Take, Track, TracksError

CTX = {"tempo": 120.0, "meter": [4, 4], "tonic": 9, "mode": "minor", "bars": 2}


def take(value: float, n: int = 100) -> Take:
    return Take(np.full((n, 2), value, dtype=np.float32), seed=int(value * 100))


@pytest.fixture
def session() -> Session:
    s = Session(CTX, name="t")
    s.add_track(Track("Drums", "drums"), record=False)
    s.add_track(Track("Bass", "bass"), record=False)
    return s


def test_session_timing_comes_from_context(session: Session) -> None:
    assert session.duration == pytest.approx(4.0)  # 2 bars of 4 beats at 120 bpm
    assert session.num_samples == 4 * 44100
    assert session.key_name == "A minor"


def test_take_audio_is_read_only_and_stereo() -> None:
    t = Take(np.zeros(10))
    assert t.audio.shape == (10, 2) and t.audio.dtype == np.float32
    with pytest.raises(ValueError):
        t.audio[0, 0] = 1.0
    with pytest.raises(ValueError, match="stereo"):
        Take(np.zeros((10, 3)))


def test_regenerate_appends_and_never_overwrites(session: Session) -> None:
    bass = session.track("bass")
    first, second = take(0.1), take(0.2)
    bass.add_take(first)
    bass.add_take(second)
    assert bass.takes == (first, second)
    assert bass.active_take is second


def test_locked_track_refuses_new_takes_and_take_changes(session: Session) -> None:
    drums = session.track("Drums")
    drums.add_take(take(0.1))
    drums.add_take(take(0.2))
    drums.locked = True
    with pytest.raises(LockedTrackError, match="locked"):
        drums.add_take(take(0.3))
    with pytest.raises(LockedTrackError):
        drums.active_index = 0
    with pytest.raises(LockedTrackError):
        session.add_takes([(session.track("bass"), take(0.4)), (drums, take(0.5))])
    assert len(drums.takes) == 2 and drums.active_index == 1
    assert session.track("bass").takes == ()  # refused whole: nothing half-applied


def test_setters_emit_only_on_change(session: Session) -> None:
    bass = session.track("bass")
    seen = []
    bass.changed.connect(lambda f, old, new: seen.append((f, old, new)))
    bass.muted = True
    bass.muted = True
    bass.gain_db = -3
    assert seen == [("muted", False, True), ("gain_db", 0.0, -3.0)]


@pytest.mark.parametrize("field,value", [("gain_db", 99), ("gain_db", float("nan")), ("pan", 2), ("pan", -1.5)])
def test_setters_validate(session: Session, field: str, value: float) -> None:
    bass = session.track("bass")
    with pytest.raises(ValueError):
        setattr(bass, field, value)
    assert getattr(bass, field) == 0.0


def test_undo_redo_walks_takes_lock_mute_and_gain(session: Session) -> None:
    bass = session.track("bass")
    session.add_takes([(bass, take(0.1))])
    session.add_takes([(bass, take(0.2))], label="Regenerate Bass")
    bass.muted = True
    bass.gain_db = -6.0
    assert session.history.undo_label == "Change gain Bass"
    session.history.undo()
    assert bass.gain_db == 0.0
    session.history.undo()
    assert not bass.muted
    session.history.undo()
    assert bass.active_index == 0 and len(bass.takes) == 2  # the take stays in the history
    session.history.redo()
    assert bass.active_index == 1
    assert session.history.can_redo


def test_generate_is_one_undo_step(session: Session) -> None:
    drums, bass = session.track("drums"), session.track("bass")
    session.add_takes([(drums, take(0.1)), (bass, take(0.2))], label="Generate")
    session.history.undo()
    assert drums.active_take is None and bass.active_take is None
    session.history.redo()
    assert drums.active_take is not None and bass.active_take is not None


def test_undo_unlocks_before_it_touches_a_locked_tracks_takes(session: Session) -> None:
    drums = session.track("drums")
    drums.add_take(take(0.1))
    drums.add_take(take(0.2))
    drums.locked = True
    assert session.history.undo_label == "Lock Drums"
    session.history.undo()
    assert not drums.locked and drums.active_index == 1
    session.history.undo()
    assert drums.active_index == 0


def test_replay_that_fails_leaves_the_stacks_as_they_were(session: Session) -> None:
    drums = session.track("drums")
    drums.add_take(take(0.1))
    drums.add_take(take(0.2))
    drums._locked = True  # locked behind the history's back (as a loaded project can be)
    with pytest.raises(LockedTrackError):
        session.history.undo()
    assert session.history.undo_label == "Change take Drums" and not session.history.can_redo
    assert drums.active_index == 1


def test_new_change_clears_redo(session: Session) -> None:
    bass = session.track("bass")
    bass.muted = True
    session.history.undo()
    assert session.history.can_redo
    bass.solo = True
    assert not session.history.can_redo


def test_track_lookup_by_name_role_and_clear_error(session: Session) -> None:
    assert session.track("BASS").role == "bass"
    with pytest.raises(TracksError, match="no track named 'vocals'.*Drums, Bass"):
        session.track("vocals")


def test_remove_and_add_track_are_undoable(session: Session) -> None:
    bass = session.track("bass")
    session.remove_track(bass)
    assert bass not in session.tracks
    session.history.undo()
    assert session.tracks[1] is bass
    bass.muted = True  # still wired to history after re-insertion
    assert session.history.undo_label == "Mute Bass"


def test_locked_track_cannot_be_removed(session: Session) -> None:
    drums = session.track("drums")
    drums.locked = True
    with pytest.raises(LockedTrackError):
        session.remove_track(drums)
    assert drums in session.tracks
