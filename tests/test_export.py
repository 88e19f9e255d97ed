"""Mix and stem export: formats, lengths, sums, loudness, the -1 dBFS ceiling, atomic failures."""

from __future__ import annotations

import errno
import math
import os
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

from tracks import ExportError, Session, Take, Track
from tracks.export import export_all, export_mix, export_stems, slugify

SR = 22050
CONTEXT = {"tempo": 120.0, "meter": [4, 4], "bars": 2, "tonic": 0, "mode": "major"}  # 4 s


def _tone(freq: float, n: int, amp: float, seed: int) -> np.ndarray:
    t = np.arange(n) / SR
    rng = np.random.default_rng(seed)
    left = amp * np.sin(2 * np.pi * freq * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t))
    right = amp * np.sin(2 * np.pi * freq * 1.01 * t + 0.3) + 0.02 * amp * rng.standard_normal(n)
    return np.stack([left, right], axis=1).astype(np.float32)


def make_session(amp: float = 0.2) -> Session:
    session = Session(CONTEXT, name="Export Test", sample_rate=SR)
    n = session.num_samples
    session.add_track(Track("Drums", "drums")).add_take(Take(_tone(90, n, amp, 1)))
    session.add_track(Track("Sub Bass", "bass", gain_db=-2, pan=-0.5)).add_take(Take(_tone(55, n // 2, amp, 2)))
    session.add_track(Track("Lead Synth #2", "melody", pan=0.7)).add_take(Take(_tone(660, n + 5000, amp, 3)))
    session.add_track(Track("Muted Pad", "harmony", muted=True)).add_take(Take(_tone(220, n, amp, 4)))
    session.add_track(Track("Empty", "other"))  # no take: no stem
    return session


def read(path: Path) -> np.ndarray:
    data, rate = sf.read(str(path), dtype="float64", always_2d=True)
    assert rate == SR
    return data


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- files, lengths, sums -------------------------------------------------------------------------
def test_stems_are_named_in_track_order_and_as_long_as_the_mix(tmp_path):
    session = make_session()
    result = export_stems(session, tmp_path, format="wav", bit_depth=24)
    assert [p.name for p in result.paths] == ["01-drums-drums.wav", "02-bass-sub-bass.wav", "03-melody-lead-synth-2.wav"]
    assert listing(tmp_path) == [p.name for p in result.paths]  # no temp files left
    for p in result.paths:
        assert read(p).shape == (session.num_samples, 2)


@pytest.mark.parametrize("target_lufs", [None, -18.0])
@pytest.mark.parametrize("fmt,bits", [("wav", 24), ("flac", 16)])
def test_stems_sum_to_the_mix(tmp_path, fmt, bits, target_lufs):
    session = make_session()
    mix = export_mix(session, tmp_path / f"mix.{fmt}", bit_depth=bits, target_lufs=target_lufs)
    (tmp_path / "stems").mkdir()
    stems = export_stems(session, tmp_path / "stems", format=fmt, bit_depth=bits, target_lufs=target_lufs)
    assert stems.gain_db == pytest.approx(mix.gain_db)
    total = sum(read(p) for p in stems.paths)
    step = 2.0 ** -(bits - 1)
    assert np.max(np.abs(total - read(mix.path))) <= (len(stems.paths) + 1) * step / 2 + 1e-12
    assert np.max(np.abs(read(mix.path))) > 0.01  # not a trivially silent export


@pytest.mark.parametrize("suffix,fmt", [(".wav", "WAV"), (".flac", "FLAC"), (".WAV", "WAV")])
@pytest.mark.parametrize("bits,subtype", [(16, "PCM_16"), (24, "PCM_24")])
def test_format_from_suffix_and_bit_depth(tmp_path, suffix, fmt, bits, subtype):
    path = export_mix(make_session(), tmp_path / f"mix{suffix}", bit_depth=bits).path
    info = sf.info(str(path))
    assert (info.format, info.subtype, info.channels, info.samplerate) == (fmt, subtype, 2, SR)


def test_stem_subtype_follows_the_options(tmp_path):
    result = export_stems(make_session(), tmp_path, format="flac", bit_depth=16)
    assert {(sf.info(str(p)).format, sf.info(str(p)).subtype) for p in result.paths} == {("FLAC", "PCM_16")}


def test_unnormalised_mix_is_the_mixer_output(tmp_path):
    from tracks.mixer import render_mix

    session = make_session()
    result = export_mix(session, tmp_path / "mix.wav", bit_depth=24)
    assert result.gain_db == 0.0 and result.notes == ()
    assert np.max(np.abs(read(result.path) - render_mix(session))) <= 2.0 ** -24 + 1e-9


# --- loudness and peaks ----------------------------------------------------------------------------
@pytest.mark.parametrize("target", [-23.0, -16.0])
def test_loudness_reaches_the_target(tmp_path, target):
    result = export_mix(make_session(amp=0.05), tmp_path / "mix.wav", target_lufs=target)
    measured = pyloudnorm.Meter(SR).integrated_loudness(read(result.path))
    assert abs(measured - target) < 0.5
    assert result.lufs == pytest.approx(target) and result.notes == ()
    assert result.peak_dbfs <= -1.0


def test_a_loud_target_goes_through_the_true_peak_limiter(tmp_path):
    """A click far above the average level used to hold the whole mix back; the limiter now
    takes the click down and the mix reaches its target, its true peak under -1 dBTP."""
    from tracks.limiter import true_peak

    session = make_session()
    spike = np.zeros((session.num_samples, 2), np.float32)
    spike[1000:1010] = 0.9  # a click far above the average level
    session.add_track(Track("Click", "other")).add_take(Take(spike))
    result = export_mix(session, tmp_path / "mix.wav", target_lufs=-6.0)
    audio = read(result.path)
    assert 20 * math.log10(true_peak(audio)) <= -1.0 + 0.02  # 24-bit quantisation
    assert result.peak_dbfs <= -1.0
    measured = pyloudnorm.Meter(SR).integrated_loudness(audio)
    assert measured == pytest.approx(result.lufs, abs=0.5)
    if result.notes:  # not reached: it says how loud it got, and why
        assert "as loud as it gets" in result.notes[0] and result.lufs < -6.0
    else:
        assert measured == pytest.approx(-6.0, abs=0.5)


def test_an_export_at_minus_9_lufs_never_exceeds_minus_1_dbtp(tmp_path):
    from engine.context import MusicalContext
    from resonant_studio.generation.plan import generate
    from resonant_studio.generation.studio import new_session
    from tracks.limiter import true_peak

    session = new_session("dark techno 128 bpm in A minor", context=MusicalContext(tempo=128.0, bars=8))
    generate(session, seed=3)
    result = export_mix(session, tmp_path / "loud.wav", target_lufs=-9.0)
    audio, _ = sf.read(str(result.path), dtype="float64", always_2d=True)
    assert 20 * math.log10(true_peak(audio)) <= -1.0 + 0.02
    assert pyloudnorm.Meter(session.sample_rate).integrated_loudness(audio) == pytest.approx(-9.0, abs=0.5)


@pytest.mark.parametrize("bits", [16, 24])
def test_a_mix_that_would_clip_is_turned_down_never_clipped(tmp_path, bits):
    session = make_session(amp=0.6)
    for track in session.tracks:
        track.gain_db = 9.0  # sums far past full scale
    result = export_mix(session, tmp_path / "mix.wav", bit_depth=bits)
    audio = read(result.path)
    assert np.max(np.abs(audio)) < 1.0
    assert 20 * math.log10(np.max(np.abs(audio))) == pytest.approx(-1.0, abs=0.01)
    assert result.gain_db < 0 and "would have clipped" in result.notes[0]


def test_stems_that_cancel_in_the_mix_still_never_clip(tmp_path):
    session = Session(CONTEXT, sample_rate=SR)
    loud = _tone(200, session.num_samples, 0.95, 5)
    session.add_track(Track("Up", "other", gain_db=6)).add_take(Take(loud))
    session.add_track(Track("Down", "other", gain_db=6)).add_take(Take(-loud))  # the mix is silence
    result = export_stems(session, tmp_path, format="wav", bit_depth=24)
    for p in result.paths:
        assert 20 * math.log10(np.max(np.abs(read(p)))) <= -1.0 + 1e-6


def test_a_silent_mix_with_a_target_is_written_and_explained(tmp_path):
    session = Session(CONTEXT, sample_rate=SR)
    session.add_track(Track("Silence", "other")).add_take(Take(np.zeros((session.num_samples, 2))))
    result = export_mix(session, tmp_path / "mix.flac", target_lufs=-14)
    assert result.lufs is None and result.gain_db == 0.0 and "not normalised" in result.notes[0]
    assert not np.any(read(result.path))


# --- names -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,slug", [
    ("Lead Synth #2", "lead-synth-2"), ("Ünïcödé Bäss", "unicode-bass"), ("a/b\\c:d*e?f", "a-b-c-d-e-f"),
    ("???", "track"), ("CON", "con"), ("x" * 80, "x" * 40), ("  spaced   out  ", "spaced-out"),
])
def test_slugify_is_safe_on_every_filesystem(name, slug):
    assert slugify(name) == slug


# --- failures ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,phrase", [
    ({"format": "ogg"}, "choose wav, flac or mp3"),
    ({"bit_depth": 20}, "choose 16, 24 or 32"),
    ({"target_lufs": 3.0}, "out of range"),
    ({"target_lufs": float("nan")}, "out of range"),
])
def test_bad_options_are_refused(tmp_path, kwargs, phrase):
    with pytest.raises(ExportError, match=phrase):
        export_stems(make_session(), tmp_path, **kwargs)
    assert listing(tmp_path) == []


def test_mix_format_must_be_known_and_agree_with_the_name(tmp_path):
    with pytest.raises(ExportError, match="name it .wav, .flac or .mp3"):
        export_mix(make_session(), tmp_path / "mix.ogg")
    with pytest.raises(ExportError, match="make the two agree"):
        export_mix(make_session(), tmp_path / "mix.wav", format="flac")
    assert export_mix(make_session(), tmp_path / "mix", format="flac").path == tmp_path / "mix"
    assert sf.info(str(tmp_path / "mix")).format == "FLAC"


def test_nothing_audible_is_refused(tmp_path):
    session = make_session()
    for track in session.tracks:
        track.muted = True
    with pytest.raises(ExportError, match="no audible track has a take"):
        export_mix(session, tmp_path / "mix.wav")
    assert listing(tmp_path) == []


def test_missing_folder_is_one_sentence(tmp_path):
    with pytest.raises(ExportError, match=r"^cannot write to .*nowhere: the folder does not exist$"):
        export_stems(make_session(), tmp_path / "nowhere" / "stems")
    with pytest.raises(ExportError, match=r"^cannot write to .*nowhere: the folder does not exist$"):
        export_mix(make_session(), tmp_path / "nowhere" / "mix.wav")
    assert listing(tmp_path) == []


def test_a_stems_folder_is_made_beside_an_existing_one_and_removed_on_failure(tmp_path, monkeypatch):
    result = export_stems(make_session(), tmp_path / "Song-stems")
    assert [p.parent for p in result.paths] == [tmp_path / "Song-stems"] * 3
    import tracks.atomic

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tracks.atomic.tempfile, "mkstemp", denied)
    with pytest.raises(ExportError, match="permission denied"):
        export_stems(make_session(), tmp_path / "Other-stems")
    assert listing(tmp_path) == ["Song-stems"]


def test_folder_inside_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ExportError, match="it is a file, not a folder"):
        export_mix(make_session(), tmp_path / "file" / "mix.wav")


def test_permission_denied_leaves_no_files(tmp_path, monkeypatch):
    import tracks.atomic

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tracks.atomic.tempfile, "mkstemp", denied)
    with pytest.raises(ExportError, match=r"^cannot write to .*01-drums-drums\.wav: permission denied$"):
        export_stems(make_session(), tmp_path)
    assert listing(tmp_path) == []


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores folder permissions")
def test_read_only_folder(tmp_path):
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(ExportError, match="permission denied"):
            export_mix(make_session(), tmp_path / "mix.wav")
    finally:
        tmp_path.chmod(0o700)


def _full_disk_on_file(monkeypatch, n: int) -> list:
    """Make the ``n``-th file written run out of space part way (as ENOSPC from write())."""
    import tracks.audio_write

    real, files = tracks.audio_write.write_chunk, []

    def write(f, data):
        if f not in files:
            files.append(f)
        if len(files) == n and f.tell() > 1000:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(f, data)

    monkeypatch.setattr(tracks.audio_write, "write_chunk", write)
    return files


def test_a_failure_part_way_through_stems_leaves_the_folder_as_it_was(tmp_path, monkeypatch):
    session = make_session()
    first = export_stems(session, tmp_path, format="wav", bit_depth=16)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    _full_disk_on_file(monkeypatch, 3)
    with pytest.raises(ExportError, match=r"^cannot write to .*03-[a-z0-9-]+\.wav: no space left on device$"):
        export_stems(session, tmp_path, format="wav", bit_depth=24)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert all(sf.info(str(p)).subtype == "PCM_16" for p in first.paths)


def test_mix_and_stems_are_all_or_nothing(tmp_path, monkeypatch):
    """A full disk on the last stem leaves no new mix either (the issue's render left p.wav)."""
    session = make_session()
    _full_disk_on_file(monkeypatch, 4)  # mix, stem 1, stem 2, stem 3
    with pytest.raises(ExportError, match="no space left on device"):
        export_all(session, mix_path=tmp_path / "p.wav", stems_dir=tmp_path / "p-stems")
    assert listing(tmp_path) == []
    monkeypatch.undo()
    result = export_all(session, mix_path=tmp_path / "p.wav", stems_dir=tmp_path / "p-stems")
    assert result.paths[0] == tmp_path / "p.wav" and len(result.paths) == 4
    assert all(p.is_file() for p in result.paths)


def test_a_rename_failing_part_way_puts_back_every_file_it_replaced(tmp_path, monkeypatch):
    session = make_session()
    export_all(session, mix_path=tmp_path / "p.wav", stems_dir=tmp_path / "stems", bit_depth=16)
    before = {str(p.relative_to(tmp_path)): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    real_replace, renames = os.replace, []

    def flaky(src, dst):
        if not str(src).endswith(".tmp") or not str(dst).endswith(".tmp"):  # not a roll-back
            renames.append(dst)
            if len(renames) == 3:
                raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", flaky)
    with pytest.raises(ExportError, match="input/output error"):
        export_all(session, mix_path=tmp_path / "p.wav", stems_dir=tmp_path / "stems", bit_depth=24)
    monkeypatch.undo()
    after = {str(p.relative_to(tmp_path)): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before


@pytest.mark.skipif(not hasattr(os, "umask"), reason="POSIX permissions")
@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_exports_get_the_users_umask_permissions_not_0600(tmp_path, umask):
    old = os.umask(umask)
    try:
        result = export_all(make_session(), mix_path=tmp_path / "mix.flac", stems_dir=tmp_path / "stems")
    finally:
        os.umask(old)
    modes = {oct(p.stat().st_mode & 0o777) for p in result.paths}
    assert modes == {oct(0o666 & ~umask)}


def test_a_render_stages_the_export_saves_the_project_then_commits(tmp_path, monkeypatch):
    """The pattern the app's render uses: a failed save leaves neither project nor export."""
    from tracks import ProjectError
    from tracks.export import stage_export
    from tracks.file_set import FileSet
    from tracks.project import load_project, save_project

    session = make_session()
    files = FileSet()
    result, made = stage_export(files, session, mix_path=tmp_path / "p.wav", stems_dir=tmp_path / "p-stems")
    _full_disk_on_file(monkeypatch, 1)  # the project's first take file
    with pytest.raises(ProjectError, match="no space left on device"):
        try:
            save_project(session, tmp_path / "p")
        except BaseException:
            files.discard()
            if made is not None:
                made.rmdir()
            raise
    assert listing(tmp_path) == []
    monkeypatch.undo()
    files = FileSet()
    result, _ = stage_export(files, session, mix_path=tmp_path / "p.wav", stems_dir=tmp_path / "p-stems")
    save_project(session, tmp_path / "p")
    files.commit()
    assert all(p.is_file() for p in result.paths) and load_project(tmp_path / "p")


def test_an_export_that_cannot_fit_in_memory_is_refused_before_rendering(tmp_path, monkeypatch):
    """The longest session the limits allow (9.1 hours) with one short take: a sentence, not an OOM."""
    import tracks.export
    import tracks.mixer

    session = Session({"tempo": 30.0, "bars": 512, "meter": [16, 2]}, sample_rate=96000)
    session.add_track(Track("Drums", "drums")).add_take(Take(np.zeros((100, 2), np.float32)))
    monkeypatch.setattr(tracks.mixer, "render_stems", lambda s: pytest.fail("rendered"))
    monkeypatch.setattr(tracks.export, "memory_budget", lambda: 8 << 30)
    with pytest.raises(ExportError, match=r"^cannot export: the session lasts 9\.1 hours and rendering it would "
                                          r"need about 93\.8 GB of memory, more than this machine can spare"):
        export_all(session, mix_path=tmp_path / "mix.wav")
    assert listing(tmp_path) == []


@pytest.mark.parametrize("bad,phrase", [("a\0b.wav", "a path cannot hold a NUL character"),
                                        ("x" * 5000 + ".wav", "file name too long")])
def test_unusable_export_paths_are_one_sentence(tmp_path, bad, phrase):
    for kwargs in ({"mix_path": tmp_path / bad}, {"stems_dir": tmp_path / bad}):
        with pytest.raises(ExportError, match=phrase):
            export_all(make_session(), **kwargs)
    assert listing(tmp_path) == []


def test_mp3_and_32_bit_float_exports(tmp_path):
    session = make_session(amp=0.3)
    mp3 = export_mix(session, tmp_path / "mix.mp3")
    info = sf.info(str(mp3.path))
    assert info.format == "MP3" and info.frames > 0.9 * session.num_samples
    flt = export_mix(session, tmp_path / "mix.wav", bit_depth=32)
    assert sf.info(str(flt.path)).subtype == "FLOAT"
    data, _ = sf.read(str(flt.path), dtype="float32", always_2d=True)
    assert np.max(np.abs(data)) > 0.05 and data.dtype == np.float32
    with pytest.raises(ExportError, match="FLAC holds no 32-bit float"):
        export_mix(session, tmp_path / "mix.flac", bit_depth=32)
    assert not (tmp_path / "mix.flac").exists()
