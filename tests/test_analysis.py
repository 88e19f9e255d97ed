"""Audio analysis on synthesised music with a known tempo and key, and on bad inputs."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.analysis import (
    SOUND_DIM,
    AnalysisError,
    analyze_audio,
    analyze_file,
    estimate_key,
    relation,
    style_words,
)
from engine.analysis.features import refine_tempo
from synth_music import render

ROOT = Path(__file__).resolve().parents[1]


def _write(path: Path, audio: np.ndarray, sr: int, **kw) -> Path:
    sf.write(str(path), audio, sr, **kw)
    return path


@pytest.mark.slow
@pytest.mark.parametrize(
    "tempo, tonic, mode, sr, fmt, stereo",
    [
        (120.0, 0, "major", 44100, "wav", True),
        (96.0, 2, "minor", 22050, "flac", False),
        (132.0, 7, "major", 48000, "ogg", True),
        (108.0, 9, "minor", 32000, "mp3", True),
    ],
)
def test_tempo_and_key_of_known_music(tmp_path: Path, tempo, tonic, mode, sr, fmt, stereo) -> None:
    audio = render(tempo, tonic, mode, seconds=16.0, sr=sr, timbre="saw", stereo=stereo)
    path = _write(tmp_path / f"piece.{fmt}", audio, sr)
    a = analyze_file(path)
    assert a.tempo is not None and abs(a.tempo - tempo) / tempo < 0.02, a.tempo
    assert (a.tonic, a.mode) == (tonic, mode), a.key_name
    assert a.duration == pytest.approx(16.0, abs=0.1)
    assert a.sample_rate == sr and a.channels == (2 if stereo else 1)
    # The beat grid is evenly spaced at the tempo.
    assert np.median(np.diff(a.beats)) == pytest.approx(60.0 / tempo, rel=0.03)
    assert a.loudness_lufs is not None and -30 < a.loudness_lufs < -5
    assert a.sound_vector.shape == (SOUND_DIM,)
    assert np.linalg.norm(a.sound_vector) == pytest.approx(1.0, abs=1e-5)
    assert not a.sound_vector.flags.writeable


@pytest.mark.slow
def test_excerpts_of_one_piece_sound_closer_than_other_pieces() -> None:
    sr = 22050
    piece = render(110, 4, "minor", seconds=24, sr=sr, timbre="square", seed=3)
    first = analyze_audio(piece[: 12 * sr], sr)
    second = analyze_audio(piece[12 * sr :], sr)
    other = analyze_audio(render(110, 4, "minor", seconds=12, sr=sr, timbre="sine", drums=False, seed=3), sr)
    close = float(first.sound_vector @ second.sound_vector)
    far = float(first.sound_vector @ other.sound_vector)
    assert close > 0.9 and close > far + 0.2, (close, far)


def test_quieter_is_less_energetic_and_loudness_follows_gain() -> None:
    sr = 22050
    loud = render(120, 0, "major", seconds=8, sr=sr)
    a, b = analyze_audio(loud, sr), analyze_audio(loud * 0.1, sr)
    assert a.loudness_lufs - b.loudness_lufs == pytest.approx(20.0, abs=0.2)
    assert b.energy < a.energy


def test_key_profiles_find_the_key_of_a_scale_weighted_chroma() -> None:
    chroma = np.zeros(12)
    for pc, weight in zip((5, 7, 9, 10, 0, 2, 4), (5, 2, 3, 2, 4, 2, 1.5)):  # F major, tonic and fifth strong
        chroma[pc] = weight
    key = estimate_key(chroma)
    assert (key.tonic, key.mode) == (5, "major")
    assert estimate_key(np.zeros(12)) is None


def test_key_relations() -> None:
    assert relation(9, "minor", 0, "major") == "relative"
    assert relation(0, "minor", 0, "major") == "parallel"
    assert relation(7, "major", 0, "major") == "fifth"
    assert relation(2, "major", 2, "major") == "same"
    assert relation(1, "major", 0, "major") == "other"


def test_refined_tempo_is_finer_than_the_lag_grid() -> None:
    beats = np.arange(40) * (60.0 / 171.0)
    assert refine_tempo(172.27, beats) == pytest.approx(171.0, abs=0.05)
    assert refine_tempo(120.0, beats) == 120.0  # disagreeing grid: keep the tempogram's value


def test_short_click_gives_a_graceful_result(tmp_path: Path) -> None:
    sr = 44100
    click = np.zeros(int(0.1 * sr), dtype=np.float32)
    click[100:400] = np.hanning(300) * 0.5
    a = analyze_file(_write(tmp_path / "click.wav", click, sr))
    assert a.tempo is None and a.beats == ()
    assert a.duration == pytest.approx(0.1, abs=1e-3)
    assert a.loudness_lufs is None  # shorter than one BS.1770 block
    assert any("too short" in w for w in a.warnings)
    assert np.isfinite(a.sound_vector).all()


def test_silence_has_no_tempo_or_key() -> None:
    a = analyze_audio(np.zeros((22050 * 5, 2), dtype=np.float32), 22050)
    assert a.tempo is None and a.key_name is None and a.loudness_lufs is None
    assert any("silent" in w for w in a.warnings)


def test_long_file_is_analysed_in_part(tmp_path: Path) -> None:
    sr = 8000
    path = _write(tmp_path / "long.flac", render(120, 0, "major", seconds=20, sr=sr), sr)
    a = analyze_file(path, max_seconds=6.0)
    assert a.duration == pytest.approx(20.0, abs=0.01)
    assert a.analysed_seconds == pytest.approx(6.0, abs=0.01)
    assert any("only the first" in w for w in a.warnings)


def test_unicode_path(tmp_path: Path) -> None:
    path = _write(tmp_path / "Ünïcødé ♫ 音楽.wav", render(120, 0, "major", seconds=4), 22050)
    a = analyze_file(path)
    assert a.path.endswith("Ünïcødé ♫ 音楽.wav") and a.title == "Ünïcødé ♫ 音楽"


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("notes.wav", b"this is a text file, renamed\n" * 20, "not audio"),
        ("empty.flac", b"", "empty"),
    ],
)
def test_bad_files_raise_one_clear_sentence(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(AnalysisError, match=message):
        analyze_file(path)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(AnalysisError, match="does not exist"):
        analyze_file(tmp_path / "nope.wav")
    with pytest.raises(AnalysisError, match="folder"):
        analyze_file(tmp_path)


def test_runs_in_a_worker_thread(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.wav", render(100, 2, "major", seconds=6), 22050)
    out: dict = {}
    worker = threading.Thread(target=lambda: out.setdefault("a", analyze_file(path)))
    worker.start()
    worker.join(timeout=300)
    assert out["a"].key_name == "D major"


def test_style_words_and_reference() -> None:
    sr = 22050
    a = analyze_audio(render(128, 9, "minor", seconds=8, sr=sr), sr, path="/x/y.wav")
    words = style_words(a)
    assert "upbeat" in words and "minor" in words
    ref = a.reference(continue_audio=True)
    assert ref.tempo == a.tempo and ref.tonic == 9 and ref.continue_audio
    assert ref.chroma.shape[1] == 12 and not ref.chroma.flags.writeable


def test_importing_analysis_does_not_import_librosa() -> None:
    code = "import sys, engine.analysis, engine.embedding; print('librosa' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
