"""Audio that is not really there: header lies, cut-short files, a few samples, and a damaged
MP3 whose decoder prints on fd 2 (engine/analysis/wav_header.py, decoder_stderr.py)."""

from __future__ import annotations

import os
import struct
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.analysis.audio_io import MIN_SOUND_SECONDS, AudioFileError, read_audio
from engine.analysis.decoder_stderr import decoder_notes_captured
from engine.analysis.wav_header import read_layout


def _pcm(path: Path, seconds: float, rate: int = 22050, subtype: str = "PCM_16") -> Path:
    t = np.arange(int(seconds * rate)) / rate
    sf.write(str(path), (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), rate, subtype=subtype)
    return path


def _data_size(path: Path) -> int:
    layout = read_layout(path)
    assert layout is not None
    return layout.data_offset - 4  # where the data chunk's size field is


def test_a_file_cut_to_a_fraction_of_its_header_is_refused_with_both_lengths(tmp_path) -> None:
    path = _pcm(tmp_path / "cut.wav", 2.0)
    path.write_bytes(path.read_bytes()[:20000])  # 0.45 s of the 2 s promised
    with pytest.raises(AudioFileError) as err:
        read_audio(path)
    message = str(err.value)
    assert message.startswith("'cut.wav' is cut short") and "2.00 s" in message and "0.45 s" in message


def test_a_little_missing_at_the_end_is_still_read(tmp_path) -> None:
    """A lost last block is damage a person can still use: read what is there."""
    path = _pcm(tmp_path / "almost.wav", 1.0)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 4000])
    loaded = read_audio(path)
    assert len(loaded.audio) == (len(data) - 4000 - 44) // 2


@pytest.mark.parametrize("placeholder", [0xFFFFFFFF])
def test_a_streaming_writers_placeholder_size_is_not_a_lie(tmp_path, placeholder) -> None:
    path = _pcm(tmp_path / "stream.wav", 0.5)
    raw = bytearray(path.read_bytes())
    at = _data_size(path)
    raw[at: at + 4] = struct.pack("<I", placeholder)
    path.write_bytes(bytes(raw))
    assert read_audio(path).audio.shape[0] == int(0.5 * 22050)


def test_chunks_before_the_data_are_walked_not_read(tmp_path) -> None:
    """A 1 MB metadata chunk before ``data``: the promise is still found and checked."""
    path = _pcm(tmp_path / "meta.wav", 1.0)
    raw = path.read_bytes()
    junk = b"JUNK" + struct.pack("<I", 1 << 20) + b"\0" * (1 << 20)
    padded = raw[:12] + junk + raw[12:]
    path.write_bytes(padded[:12 + len(junk) + 24 + 8 + 1000])  # fmt, data header, 1000 of 44100 bytes
    layout = read_layout(path)
    assert layout is not None and layout.data_bytes == 44100 and layout.held_bytes == 1000
    with pytest.raises(AudioFileError, match="is cut short"):
        read_audio(path)


@pytest.mark.parametrize("bits", [7, 12, 1])
def test_a_sample_width_no_writer_uses_is_refused(tmp_path, bits) -> None:
    path = _pcm(tmp_path / "odd.wav", 0.2)
    raw = bytearray(path.read_bytes())
    raw[34:36] = struct.pack("<H", bits)
    path.write_bytes(bytes(raw))
    with pytest.raises(AudioFileError, match=f"samples are {bits} bits wide"):
        read_audio(path)


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"])
def test_every_width_writers_use_reads(tmp_path, subtype) -> None:
    path = _pcm(tmp_path / "w.wav", 0.2, subtype=subtype)
    assert len(read_audio(path).audio) == int(0.2 * 22050)


def test_a_flac_that_decodes_to_less_than_half_its_length_is_cut_short(tmp_path, monkeypatch) -> None:
    """Formats other than WAV are judged by what decodes against what libsndfile expected."""
    import engine.analysis.audio_io as audio_io

    path = _pcm(tmp_path / "x.flac", 2.0)
    real = audio_io._stream

    def short_stream(f, p, want, *args, **kwargs):
        audio, read = real(f, p, want // 3, *args, **kwargs)
        return audio, read

    monkeypatch.setattr(audio_io, "_stream", short_stream)
    with pytest.raises(AudioFileError, match="'x.flac' is cut short: its header promises 2 s but only 0.67 s"):
        read_audio(path)


def test_fewer_samples_than_one_analysis_hop_are_refused_but_a_short_one_shot_is_analysed(tmp_path, capfd) -> None:
    from engine.analysis import analyze_file

    one = tmp_path / "one.wav"
    sf.write(str(one), np.array([0.1], np.float32), 22050, subtype="FLOAT")
    with pytest.raises(AudioFileError, match=r"'one.wav' holds only 0.0 ms of audio \(1 sample\)"):
        analyze_file(one)
    just_under = _pcm(tmp_path / "click.wav", MIN_SOUND_SECONDS * 0.9)
    with pytest.raises(AudioFileError, match="less than the 23 ms"):
        analyze_file(just_under)
    capfd.readouterr()
    blip = analyze_file(_pcm(tmp_path / "blip.wav", 0.1))  # a real one-shot the library indexes
    assert blip.tempo is None and any("too short to measure a tempo" in w for w in blip.warnings)
    assert capfd.readouterr().err == ""  # librosa's tuning warning on padded audio is kept quiet


MP3_GARBAGE = b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff" * 3000


def test_a_damaged_mp3_is_one_sentence_and_nothing_else_on_fd_2(tmp_path, capfd) -> None:
    path = tmp_path / "a.mp3"
    path.write_bytes(MP3_GARBAGE)
    with pytest.raises(AudioFileError) as err:
        read_audio(path)
    assert "MP3 data is damaged" in str(err.value)
    assert capfd.readouterr().err == ""


def test_the_decoder_notes_are_kept_and_other_output_is_written_back(capfd) -> None:
    """fd 2 is the process's: what another thread writes meanwhile arrives late, not never."""
    with decoder_notes_captured() as captured:
        os.write(2, b"Note: Illegal Audio-MPEG-Header 0x00000000 at offset 3006.\n")
        os.write(2, b"another thread's line\n")
        print("a python warning", file=sys.stderr)
    assert captured.notes == ["Note: Illegal Audio-MPEG-Header 0x00000000 at offset 3006."]
    err = capfd.readouterr().err
    assert "another thread's line" in err and "a python warning" in err and "Illegal" not in err


def test_fd_2_is_restored_when_the_decode_raises_and_redirects_never_nest(capfd) -> None:
    inside = threading.Event()
    release = threading.Event()
    order = []

    def first() -> None:
        with decoder_notes_captured():
            inside.set()
            release.wait(5)
            order.append("first done")

    worker = threading.Thread(target=first)
    worker.start()
    inside.wait(5)
    release.set()
    with pytest.raises(RuntimeError):
        with decoder_notes_captured():
            order.append("second in")  # only after the first restored fd 2
            raise RuntimeError("decoder failed")
    worker.join(5)
    assert order == ["first done", "second in"]
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_U8", "PCM_24"])
@pytest.mark.parametrize("have,want", [(8, 1), (8, 2), (1, 2), (2, 2), (1, 1), (3, None)])
def test_integer_files_read_as_int16_match_libsndfiles_float_conversion(tmp_path, subtype, have, want) -> None:
    rng = np.random.default_rng(have)
    data = (0.5 * rng.standard_normal((4000, have))).clip(-1, 1).astype(np.float32)
    path = tmp_path / "x.wav"
    sf.write(str(path), data, 8000, subtype=subtype)
    reference = sf.read(str(path), dtype="float32", always_2d=True)[0]
    if want == 1:
        reference = reference.mean(axis=1, keepdims=True)
    elif want == 2:
        reference = np.repeat(reference, 2, axis=1) if have == 1 else reference[:, :2]
    got = read_audio(path, channels=want).audio
    assert got.shape == reference.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, reference, atol=1e-6, rtol=0)


def test_a_real_mp3_still_reads_whole_and_quietly(tmp_path, capfd) -> None:
    path = tmp_path / "ok.mp3"
    sf.write(str(path), (0.3 * np.sin(np.arange(44100) / 10)).astype(np.float32), 44100, format="MP3")
    before = os.fstat(2)
    loaded = read_audio(path)
    assert abs(len(loaded.audio) - 44100) < 2000 and float(np.abs(loaded.audio).max()) > 0.2
    after = os.fstat(2)
    assert (after.st_dev, after.st_ino) == (before.st_dev, before.st_ino)  # fd 2 is where it was
    assert capfd.readouterr().err == ""
