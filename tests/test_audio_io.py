"""The one audio reader: streaming downmix and resampling, limits, and a sentence for bad files."""

from __future__ import annotations

import os
import struct
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from engine.analysis.audio_io import (
    ANALYSIS_RATE, AudioFileError, read_audio, read_for_analysis, read_for_import,
)
from engine.analysis.errors import AnalysisError


def _write(path: Path, seconds: float, rate: int, channels: int, subtype: str = "PCM_16", seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    data = np.stack([0.3 * np.sin(2 * np.pi * (220 + 110 * c) * t) + 0.05 * rng.standard_normal(n)
                     for c in range(channels)], axis=1).astype(np.float32)
    sf.write(str(path), data, rate, subtype=subtype)
    return sf.read(str(path), dtype="float32", always_2d=True)[0]


def test_import_gives_stereo_at_the_session_rate_like_a_one_shot_resample(tmp_path):
    path = tmp_path / "in.wav"
    full = _write(path, 3.0, 48000, 2)
    loaded = read_for_import(path, 44100, max_seconds=600)
    expected = soxr.resample(full, 48000, 44100, quality="HQ")
    assert loaded.audio.shape == expected.shape and loaded.audio.dtype == np.float32
    assert (loaded.sample_rate, loaded.channels, loaded.file_rate, loaded.file_channels) == (44100, 2, 48000, 2)
    assert np.max(np.abs(loaded.audio - expected)) < 1e-3
    assert not loaded.truncated and loaded.limit_note is None


def test_analysis_gives_mono_at_the_analysis_rate_from_many_channels(tmp_path):
    path = tmp_path / "multi.wav"
    full = _write(path, 2.0, 96000, 8)
    loaded = read_for_analysis(path)
    expected = soxr.resample(full.mean(axis=1, keepdims=True), 96000, ANALYSIS_RATE, quality="HQ")
    assert loaded.audio.shape == expected.shape and loaded.channels == 1 and loaded.sample_rate == ANALYSIS_RATE
    assert np.max(np.abs(loaded.audio - expected)) < 1e-3


@pytest.mark.parametrize("channels,want", [(1, 2), (3, 2), (2, 1)])
def test_channel_conversions(tmp_path, channels, want):
    path = tmp_path / "c.wav"
    full = _write(path, 0.5, 22050, channels)
    out = read_audio(path, sample_rate=22050, channels=want).audio
    if want == 1:
        assert np.allclose(out[:, 0], full.mean(axis=1), atol=1e-6)
    elif channels == 1:
        assert np.array_equal(out, np.repeat(full, 2, axis=1))
    else:
        assert np.array_equal(out, full[:, :2])


def test_without_a_target_the_files_rate_and_channels_are_kept(tmp_path):
    path = tmp_path / "k.flac"
    full = _write(path, 1.0, 32000, 3)
    loaded = read_audio(path)
    assert loaded.sample_rate == 32000 and loaded.channels == 3 and np.array_equal(loaded.audio, full)


def test_only_the_limit_is_read_and_the_result_says_so(tmp_path):
    path = tmp_path / "long.wav"
    _write(path, 10.0, 8000, 1)
    loaded = read_audio(path, max_seconds=4.0, sample_rate=ANALYSIS_RATE, channels=1)
    assert loaded.truncated and loaded.duration == pytest.approx(10.0)
    assert loaded.seconds == pytest.approx(4.0, abs=0.01)
    assert loaded.limit_note == "only the first 4 s of 10 s in 'long.wav' were read"


def test_memory_follows_the_work_not_the_file(tmp_path):
    """20 s of 96 kHz 8-channel audio is 61 MB as float32; read as analysis mono it needs ~2 MB."""
    path = tmp_path / "big.wav"
    _write(path, 20.0, 96000, 8)
    whole = 20 * 96000 * 8 * 4
    tracemalloc.start()
    try:
        loaded = read_for_analysis(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert loaded.audio.nbytes == pytest.approx(20 * ANALYSIS_RATE * 4, rel=0.01)
    assert peak < whole / 6, f"peak {peak / 1e6:.1f} MB for a {whole / 1e6:.0f} MB file"


def _float_wav(path: Path, data: np.ndarray, rate: int = 22050) -> None:
    sf.write(str(path), data.astype(np.float32), rate, subtype="FLOAT")


def _wav_with_rate(path: Path, rate: int) -> None:
    """A valid 16-bit WAV whose header claims ``rate`` (soundfile refuses to write such rates)."""
    sf.write(str(path), np.zeros((1000, 1), np.int16), 8000, subtype="PCM_16")
    raw = bytearray(path.read_bytes())
    raw[24:28] = struct.pack("<I", rate)
    raw[28:32] = struct.pack("<I", rate * 2)
    path.write_bytes(bytes(raw))


BAD = [
    ("nan", lambda p: _float_wav(p, np.array([[0.1], [np.nan], [0.2]] * 100)), "holds invalid samples (NaN or infinity)"),
    ("inf", lambda p: _float_wav(p, np.array([[0.1], [np.inf]] * 100)), "holds invalid samples (NaN or infinity)"),
    ("huge", lambda p: _float_wav(p, np.full((300, 1), 1e30)), "holds samples of 1e+30"),
    ("one_hz", lambda p: _wav_with_rate(p, 1), "says its sample rate is 1 Hz"),
    ("empty", lambda p: p.write_bytes(b""), "is empty (0 bytes)"),
    ("text", lambda p: p.write_text("hello, not audio " * 20), "is not audio this app can read"),
]


@pytest.mark.parametrize("name,make,phrase", BAD, ids=[b[0] for b in BAD])
def test_bad_files_are_one_sentence(tmp_path, name, make, phrase):
    path = tmp_path / f"{name}.wav"
    make(path)
    with pytest.raises(AudioFileError) as err:
        read_audio(path, sample_rate=ANALYSIS_RATE, channels=1)
    message = str(err.value)
    assert phrase in message and "\n" not in message
    assert isinstance(err.value, AnalysisError)


def test_a_hot_float_file_is_kept_as_it_is(tmp_path):
    path = tmp_path / "hot.wav"
    _float_wav(path, np.full((500, 1), 2.5))
    assert float(read_audio(path).audio.max()) == 2.5


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_pipes_devices_folders_and_link_loops_are_refused_without_waiting(tmp_path):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    loop = tmp_path / "loop.wav"
    loop.symlink_to(tmp_path / "loop2.wav")
    (tmp_path / "loop2.wav").symlink_to(loop)
    cases = [(fifo, "is a pipe (FIFO)"), (Path("/dev/zero"), "is a device"), (tmp_path, "is a folder"),
             (loop, "loop of symbolic links"), (tmp_path / "missing.wav", "does not exist")]
    started = time.monotonic()
    for path, phrase in cases:
        if not path.exists() and not path.is_symlink() and phrase != "does not exist":
            continue
        with pytest.raises(AudioFileError, match=phrase.replace("(", r"\(").replace(")", r"\)")):
            read_audio(path)
    assert time.monotonic() - started < 10  # a FIFO opened for reading would block forever


@pytest.mark.parametrize("kwargs,phrase", [
    ({"max_seconds": float("nan")}, "is not a positive number"),
    ({"max_seconds": 0}, "is not a positive number"),
    ({"sample_rate": 1}, "cannot resample to 1 Hz"),
    ({"channels": 8}, "choose 1 or 2"),
])
def test_bad_requests_are_refused(tmp_path, kwargs, phrase):
    path = tmp_path / "ok.wav"
    _write(path, 0.2, 8000, 1)
    with pytest.raises(AudioFileError, match=phrase):
        read_audio(path, **kwargs)


def test_an_import_longer_than_the_limit_is_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "long.wav"
    _write(path, 10.0, 8000, 1)
    import soundfile

    monkeypatch.setattr(soundfile.SoundFile, "read", lambda *a, **k: pytest.fail("read before refusing"))
    with pytest.raises(AudioFileError, match=r"^'long\.wav' lasts 10 s, longer than the 4 s this app imports"):
        read_for_import(path, 44100, max_seconds=4.0)


@pytest.mark.parametrize("bad,phrase", [("a\0b.wav", "holds a NUL character"), ("x" * 5000 + ".wav", "file name too long"),
                                        (42, "is not a path")])
def test_unusable_paths_are_one_sentence(tmp_path, bad, phrase):
    with pytest.raises(AudioFileError, match=phrase):
        read_audio(bad if isinstance(bad, int) else tmp_path / bad)


def test_a_huge_limit_allocates_only_what_the_file_holds(tmp_path):
    path = tmp_path / "short.wav"
    _write(path, 0.5, 8000, 1)
    loaded = read_audio(path, max_seconds=1e300, sample_rate=8000, channels=1)
    assert len(loaded.audio) == 4000 and not loaded.truncated


def test_bytes_that_start_like_no_audio_format_are_refused_before_the_decoder(tmp_path, capfd) -> None:
    """Random bytes once reached libmpg123, which printed notes on stderr before the sentence."""
    path = tmp_path / "noise.wav"
    path.write_bytes(b"\x00" + np.random.default_rng(1).bytes(20000))
    with pytest.raises(AudioFileError, match="not in a known audio format"):
        read_audio(path)
    assert capfd.readouterr().err == ""


def test_analysis_refuses_less_than_a_quarter_second(tmp_path) -> None:
    from engine.analysis.audio_io import MIN_ANALYSIS_SECONDS

    short = tmp_path / "short.wav"
    sf.write(short, np.full(int(0.1 * 22050), 0.1, dtype=np.float32), 22050)
    with pytest.raises(AudioFileError, match="needs at least"):
        read_for_analysis(short)
    enough = tmp_path / "enough.wav"
    sf.write(enough, np.full(int(2 * MIN_ANALYSIS_SECONDS * 22050), 0.1, dtype=np.float32), 22050)
    assert len(read_for_analysis(enough).audio) > 0
