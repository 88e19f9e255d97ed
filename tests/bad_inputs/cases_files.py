"""Bad audio files and bad projects: the tables of the corpus (see test_bad_inputs.py)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from tests.bad_inputs.makers import (deep_json, fifo, loop, sparse, wav_header, write_float_wav,
                                     write_pcm_wav)

# --- audio: name -> maker(folder) -> path of the bad file ---------------------------------

def _bytes(name: str, data: bytes):
    def make(d: Path) -> Path:
        (d / name).write_bytes(data)
        return d / name
    return make


def _float(name: str, fill, rate: int = 22050):
    def make(d: Path) -> Path:
        x = (0.1 * np.sin(np.arange(22050) / 10.0)).astype(np.float32)
        fill(x)
        return write_float_wav(d / name, x, rate)
    return make


def _header(name: str, **kw):
    def make(d: Path) -> Path:
        (d / name).write_bytes(wav_header(**kw) + b"\0" * 4096)
        return d / name
    return make


def _set(idx, value):
    def fill(x):
        x[idx] = value
    return fill


def _mkdir(d: Path) -> Path:
    (d / "folder.wav").mkdir()
    return d / "folder.wav"


def _truncated_flac(d: Path) -> Path:
    import soundfile as sf
    good = d / "tmp.flac"
    sf.write(good, np.zeros(44100, dtype=np.float32) + 0.1, 44100)
    data = good.read_bytes()
    good.unlink()
    (d / "cut.flac").write_bytes(data[: len(data) // 3])
    return d / "cut.flac"


def _renamed_text(d: Path) -> Path:
    (d / "notes.wav").write_text("these are my notes, not audio\n" * 50)
    return d / "notes.wav"


def _dangling(d: Path) -> Path:
    os.symlink("nowhere.wav", d / "dangling.wav")
    return d / "dangling.wav"


AUDIO = {
    "zero_length": _bytes("empty.wav", b""),
    "riff_only": _bytes("riff.wav", b"RIFF"),
    "header_only": _header("hdr.wav", data_bytes=10_000_000),
    "truncated_data": lambda d: _bytes("cut.wav", write_pcm_wav(d / "x.wav").read_bytes()[:3000])(d),
    "random_bytes": _bytes("noise.wav", b"\x00" + np.random.default_rng(1).bytes(20000)),
    "text_as_wav": _renamed_text,
    "png_as_wav": _bytes("pic.wav", b"\x89PNG\r\n\x1a\n" + b"\0" * 2000),
    "zip_as_flac": _bytes("a.flac", b"PK\x03\x04" + b"\0" * 2000),
    "mp3_garbage": _bytes("a.mp3", b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff" * 3000),
    "ogg_garbage": _bytes("a.ogg", b"OggS" + b"\x01" * 3000),
    "flac_magic_only": _bytes("m.flac", b"fLaC"),
    "flac_truncated": _truncated_flac,
    "too_short_0_1s": lambda d: write_pcm_wav(d / "short.wav", seconds=0.1),
    "rate_1hz": lambda d: write_float_wav(d / "slow.wav", np.full(64, 0.1), rate=1),
    "rate_0hz": _header("r0.wav", rate=0, data_bytes=4096),
    "rate_384k_8ch_huge": lambda d: sparse(d / "big.wav", 4096, wav_header(
        rate=384000, channels=8, bits=16, data_bytes=0xFFFFFFF0)),
    "channels_0": _header("c0.wav", channels=0, data_bytes=4096),
    "channels_65535": _header("c65k.wav", channels=65535, data_bytes=4096),
    "bits_7": _header("b7.wav", bits=7, data_bytes=4096),
    "format_tag_unknown": _header("tag.wav", tag=0x1234, data_bytes=4096),
    "nan_samples": _float("nan.wav", _set(slice(100, 200), np.nan)),
    "inf_samples": _float("inf.wav", _set(500, np.inf)),
    "neg_inf_samples": _float("ninf.wav", _set(-1, -np.inf)),
    "samples_1e30": _float("huge.wav", _set(slice(None), 1e30)),
    "one_frame": lambda d: write_float_wav(d / "one.wav", np.array([0.1])),
    "fifo": lambda d: fifo(d / "pipe.wav"),
    "dev_zero_link": lambda d: (os.symlink("/dev/zero", d / "zero.wav"), d / "zero.wav")[1],
    "symlink_loop": lambda d: loop(d / "loop.wav"),
    "dangling_symlink": _dangling,
    "directory": _mkdir,
    "missing": lambda d: d / "not-here.wav",
    "bits_12": _header("b12.wav", bits=12, data_bytes=4096),
    "float_bits_16": _header("f16.wav", tag=3, bits=16, data_bytes=4096),
    "cut_to_40_percent": lambda d: _bytes("cut40.wav", write_pcm_wav(d / "x.wav", seconds=1.0).read_bytes()[:17684])(d),
    "mp3_sync_garbage": _bytes("sync.mp3", b"\xff\xfb\x90\x00" + bytes(range(256)) * 20),
    "sparse_2gb_wav": lambda d: sparse(d / "s.wav", 2 << 30, wav_header(
        rate=384000, channels=8, bits=16, data_bytes=(2 << 30) - 44)),
}

# --- projects: name -> (mutate(session_dict, project_dir), commands) -------------------------

INFO, REGEN, EXPORT, LOCK = "info", "regenerate", "export", "lock"
LOAD = (REGEN,)
"""Regenerate opens the project (the door every command shares) and then uses it: one case judges both."""
AUDIO_CMDS = (EXPORT, REGEN)


def _ctx(key, value):
    def mutate(s, p):
        s["context"][key] = value
    return mutate


def _top(key, value):
    def mutate(s, p):
        s[key] = value
    return mutate


def _track(key, value):
    def mutate(s, p):
        s["tracks"][0][key] = value
    return mutate


def _take(key, value):
    def mutate(s, p):
        s["tracks"][0]["takes"][0][key] = value
    return mutate


def _del(*keys):
    def mutate(s, p):
        node = s
        for k in keys[:-1]:
            node = node[k]
        del node[keys[-1]]
    return mutate


def _sub(pattern: str, replacement: str):
    """Rewrite session.json's text (for what json.dumps cannot write); the pattern must match."""
    def mutate(s, p):
        import re
        text, n = re.subn(pattern, replacement, json.dumps(s), count=1)
        assert n == 1, pattern
        (p / "session.json").write_text(text)
        return "raw"
    return mutate


def _raw(text: str):
    def mutate(s, p):
        (p / "session.json").write_text(text)
        return "raw"
    return mutate


def _take_file(p: Path, s) -> Path:
    take = s["tracks"][0]["takes"][0]["id"]
    return p / "takes" / f"{take}.flac"


def _take_content(maker):
    def mutate(s, p):
        f = _take_file(p, s)
        f.unlink()
        os.rename(maker(f.parent), f)
    return mutate


def _take_missing(s, p):
    _take_file(p, s).unlink()


def _take_is_symlink_out(s, p):
    f = _take_file(p, s)
    outside = p.parent / "outside" / "holiday.flac"
    outside.parent.mkdir(exist_ok=True)
    shutil.copy(f, outside)
    f.unlink()
    os.symlink(outside, f)


def _takes_dir_symlink_out(s, p):
    outside = p.parent / "outside-takes"
    shutil.move(p / "takes", outside)
    os.symlink(outside, p / "takes")


def _session_special(kind):
    def mutate(s, p):
        f = p / "session.json"
        f.unlink()
        if kind == "fifo":
            os.mkfifo(f)
        elif kind == "dir":
            f.mkdir()
        elif kind == "dev_zero":
            os.symlink("/dev/zero", f)
        elif kind == "loop":
            loop(f)
        elif kind == "sparse":
            sparse(f, 1 << 30, b'{"schema_version": 1, "name": "')
        elif kind == "outside":
            out = p.parent / "elsewhere.json"
            out.write_text(json.dumps(s))
            os.symlink(out, f)
        return "raw"
    return mutate


def _dup_track_ids(s, p):
    s["tracks"][1]["id"] = s["tracks"][0]["id"]


def _many_chords(s, p):
    s["context"]["chords"] = [{"root": 0, "quality": "maj"}] * 200000


BIG_DIGITS = "9" * 5000
PROJECTS = {
    "session_missing": (lambda s, p: ((p / "session.json").unlink(), "raw")[1], LOAD),
    "session_empty": (_raw(""), LOAD),
    "session_not_json": (_raw("{this is not json"), LOAD),
    "session_truncated": (_raw('{"schema_version": 1, "name": "p", "context": {"tempo": 12'), LOAD),
    "session_array": (_raw("[1, 2, 3]"), LOAD),
    "session_null": (_raw("null"), LOAD),
    "session_nan_literal": (_sub(r'"tempo": [0-9.]+', '"tempo": NaN'), LOAD),
    "session_infinity_literal": (_sub(r'"energy": [0-9.]+', '"energy": Infinity'), LOAD),
    "tempo_5000_digits": (_sub(r'"tempo": [0-9.]+', f'"tempo": {BIG_DIGITS}'), LOAD),
    "gain_400_digit_float": (_sub(r'"gain_db": [0-9.]+', '"gain_db": 1' + "0" * 400 + ".5"), LOAD),
    "deep_nesting": (_sub(r'"tags": \[[^\]]*\]', '"tags": ' + deep_json(50000)), LOAD),
    "session_fifo": (_session_special("fifo"), LOAD),
    "session_dir": (_session_special("dir"), LOAD),
    "session_dev_zero": (_session_special("dev_zero"), LOAD),
    "session_loop": (_session_special("loop"), LOAD),
    "session_sparse_1gb": (_session_special("sparse"), LOAD),
    "session_symlink_out": (_session_special("outside"), LOAD),
    "schema_999": (_top("schema_version", 999), LOAD),
    "schema_string": (_top("schema_version", "1"), LOAD),
    "schema_missing": (_del("schema_version"), LOAD),
    "sample_rate_0": (_top("sample_rate", 0), LOAD),
    "sample_rate_negative": (_top("sample_rate", -44100), LOAD),
    "sample_rate_string": (_top("sample_rate", "44100"), LOAD),
    "sample_rate_1e9": (_top("sample_rate", 1_000_000_000), LOAD),
    "sample_rate_bool": (_top("sample_rate", True), LOAD),
    "name_number": (_top("name", 123), LOAD),
    "tracks_not_list": (_top("tracks", {"a": 1}), LOAD),
    "context_missing": (_del("context"), LOAD),
    "context_list": (_top("context", [1, 2]), LOAD),
    "tempo_0": (_ctx("tempo", 0), LOAD),
    "tempo_negative": (_ctx("tempo", -5), LOAD),
    "tempo_20": (_ctx("tempo", 20), LOAD),
    "tempo_1000": (_ctx("tempo", 1000), LOAD),
    "tempo_1e308": (_ctx("tempo", 1e308), LOAD),
    "tempo_string": (_ctx("tempo", "fast"), LOAD),
    "meter_zero": (_ctx("meter", [0, 4]), LOAD),
    "meter_short": (_ctx("meter", [4]), LOAD),
    "meter_denominator_0": (_ctx("meter", [4, 0]), LOAD),
    "meter_string": (_ctx("meter", "4/4"), LOAD),
    "meter_float": (_ctx("meter", [4, 3.5]), LOAD),
    "tonic_12": (_ctx("tonic", 12), LOAD),
    "tonic_negative": (_ctx("tonic", -1), LOAD),
    "tonic_string": (_ctx("tonic", "A"), LOAD),
    "mode_klingon": (_ctx("mode", "klingon"), LOAD),
    "mode_null": (_ctx("mode", None), LOAD),
    "bars_0": (_ctx("bars", 0), LOAD),
    "bars_100000": (_ctx("bars", 100000), LOAD),
    "bars_negative": (_ctx("bars", -3), LOAD),
    "bars_float": (_ctx("bars", 8.5), LOAD),
    "chords_not_list": (_ctx("chords", "Am F C G"), LOAD),
    "chord_root_99": (lambda s, p: s["context"]["chords"][0].update(root=99), LOAD),
    "chord_quality_klingon": (lambda s, p: s["context"]["chords"][0].update(quality="klingon"), LOAD),
    "chords_200000": (_many_chords, LOAD),
    "energy_5": (_ctx("energy", 5), LOAD),
    "energy_string": (_ctx("energy", "high"), LOAD),
    "instruments_list": (_ctx("instruments", ["909"]), LOAD),
    "instrument_number": (_ctx("instruments", {"drums": 5}), LOAD),
    "roles_klingon": (_ctx("roles", ["kazoo"]), LOAD),
    "roles_not_list": (_ctx("roles", "drums"), LOAD),
    "duration_3600": (_ctx("duration_seconds", 3600), LOAD),
    "duration_negative": (_ctx("duration_seconds", -1), LOAD),
    "duration_1e300": (_ctx("duration_seconds", 1e300), LOAD),
    "track_id_missing": (_del("tracks", 0, "id"), LOAD),
    "track_role_klingon": (_track("role", "klingon"), LOAD),
    "track_locked_string": (_track("locked", "yes"), LOAD),
    "track_gain_1e308": (_track("gain_db", 1e308), LOAD),
    "track_pan_5": (_track("pan", 5), LOAD),
    "track_active_take_99": (_track("active_take", 99), LOAD),
    "track_active_take_negative": (_track("active_take", -1), LOAD),
    "track_takes_not_list": (_track("takes", "none"), LOAD),
    "duplicate_track_ids": (_dup_track_ids, LOAD),
    "take_id_dotdot": (_take("id", "../../../outside"), LOAD),
    "take_id_absolute": (_take("id", "/etc/passwd"), LOAD),
    "take_id_slash": (_take("id", "a/b"), LOAD),
    "take_id_number": (_take("id", 7), LOAD),
    "take_seed_string": (_take("seed", "lucky"), LOAD),
    "take_file_missing": (_take_missing, LOAD),
    "take_file_symlink_out": (_take_is_symlink_out, AUDIO_CMDS),
    "takes_dir_symlink_out": (_takes_dir_symlink_out, AUDIO_CMDS),
    "take_file_directory": (_take_content(lambda d: (d / "x").mkdir() or d / "x"), AUDIO_CMDS),
    "take_file_fifo": (_take_content(lambda d: fifo(d / "x")), AUDIO_CMDS),
    "take_file_garbage": (_take_content(lambda d: ((d / "x").write_bytes(b"\0" * 999), d / "x")[1]), AUDIO_CMDS),
    "take_file_truncated_flac": (_take_content(AUDIO["flac_truncated"]), AUDIO_CMDS),
    "take_file_nan": (_take_content(lambda d: AUDIO["nan_samples"](d)), AUDIO_CMDS),
    "take_file_1hz": (_take_content(lambda d: AUDIO["rate_1hz"](d)), AUDIO_CMDS),
    "take_file_dev_zero": (_take_content(lambda d: AUDIO["dev_zero_link"](d)), AUDIO_CMDS),
}
