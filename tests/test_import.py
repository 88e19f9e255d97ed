"""`resonant import`: audio the app did not write becomes a locked track every engine fits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import gm_material as gm
from resonant_studio.cli import main
from resonant_studio.core.imports import FEATURES_KEY, features_of
from tracks.project import load_project, save_project

pytestmark = pytest.mark.skipif(not gm.available(), reason="needs fluidsynth and fluid-soundfont-gm")


@pytest.fixture(scope="module")
def loop(tmp_path_factory) -> Path:
    m = gm.drum_loop(117, "sync", bars=4, humanise_ms=4)  # straight 16ths, so its kicks belong on the grid
    path = tmp_path_factory.mktemp("material") / "loop.wav"
    sf.write(path, m.audio, gm.RATE)
    return path


def test_an_import_into_no_project_makes_one_at_its_tempo(tmp_path: Path, loop: Path, capsys) -> None:
    assert main(["import", str(tmp_path / "beat.resonant"), str(loop)]) == 0
    session = load_project(tmp_path / "beat.resonant")
    assert session.tempo == pytest.approx(117, rel=0.04)
    (track,) = session.tracks
    assert track.role == "drums" and track.locked  # proposed from the audio
    assert features_of(track.active_take).tonic is None  # a drum loop has no key
    out = capsys.readouterr().out
    assert "no key" in out and "drums" in out


def test_an_import_is_fitted_the_original_kept_and_a_new_bass_locks_to_its_kicks(tmp_path, loop, capsys) -> None:
    assert main(["render", "deep house 120 bpm, 8 bars", "--seed", "3", "--out", str(tmp_path), "--name", "h"]) == 0
    project = tmp_path / "h.resonant"
    assert main(["import", str(project), str(loop), "--role", "drums"]) == 0
    session = load_project(project)
    imported = session.track("loop")
    original, fitted = imported.takes
    assert original.params.get("original") and original.num_samples == sf.info(str(loop)).frames
    assert imported.active_take is fitted and fitted.params["conform"]["stretch_rate"] == pytest.approx(120 / 117,
                                                                                                      rel=0.01)
    kicks = np.array(features_of(fitted).kicks)
    assert kicks.size >= 8
    # the kicks now sit on the session's grid (16ths at 120 bpm)
    sixteenth = 60.0 / 120 / 4
    off = np.abs(kicks / sixteenth - np.round(kicks / sixteenth)) * sixteenth
    assert np.mean(off < 0.020) >= 0.9
    session.track("Drums").muted = True  # the app's own drums out: the loop is the beat now
    save_project(session, project)
    assert main(["regenerate", str(project), "--track", "bass", "--seed", "11"]) == 0
    session = load_project(project)
    bass = session.track("bass").active_take
    beat = 60.0 / session.tempo
    onsets = np.array(sorted({round(n[1] * beat, 4) for n in bass.notes}))
    precision = np.mean([np.min(np.abs(kicks - t)) < 0.05 for t in onsets])
    recall = np.mean([np.min(np.abs(onsets - k)) < 0.05 for k in kicks])
    f = 2 * precision * recall / (precision + recall)
    # the measure: F of bass onsets against the loop's kicks (+-50 ms); its 10th-percentile bar
    assert f >= 0.7, f"F {f:.2f} (precision {precision:.2f}, recall {recall:.2f}) against the loop's kicks"
    assert bass.params["kick_source"] == "locked drums audio" or "audio" in bass.params["kick_source"]
    assert FEATURES_KEY in fitted.params


def test_a_bad_import_is_one_sentence_and_changes_nothing(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio")
    assert main(["import", str(tmp_path / "x.resonant"), str(bad)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "x.resonant").exists()


def test_an_import_into_a_session_reads_the_recordings_own_tempo(tmp_path: Path) -> None:
    # Hip-hop kicks at 0, 1.75, 2.25, 2.5 beats: near the session's 125 bpm, the onsets fit 106
    # (7/8 of the line's tempo) better than 121.5, and the import once read it there.
    from engine.context import MusicalContext
    from resonant_studio.core.imports import prepare_import

    m = gm.bass_line(121.47, 3, "major", prog=2, bars=8, style="hiphop", humanise_ms=5.0, seed=2)
    path = tmp_path / "bass.wav"
    sf.write(path, m.audio, gm.RATE)
    prepared = prepare_import(path, MusicalContext(tempo=125.0, bars=8), sample_rate=gm.RATE)
    assert prepared.original_features.tempo == pytest.approx(121.47, rel=0.01)
    assert prepared.conform_info["stretch_rate"] == pytest.approx(125.0 / 121.47, rel=0.01)
