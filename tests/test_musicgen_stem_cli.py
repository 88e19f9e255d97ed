"""MusicGen-Stem from the command line, on the tiny fixture: render, lock drums, regenerate bass."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from resonant_studio.cli import main
from tracks.project import load_project

TINY = Path(__file__).resolve().parent / "fixtures" / "musicgen-stem-tiny-6cb"
pytestmark = pytest.mark.skipif(not (TINY / "state_dict.bin").is_file(), reason="tiny stem fixture missing")


def test_render_then_lock_drums_and_regenerate_the_bass_five_times(tmp_path: Path, capsys) -> None:
    engine = ["--engine", "musicgen-stem", "--model", str(TINY)]
    assert main(["render", "funk 100 bpm", "--bars", "2", "--seed", "1", "--out", str(tmp_path), "--name", "funk",
                 *engine]) == 0
    project = tmp_path / "funk.resonant"
    assert main(["lock", str(project), "drums"]) == 0
    drums = load_project(project).track("drums").active_take.audio.copy()
    for seed in range(2, 7):
        assert main(["regenerate", str(project), "--track", "bass", "--seed", str(seed), *engine]) == 0
        session = load_project(project)
        np.testing.assert_array_equal(session.track("drums").active_take.audio, drums)
    session = load_project(project)
    bass = session.track("bass").takes
    assert len(bass) == 6 and all(t.num_samples == session.num_samples for t in bass)
    new = [t.audio for t in bass[1:]]
    assert all(not np.array_equal(a, b) for i, a in enumerate(new) for b in new[i + 1:])  # differ by seed


def test_the_raw_stems_tool_writes_three_stems_and_keeps_the_kept_one(tmp_path: Path, capsys) -> None:
    import soundfile as sf

    loop = tmp_path / "loop.wav"
    t = np.arange(2 * 32000) / 32000
    sf.write(loop, (0.3 * np.sin(2 * np.pi * 60 * t) * (t % 0.5 < 0.05)).astype(np.float32), 32000)
    out = tmp_path / "stems"
    assert main(["musicgen", "stems", "--model", str(TINY), "--prompt", "funk", "--keep", f"drums={loop}",
                 "--regenerate", "bass", "other", "--out", str(out), "--seconds", "2", "--quiet",
                 "--tokens", str(tmp_path / "codes.npy")]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["bass.wav", "drums.wav", "other.wav"]
    assert all(sf.info(str(p)).samplerate == 32000 for p in out.iterdir())
    assert np.load(tmp_path / "codes.npy").ndim == 3
    assert main(["musicgen", "stems", "--model", str(TINY), "--prompt", "x", "--keep", "drums",
                 "--out", str(tmp_path / "o")]) == 1
    assert "STEM=FILE" in capsys.readouterr().err
