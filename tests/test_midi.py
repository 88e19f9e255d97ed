"""MIDI export: a type-1 file whose parts, tempo, meter, key and notes read back as written."""

from __future__ import annotations

import os

import mido
import numpy as np
import pytest

from tracks import ExportError, Session, Take, Track
from tracks.midi import DRUM_CHANNEL, TICKS_PER_BEAT, export_midi, key_signature, program_for, read_midi, read_midi_parts

CONTEXT = {"tempo": 96.0, "meter": [3, 4], "bars": 4, "tonic": 6, "mode": "minor",
           "instruments": {"bass": "warm synth bass", "melody": "breathy flute"}}
SILENT = np.zeros((10, 2), np.float32)

DRUM_NOTES = [(36, 0.0, 0.25, 110), (38, 1.0, 0.25, 90), (42, 0.5, 0.125, 70), (36, 3.0, 0.25, 112)]
BASS_NOTES = [(30, 0.0, 1.5, 100), (33, 1.5, 1.5, 96), (30, 3.0, 2.75, 100)]
LEAD_NOTES = [(66, 0.0, 0.5, 80), (69, 0.5, 0.5, 85), (73, 1.0, 2.0, 90), (66, 3.0, 1.0, 60)]


def make_session() -> Session:
    session = Session(CONTEXT, name="Waltz", sample_rate=22050)
    session.add_track(Track("Kit", "drums")).add_take(Take(SILENT, notes=DRUM_NOTES))
    session.add_track(Track("Bass", "bass")).add_take(Take(SILENT, notes=BASS_NOTES))
    session.add_track(Track("Recorded Keys", "harmony")).add_take(Take(SILENT))  # audio only: no part
    lead = session.add_track(Track("Lead", "melody", muted=True))
    lead.add_take(Take(SILENT, notes=LEAD_NOTES))
    return session


def test_parts_tempo_meter_and_key_read_back(tmp_path):
    path = export_midi(make_session(), tmp_path / "waltz.mid")
    midi = mido.MidiFile(str(path))
    assert midi.type == 1 and midi.ticks_per_beat == TICKS_PER_BEAT
    assert len(midi.tracks) == 4  # conductor + three symbolic parts
    summary = read_midi(path)
    assert summary.tempo == pytest.approx(96.0)
    assert summary.meter == (3, 4)
    assert summary.key == "F#m"
    assert [p.name for p in summary.parts] == ["Kit", "Bass", "Lead"]


def test_notes_round_trip_in_beats(tmp_path):
    parts = read_midi_parts(export_midi(make_session(), tmp_path / "w.mid"))
    for part, notes in zip(parts, (DRUM_NOTES, BASS_NOTES, LEAD_NOTES)):
        assert list(part.notes) == sorted(notes, key=lambda n: (n[1], n[0]))


def test_channels_and_programs(tmp_path):
    kit, bass, lead = read_midi_parts(export_midi(make_session(), tmp_path / "w.mid"))
    assert kit.channel == DRUM_CHANNEL == 9
    assert bass.channel != DRUM_CHANNEL and lead.channel != DRUM_CHANNEL and bass.channel != lead.channel
    assert bass.program == 38  # "warm synth bass" -> Synth Bass 1
    assert lead.program == 73  # "breathy flute" -> Flute


def test_sixteen_melodic_parts_never_land_on_the_drum_channel(tmp_path):
    session = Session({**CONTEXT, "instruments": {}}, sample_rate=22050)
    for i in range(16):
        session.add_track(Track(f"Part {i}", "melody")).add_take(Take(SILENT, notes=[(60 + i, 0.0, 1.0, 90)]))
    parts = read_midi_parts(export_midi(session, tmp_path / "many.mid"))
    assert len(parts) == 16 and all(p.channel != DRUM_CHANNEL for p in parts)
    assert all(p.program == 80 for p in parts)  # melody default: Lead 1 (square)


def test_repeated_notes_on_one_pitch_stay_separate(tmp_path):
    session = Session(CONTEXT, sample_rate=22050)
    notes = [(60, 0.0, 1.0, 90), (60, 1.0, 1.0, 91), (60, 2.0, 0.5, 92)]
    session.add_track(Track("Pulse", "harmony")).add_take(Take(SILENT, notes=notes))
    (part,) = read_midi_parts(export_midi(session, tmp_path / "pulse.mid"))
    assert list(part.notes) == notes


def test_a_symbolic_take_with_no_notes_is_still_a_part(tmp_path):
    session = Session(CONTEXT, sample_rate=22050)
    session.add_track(Track("Rest", "melody")).add_take(Take(SILENT, notes=[]))
    (part,) = read_midi_parts(export_midi(session, tmp_path / "rest.mid"))
    assert part.name == "Rest" and part.notes == ()


def test_the_file_lasts_the_whole_session(tmp_path):
    midi = mido.MidiFile(str(export_midi(make_session(), tmp_path / "w.mid")))
    beats = 4 * 3  # 4 bars of 3/4
    assert midi.length == pytest.approx(beats * 60.0 / 96.0)


@pytest.mark.parametrize("tonic,mode,key", [
    (9, "minor", "Am"), (6, "minor", "F#m"), (10, "major", "Bb"), (0, "major", "C"), (1, "major", "Db"),
    (3, "minor", "Ebm"), (2, "dorian", "Am"), (7, "mixolydian", "C"), (5, "lydian", "C"), (4, "phrygian", "Am"),
])
def test_key_signature_names(tonic, mode, key):
    assert key_signature(tonic, mode) == key
    mido.MetaMessage("key_signature", key=key)  # mido accepts it


def test_program_choice_by_role_and_hint():
    assert program_for("bass", "") == 33
    assert program_for("bass", "upright") == 32
    assert program_for("harmony", "Rhodes electric piano") == 4
    assert program_for("harmony", "") == 0
    assert program_for("drums", "synth kit") == 0


def test_no_symbolic_track_is_refused(tmp_path):
    session = Session(CONTEXT, sample_rate=22050)
    session.add_track(Track("Audio", "other")).add_take(Take(SILENT))
    with pytest.raises(ExportError) as err:
        export_midi(session, tmp_path / "x.mid")
    assert str(err.value) == "no track has notes to export: MIDI needs a composer take"
    assert list(tmp_path.iterdir()) == []


def test_missing_folder_is_refused(tmp_path):
    with pytest.raises(ExportError, match=r"^cannot write to .*x\.mid: the folder does not exist$"):
        export_midi(make_session(), tmp_path / "nowhere" / "x.mid")


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch):
    path = export_midi(make_session(), tmp_path / "w.mid")
    before = path.read_bytes()
    session = make_session()
    session.track("Bass").add_take(Take(SILENT, notes=[(40, 0.0, 1.0, 100)]))

    def crash(src, dst):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(ExportError, match="cannot write to .*w.mid: input/output error"):
        export_midi(session, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["w.mid"]
