"""Project folders: round trips, stability, atomic saves, autosave, and every way a load can fail."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tracks import ProjectError, Session, Take, Track
from tracks.project import (
    autosave_path, has_newer_autosave, load_autosave, load_project, save_autosave, save_project,
)
from tracks.take_audio import FULL_SCALE, audio_scale, read_take_file, write_take_file

SR = 22050
CONTEXT = {
    "tempo": 120.0, "meter": [4, 4], "tonic": 9, "mode": "minor", "bars": 2,
    "chords": [{"root": 9, "quality": "min"}, {"root": 5, "quality": "maj"}],
    "genre": "lofi", "moods": ["calm"], "energy": 0.4, "instruments": {"bass": "synth bass"},
    "roles": ["drums", "bass", "melody"], "tags": [], "description": "test",
}


def _audio(seed: int, n: int, peak: float = 0.8) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-peak, peak, (n, 2)).astype(np.float32)


def make_session() -> Session:
    session = Session(CONTEXT, name="Night Drive", sample_rate=SR, prompt="calm lofi in A minor")
    n = session.num_samples
    drums = session.add_track(Track("Drums", "drums"))
    drums.add_take(Take(_audio(1, n), prompt="p1", seed=1, backend="composer", params={"swing": 0.1}))
    bass = session.add_track(Track("Bass", "bass", gain_db=-3.5, pan=-0.25))
    bass.add_take(Take(_audio(2, n), notes=[(45, 0.0, 1.0, 100), (48, 1.5, 0.5, 90)], seed=2, backend="composer"))
    bass.add_take(Take(_audio(3, n // 2), notes=[], seed=3, backend="composer", params={"density": [1, 2]}))
    bass.active_index = 0
    bass.locked = True
    lead = session.add_track(Track("Lead Synth", "melody", muted=True, solo=False))
    lead.add_take(Take(_audio(4, n, peak=1.7), backend="import"))  # hotter than full scale
    session.add_track(Track("Spare", "other", solo=True))  # no takes at all
    session.history.clear()
    return session


def snapshot(folder: Path) -> dict:
    """Every path under ``folder`` with its bytes and mtime, to prove nothing changed."""
    out = {}
    for p in sorted(folder.rglob("*")):
        out[str(p.relative_to(folder))] = (p.read_bytes(), p.stat().st_mtime_ns) if p.is_file() else "dir"
    return out


def assert_same_session(a: Session, b: Session, *, exact_audio: bool = False) -> None:
    assert (a.name, a.sample_rate, a.prompt, a.context) == (b.name, b.sample_rate, b.prompt, b.context)
    assert len(a.tracks) == len(b.tracks)
    for ta, tb in zip(a.tracks, b.tracks):
        fields = ("id", "name", "role", "locked", "muted", "solo", "gain_db", "pan", "active_index")
        assert {f: getattr(ta, f) for f in fields} == {f: getattr(tb, f) for f in fields}
        assert len(ta.takes) == len(tb.takes)
        for xa, xb in zip(ta.takes, tb.takes):
            assert xa.metadata() == xb.metadata()
            assert xa.audio.shape == xb.audio.shape and xb.audio.dtype == np.float32
            if exact_audio:
                assert np.array_equal(xa.audio, xb.audio)
            else:  # 24-bit quantisation: half a step of the take's scale
                step = audio_scale(xa.audio) / FULL_SCALE
                assert np.max(np.abs(xa.audio - xb.audio), initial=0.0) <= step / 2 + 1e-9


# --- round trips -------------------------------------------------------------------------------
def test_round_trip_restores_context_tracks_locks_takes_and_audio(tmp_path):
    session = make_session()
    folder = save_project(session, tmp_path / "Night Drive")
    assert folder == tmp_path / "Night Drive.resonant"
    assert sorted(p.name for p in (folder / "takes").iterdir()) == sorted(
        f"{t.id}.flac" for tr in session.tracks for t in tr.takes)
    loaded = load_project(folder)
    assert_same_session(session, loaded)
    assert loaded.track("Bass").locked and loaded.track("Bass").active_index == 0
    assert loaded.track("Spare").takes == () and loaded.track("Spare").active_index is None
    assert not loaded.history.can_undo and not loaded.history.can_redo
    doc = json.loads((folder / "session.json").read_text())
    assert doc["schema_version"] == 1 and doc["app_version"]


def test_a_project_folder_without_the_suffix_is_saved_back_in_place(tmp_path):
    session = make_session()
    save_project(session, tmp_path / "p")
    (tmp_path / "p.resonant").rename(tmp_path / "renamed")
    loaded = load_project(tmp_path / "renamed")
    loaded.track("Drums").muted = True
    assert save_project(loaded, tmp_path / "renamed") == tmp_path / "renamed"
    assert load_project(tmp_path / "renamed").track("Drums").muted
    assert sorted(p.name for p in tmp_path.iterdir()) == ["renamed"]


def test_loading_by_name_finds_the_suffixed_folder(tmp_path):
    session = make_session()
    save_project(session, tmp_path / "Song")
    assert_same_session(session, load_project(tmp_path / "Song"))


def test_take_files_are_24_bit_stereo_flac_at_the_session_rate(tmp_path):
    folder = save_project(make_session(), tmp_path / "p")
    for f in (folder / "takes").iterdir():
        info = sf.info(str(f))
        assert (info.format, info.subtype, info.channels, info.samplerate) == ("FLAC", "PCM_24", 2, SR)


def test_a_take_hotter_than_full_scale_is_kept_not_clipped(tmp_path):
    session = make_session()
    hot = session.track("Lead Synth").active_take
    loaded = load_project(save_project(session, tmp_path / "p")).track("Lead Synth").active_take
    assert np.max(np.abs(hot.audio)) > 1.6
    assert np.max(np.abs(loaded.audio - hot.audio)) <= 2.0 / FULL_SCALE
    doc = json.loads((tmp_path / "p.resonant" / "session.json").read_text())
    assert doc["tracks"][2]["takes"][0]["audio_scale"] == 2.0


def test_load_save_load_is_bit_stable(tmp_path):
    first = load_project(save_project(make_session(), tmp_path / "a"))
    second_folder = save_project(first, tmp_path / "b")
    second = load_project(second_folder)
    assert_same_session(first, second, exact_audio=True)
    a, b = tmp_path / "a.resonant", tmp_path / "b.resonant"
    assert (a / "session.json").read_bytes() == (b / "session.json").read_bytes()
    for f in (a / "takes").iterdir():
        data_a, _ = sf.read(str(f), dtype="int32")
        data_b, _ = sf.read(str(b / "takes" / f.name), dtype="int32")
        assert np.array_equal(data_a, data_b)


@pytest.mark.parametrize("peak", [0.3, 0.9999999, 1.0, 1.5, 2.0, 7.9])
def test_take_audio_quantisation_is_idempotent(tmp_path, peak):
    audio = np.random.default_rng(5).uniform(-peak, peak, (4000, 2)).astype(np.float32)
    audio[0] = [peak, -peak]
    scale = audio_scale(audio)
    write_take_file(tmp_path / "a.flac", audio, SR, scale)
    once = read_take_file(tmp_path / "a.flac", sample_rate=SR, num_samples=4000, scale=scale)
    assert np.max(np.abs(once - audio)) <= scale / FULL_SCALE / 2 + 1e-9
    assert audio_scale(once) == scale
    write_take_file(tmp_path / "b.flac", once, SR, audio_scale(once))
    twice = read_take_file(tmp_path / "b.flac", sample_rate=SR, num_samples=4000, scale=scale)
    assert np.array_equal(once, twice)


def test_empty_take_round_trips_without_a_file(tmp_path):
    session = Session(CONTEXT, sample_rate=SR)
    session.add_track(Track("Blank", "other")).add_take(Take(np.zeros((0, 2), np.float32)))
    folder = save_project(session, tmp_path / "p")
    assert list((folder / "takes").iterdir()) == []
    assert load_project(folder).track("Blank").active_take.num_samples == 0


def test_numpy_values_in_params_are_saved_as_plain_numbers(tmp_path):
    session = Session(CONTEXT, sample_rate=SR)
    params = {"temperature": np.float32(0.5), "steps": np.int64(12), "weights": np.array([1.0, 2.0])}
    session.add_track(Track("Keys", "harmony")).add_take(Take(_audio(9, 100), params=params))
    take = load_project(save_project(session, tmp_path / "p")).track("Keys").active_take
    assert take.params == {"temperature": 0.5, "steps": 12, "weights": [1.0, 2.0]}


# --- saving over a project ----------------------------------------------------------------------
def test_saving_again_keeps_referenced_takes_and_drops_unused_ones(tmp_path):
    session = make_session()
    folder = save_project(session, tmp_path / "p")
    lead_take = session.track("Lead Synth").active_take.id
    drums_first = session.track("Drums").active_take.id
    first_mtime = (folder / "takes" / f"{drums_first}.flac").stat().st_mtime_ns
    session.track("Drums").add_take(Take(_audio(11, session.num_samples)))
    session.remove_track(session.track("Lead Synth"))
    save_project(session, folder)
    names = {p.name for p in (folder / "takes").iterdir()}
    assert f"{drums_first}.flac" in names and f"{session.track('Drums').active_take.id}.flac" in names
    assert f"{lead_take}.flac" not in names
    assert (folder / "takes" / f"{drums_first}.flac").stat().st_mtime_ns == first_mtime  # never rewritten
    assert_same_session(session, load_project(folder))


def test_saving_into_a_folder_that_is_not_a_project_is_refused(tmp_path):
    folder = tmp_path / "Thesis.resonant"
    folder.mkdir()
    (folder / "chapter1.txt").write_text("precious")
    before = snapshot(folder)
    with pytest.raises(ProjectError, match="is not a Resonant Studio project"):
        save_project(make_session(), folder)
    assert snapshot(folder) == before


def test_saving_over_a_file_is_refused(tmp_path):
    (tmp_path / "x.resonant").write_text("a file")
    with pytest.raises(ProjectError, match="a file with that name is in the way"):
        save_project(make_session(), tmp_path / "x.resonant")
    assert (tmp_path / "x.resonant").read_text() == "a file"


def test_saving_where_no_folder_can_be_made_is_one_sentence_and_leaves_nothing(tmp_path):
    (tmp_path / "plain-file").write_text("x")
    before = snapshot(tmp_path)
    with pytest.raises(ProjectError) as err:
        save_project(make_session(), tmp_path / "plain-file" / "song")
    assert str(err.value).startswith(f"cannot save to {tmp_path / 'plain-file' / 'song.resonant'}: ")
    assert "\n" not in str(err.value)
    assert snapshot(tmp_path) == before


def test_permission_denied_during_save_removes_what_it_made(tmp_path, monkeypatch):
    import tracks.atomic

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tracks.atomic.tempfile, "mkstemp", denied)
    with pytest.raises(ProjectError, match=r"cannot save to .*new\.resonant: permission denied$"):
        save_project(make_session(), tmp_path / "new")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores folder permissions")
def test_read_only_parent_folder(tmp_path):
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(ProjectError, match="permission denied"):
            save_project(make_session(), tmp_path / "p")
    finally:
        tmp_path.chmod(0o700)


@pytest.mark.parametrize("fail_on", ["session.json", ".flac"])
def test_a_crash_during_save_keeps_the_previous_project(tmp_path, monkeypatch, fail_on):
    session = make_session()
    folder = save_project(session, tmp_path / "p")
    before = snapshot(folder)
    session.track("Drums").add_take(Take(_audio(12, session.num_samples)))
    session.track("Drums").muted = True
    real_replace = os.replace

    def crash(src, dst):
        if str(dst).endswith(fail_on):
            raise OSError(5, "Input/output error")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(ProjectError, match="input/output error"):
        save_project(session, folder)
    monkeypatch.undo()
    assert snapshot(folder) == before  # no new take file, no temp file
    previous = load_project(folder)
    assert len(previous.track("Drums").takes) == 1 and not previous.track("Drums").muted


def test_a_failed_flac_write_is_a_project_error_and_leaves_nothing(tmp_path, monkeypatch):
    import tracks.take_audio

    def broken(*args, **kwargs):
        raise sf.LibsndfileError(0, "Error writing: ")

    monkeypatch.setattr(tracks.take_audio, "write_audio", broken)
    with pytest.raises(ProjectError, match=r"^cannot save to .*p\.resonant: "):
        save_project(make_session(), tmp_path / "p")
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_says_so_and_keeps_the_previous_project(tmp_path, monkeypatch):
    import tracks.audio_write

    session = make_session()
    folder = save_project(session, tmp_path / "p")
    before = snapshot(folder)
    session.track("Drums").add_take(Take(_audio(21, session.num_samples)))

    def full(f, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(tracks.audio_write, "write_chunk", full)
    with pytest.raises(ProjectError, match=r"^cannot save to .*p\.resonant: no space left on device$"):
        save_project(session, folder)
    assert snapshot(folder) == before


def _dead_pid() -> int:
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_leftovers_of_a_dead_save_are_swept_and_nothing_else(tmp_path):
    from tracks.atomic import HOST_TAG

    session = make_session()
    folder = save_project(session, tmp_path / "p")
    dead, alive = _dead_pid(), os.getppid()
    stale = [folder / f".session.json.{HOST_TAG}-{dead}.abc123.tmp",
             folder / "takes" / f".deadbeef0000.flac.{HOST_TAG}-{dead}.x1.tmp"]
    kept = [folder / f".session.json.{HOST_TAG}-{alive}.abc123.tmp",  # another process is writing it
            folder / f".session.json.00000000-{dead}.abc123.tmp",  # another host's
            folder / ".session.json.abc123.tmp",  # no writer named: not provably ours
            folder / "takes" / "0123456789ab.flac",  # no session.json ever listed it
            folder / "takes" / "holiday-recording.flac",
            folder / "notes.txt"]
    for f in stale + kept:
        f.write_bytes(b"x")
    # a save killed before its commit: its journal names the take file it had written
    (folder / "takes" / "abcdef012345.flac").write_bytes(b"x")
    (folder / "takes" / f".new-takes.{HOST_TAG}-{dead}.0a1b2c3d.json").write_text('["abcdef012345"]')
    stale += [folder / "takes" / "abcdef012345.flac", folder / "takes" / f".new-takes.{HOST_TAG}-{dead}.0a1b2c3d.json"]
    (folder / "takes" / f".new-takes.{HOST_TAG}-{alive}.0a1b2c3d.json").write_text('["0123456789ab"]')
    kept.append(folder / "takes" / f".new-takes.{HOST_TAG}-{alive}.0a1b2c3d.json")  # still saving
    assert_same_session(session, load_project(folder))
    save_project(session, folder)
    assert [f for f in stale if f.exists()] == []
    assert [f for f in kept if not f.exists()] == []


def test_a_context_value_json_cannot_hold_is_refused_before_writing(tmp_path):
    session = Session({**CONTEXT, "extra": object()}, sample_rate=SR)
    with pytest.raises(ProjectError, match="cannot save this session: a value of type object cannot be stored"):
        save_project(session, tmp_path / "p")
    assert not (tmp_path / "p.resonant").exists()


# --- loading failures ---------------------------------------------------------------------------
def _edit(key_path, value):
    def apply(doc):
        target = doc
        for k in key_path[:-1]:
            target = target[k]
        if value is _DELETE:
            del target[key_path[-1]]
        else:
            target[key_path[-1]] = value
    return apply


_DELETE = object()

MALFORMED = [
    ("top_level_list", lambda d: d.clear() or None, "top level should be an object"),
    ("missing_tracks", _edit(["tracks"], _DELETE), "tracks is missing"),
    ("missing_name", _edit(["name"], _DELETE), "name is missing"),
    ("tracks_not_list", _edit(["tracks"], {"a": 1}), "tracks should be a list"),
    ("gain_text", _edit(["tracks", 0, "gain_db"], "loud"), "tracks[0].gain_db should be a number"),
    ("gain_out_of_range", _edit(["tracks", 0, "gain_db"], 90), "tracks[0].gain_db should be between"),
    ("locked_text", _edit(["tracks", 1, "locked"], "yes"), "tracks[1].locked should be true or false"),
    ("unknown_role", _edit(["tracks", 0, "role"], "kazoo"), "tracks[0].role should be one of"),
    ("active_out_of_range", _edit(["tracks", 1, "active_take"], 5), "tracks[1].active_take 5 is not one of its 2 takes"),
    ("path_in_take_id", _edit(["tracks", 0, "takes", 0, "id"], "../../etc/passwd"), "is not a valid take id"),
    ("wrong_file", _edit(["tracks", 0, "takes", 0, "file"], "takes/other.flac"), "tracks[0].takes[0].file should be"),
    ("bad_note", _edit(["tracks", 1, "takes", 0, "notes"], [[300, 0, 1, 100]]), "tracks[1].takes[0].notes[0]"),
    ("bad_scale", _edit(["tracks", 0, "takes", 0, "audio_scale"], 3), "audio_scale should be a power of two"),
    ("sample_rate", _edit(["sample_rate"], 12345), "sample_rate 12345 is not supported"),
    ("tempo_text", _edit(["context", "tempo"], "fast"), "context.tempo should be a tempo between 30 and 300 bpm"),
    ("tempo_above_engine", _edit(["context", "tempo"], 400), "context.tempo should be a tempo between 30 and 300 bpm"),
    ("tempo_below_engine", _edit(["context", "tempo"], 20), "context.tempo should be a tempo between 30 and 300 bpm"),
    ("bars_above_engine", _edit(["context", "bars"], 513), "context.bars should be a whole number of bars from 1 to 512"),
    ("bars_huge", _edit(["context", "bars"], 10 ** 15), "context.bars should be"),
    ("mode_klingon", _edit(["context", "mode"], "klingon"), "context.mode should be one of major, minor"),
    ("chord_quality", _edit(["context", "chords"], [{"root": 0, "quality": "klingon"}]), "context.chords should be"),
    ("chord_root", _edit(["context", "chords"], [{"root": 40, "quality": "maj"}]), "context.chords should be"),
    ("energy_range", _edit(["context", "energy"], 7), "context.energy should be a number from 0 to 1"),
    ("instrument_role", _edit(["context", "instruments"], {"kazoo": "x"}), "context.instruments should be"),
    ("roles_unknown", _edit(["context", "roles"], ["drums", "klingon"]), "context.roles should be"),
    ("meter_denominator", _edit(["context", "meter"], [4, 32]), "context.meter should be"),
    ("duration_longer_than_bars", _edit(["context", "duration_seconds"], 3600), "context.duration_seconds 3600 is longer"),
    ("track_id_path", _edit(["tracks", 0, "id"], "../../etc"), "tracks[0].id '../../etc' is not a valid track id"),
    ("num_samples_huge", _edit(["tracks", 0, "takes", 0, "num_samples"], 10 ** 13), "tracks[0].takes[0].num_samples should be from 0 to"),
    ("name_control_chars", _edit(["tracks", 0, "name"], "a\x1b[2Jb"), "tracks[0].name holds control characters"),
    ("seed_negative", _edit(["tracks", 0, "takes", 0, "seed"], -1), "tracks[0].takes[0].seed should be"),
    ("meter_shape", _edit(["context", "meter"], [4]), "context.meter should be"),
    ("duration_text", _edit(["context", "duration_seconds"], "1s"), "context.duration_seconds should be"),
    ("schema_text", _edit(["schema_version"], "1"), "schema_version should be a whole number"),
    ("duplicate_track_id", lambda d: d["tracks"][1].update(id=d["tracks"][0]["id"]), "is used by two tracks"),
]


def _assert_refused(folder: Path, phrase: str, *, loader=load_project) -> str:
    before = snapshot(folder)
    with pytest.raises(ProjectError) as err:
        loader(folder)
    message = str(err.value)
    assert phrase in message
    assert "\n" not in message and message.count(". ") == 0
    assert snapshot(folder) == before
    return message


@pytest.mark.parametrize("name,edit,phrase", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_session_json_is_refused_naming_the_file(tmp_path, name, edit, phrase):
    folder = save_project(make_session(), tmp_path / "p")
    doc = json.loads((folder / "session.json").read_text())
    if name == "top_level_list":
        doc = [1, 2]
    else:
        edit(doc)
    (folder / "session.json").write_text(json.dumps(doc))
    message = _assert_refused(folder, phrase)
    assert str(folder / "session.json") in message


def test_bad_json_names_the_file_and_the_line(tmp_path):
    folder = save_project(make_session(), tmp_path / "p")
    text = (folder / "session.json").read_text()
    (folder / "session.json").write_text(text[: len(text) // 2])
    message = _assert_refused(folder, "is not valid JSON")
    assert str(folder / "session.json") in message and "line" in message


def test_binary_session_json_is_refused(tmp_path):
    folder = save_project(make_session(), tmp_path / "p")
    (folder / "session.json").write_bytes(b"\xff\xfe\x00garbage")
    _assert_refused(folder, "is not UTF-8 text")


def test_newer_schema_asks_for_an_update(tmp_path):
    folder = save_project(make_session(), tmp_path / "p")
    doc = json.loads((folder / "session.json").read_text())
    doc["schema_version"] = 7
    (folder / "session.json").write_text(json.dumps(doc))
    message = _assert_refused(folder, "was saved by a newer Resonant Studio (schema 7; this version reads up to 1): update the app")
    assert message.startswith(str(folder / "session.json"))


def test_missing_folder_and_missing_session_json(tmp_path):
    with pytest.raises(ProjectError, match="there is no such folder"):
        load_project(tmp_path / "nowhere.resonant")
    (tmp_path / "empty.resonant").mkdir()
    _assert_refused(tmp_path / "empty.resonant", "has no session.json")


def test_missing_take_file_is_named(tmp_path):
    session = make_session()
    folder = save_project(session, tmp_path / "p")
    victim = folder / "takes" / f"{session.track('Bass').takes[1].id}.flac"
    victim.unlink()
    message = _assert_refused(folder, "is missing")
    assert str(victim) in message


@pytest.mark.parametrize("damage,phrase", [
    ("garbage", "is not readable audio"),
    ("short", "holds 100 samples where"),
    ("rate", "Hz but the project is at 22050 Hz"),
    ("mono", "has 1 channels, not 2"),
])
def test_damaged_take_file_is_named(tmp_path, damage, phrase):
    session = make_session()
    folder = save_project(session, tmp_path / "p")
    victim = folder / "takes" / f"{session.track('Drums').active_take.id}.flac"
    if damage == "garbage":
        victim.write_bytes(b"not audio at all" * 10)
    elif damage == "short":
        sf.write(str(victim), np.zeros((100, 2), np.int32), SR, format="FLAC", subtype="PCM_24")
    elif damage == "rate":
        sf.write(str(victim), np.zeros((100, 2), np.int32), 44100, format="FLAC", subtype="PCM_24")
    else:
        sf.write(str(victim), np.zeros(100, np.int32), SR, format="FLAC", subtype="PCM_24")
    message = _assert_refused(folder, phrase)
    assert str(victim) in message and "is damaged" in message


# --- autosave -----------------------------------------------------------------------------------
def test_autosave_beside_a_saved_project(tmp_path):
    session = make_session()
    folder = save_project(session, tmp_path / "p")
    assert not has_newer_autosave(folder)
    session.track("Drums").muted = True
    session.track("Drums").add_take(Take(_audio(13, session.num_samples)))
    written = save_autosave(session, folder)
    assert written == autosave_path(folder) == folder / "autosave.json"
    assert has_newer_autosave(folder)
    assert load_autosave(folder).track("Drums").muted
    assert not load_project(folder).track("Drums").muted  # the last save is untouched
    assert_same_session(session, load_autosave(folder))
    save_project(session, folder)
    assert not written.exists() and not has_newer_autosave(folder)
    assert_same_session(session, load_project(folder))


def test_an_autosave_older_than_the_last_save_is_not_offered(tmp_path):
    session = make_session()
    folder = save_project(session, tmp_path / "p")
    save_autosave(session, folder)
    saved = (folder / "session.json").stat().st_mtime_ns
    os.utime(folder / "autosave.json", ns=(saved - 10**9, saved - 10**9))
    assert not has_newer_autosave(folder)
    os.utime(folder / "autosave.json", ns=(saved, saved))  # same tick: still the newer one
    assert has_newer_autosave(folder)


def test_autosave_of_a_never_saved_session(tmp_path):
    session = make_session()
    save_autosave(session, tmp_path / "Untitled")
    folder = tmp_path / "Untitled.resonant"
    assert has_newer_autosave(folder) and has_newer_autosave(tmp_path / "Untitled")
    _assert_refused(folder, "has no session.json")
    assert_same_session(session, load_autosave(folder))
    assert not has_newer_autosave(tmp_path / "elsewhere")


def test_malformed_autosave_is_refused_and_left_alone(tmp_path):
    folder = save_project(make_session(), tmp_path / "p")
    (folder / "autosave.json").write_text("{")
    message = _assert_refused(folder, "is not valid JSON", loader=load_autosave)
    assert "autosave.json" in message


@pytest.mark.skipif(not hasattr(os, "umask"), reason="POSIX permissions")
@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_project_files_get_the_users_umask_permissions_not_0600(tmp_path, umask):
    old = os.umask(umask)
    try:
        folder = save_project(make_session(), tmp_path / "p")
        save_autosave(make_session(), folder)
    finally:
        os.umask(old)
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert len(files) >= 5
    assert {oct(p.stat().st_mode & 0o777) for p in files} == {oct(0o666 & ~umask)}


def test_a_session_that_would_not_open_again_is_not_saved(tmp_path):
    session = Session({**CONTEXT, "mode": "klingon"}, sample_rate=SR)
    with pytest.raises(ProjectError, match=r"^cannot save this session: context\.mode should be one of"):
        save_project(session, tmp_path / "p")
    assert not (tmp_path / "p.resonant").exists()


@pytest.mark.parametrize("bad,phrase", [
    ("a\0b", "a path cannot hold a NUL character"), ("", "no path was given"),
    ("x" * 5000, "file name too long"), ("/", "name a project folder inside it"),
])
def test_unusable_paths_are_one_sentence(tmp_path, bad, phrase):
    target = bad if bad in ("", "/") or bad.startswith("a") else str(tmp_path / bad)
    for call in (lambda: load_project(target), lambda: load_autosave(target),
                 lambda: save_project(make_session(), target), lambda: save_autosave(make_session(), target)):
        with pytest.raises(ProjectError, match=phrase) as err:
            call()
        assert "\n" not in str(err.value)
    assert not has_newer_autosave(target)
    assert list(tmp_path.iterdir()) == []
