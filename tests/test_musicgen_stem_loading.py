"""Loading MusicGen-Stem folders: torch pickles read without executing anything, one sentence per bad folder."""

from __future__ import annotations

import contextlib
import shutil
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

from engine.errors import ModelError
from engine.musicgen_stem import model as stem_model
from engine.musicgen_stem.model import load_stem_model, load_stem_weights
from engine.musicgen_stem.unpickle import load_torch_file

FIXTURE = Path(__file__).parent / "fixtures" / "musicgen-stem-tiny-6cb"


def _torch_zip(path: Path, pickle_bytes: bytes, storages: dict[str, bytes] | None = None) -> Path:
    """A file laid out as torch.save writes it: archive/data.pkl + archive/data/<key>."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pickle_bytes)
        z.writestr("archive/byteorder", "little")
        for key, raw in (storages or {}).items():
            z.writestr(f"archive/data/{key}", raw)
        z.writestr("archive/version", "3\n")
    return path


def _reduce_pickle(module: str, name: str, arg: str) -> bytes:
    """Protocol-2 opcodes for ``module.name(arg)``: what a malicious checkpoint would hold."""
    return (b"\x80\x02c" + module.encode() + b"\n" + name.encode() + b"\n"
            + b"X" + len(arg.encode()).to_bytes(4, "little") + arg.encode() + b"\x85R.")


@pytest.mark.parametrize("module,name", [("os", "system"), ("posix", "system"), ("builtins", "eval"),
                                         ("subprocess", "call"), ("torch", "load")])
def test_a_pickle_naming_any_other_global_is_refused_and_nothing_runs(tmp_path, module, name):
    marker = tmp_path / "ran"
    command = f"touch {marker}" if name != "eval" else f"open({str(marker)!r}, 'w')"
    bad = _torch_zip(tmp_path / "state_dict.bin", _reduce_pickle(module, name, command))
    with pytest.raises(ModelError, match=rf"{module}\.{name}.*refused.*nothing was executed"):
        load_torch_file(bad)
    assert not marker.exists()


def test_a_stem_folder_with_a_malicious_lm_file_refuses_before_running_it(tmp_path):
    folder = tmp_path / "stem"
    shutil.copytree(FIXTURE, folder)
    marker = tmp_path / "ran"
    _torch_zip(folder / "state_dict.bin", _reduce_pickle("os", "system", f"touch {marker}"))
    with pytest.raises(ModelError, match="os.system"):
        load_stem_model(folder, cache_dir=tmp_path / "cache")
    assert not marker.exists()


def test_tensors_and_containers_are_rebuilt_from_their_storages(tmp_path):
    """A hand-made torch zip: an OrderedDict of a strided float tensor and an int tensor."""

    floats = np.arange(12, dtype=np.float32)
    ints = np.array([3, -1, 7], dtype=np.int64)

    # Build the opcodes directly: {'w': rebuild(storage0, 2, (2, 3), (1, 2)), 'i': rebuild(storage1, 0, (3,), (1,))}
    def glob(module, name):
        return b"c" + module.encode() + b"\n" + name.encode() + b"\n"

    def storage(kind, key, numel):
        pid = (b"(X\x07\x00\x00\x00storage" + glob("torch", kind) + b"X" + len(key).to_bytes(4, "little")
               + key.encode() + b"X\x03\x00\x00\x00cpuK" + bytes([numel]) + b"tQ")
        return pid

    def tensor(kind, key, numel, offset, size, stride):
        tup = lambda xs: b"(" + b"".join(b"K" + bytes([x]) for x in xs) + b"t"
        return (glob("torch._utils", "_rebuild_tensor_v2") + b"(" + storage(kind, key, numel) + b"K" + bytes([offset])
                + tup(size) + tup(stride) + b"\x89" + glob("collections", "OrderedDict") + b")RtR")

    data = (b"\x80\x02" + glob("collections", "OrderedDict") + b")R(X\x01\x00\x00\x00w"
            + tensor("FloatStorage", "0", 12, 2, (2, 3), (1, 2)) + b"X\x01\x00\x00\x00i"
            + tensor("LongStorage", "1", 3, 0, (3,), (1,)) + b"u.")
    path = _torch_zip(tmp_path / "t.bin", data, {"0": floats.tobytes(), "1": ints.tobytes()})
    out = load_torch_file(path)
    assert isinstance(out, OrderedDict) and list(out) == ["w", "i"]
    expected = np.lib.stride_tricks.as_strided(floats[2:], (2, 3), (4, 8))
    np.testing.assert_array_equal(out["w"], expected)
    np.testing.assert_array_equal(out["i"], ints)
    # A stride that reaches past the storage is refused, not read out of bounds.
    bad = data.replace(b"K\x02(K\x02K\x03t(K\x01K\x02t", b"K\x02(K\x02K\x03t(K\x01K\x09t")
    assert bad != data
    with pytest.raises(ModelError, match="past the end of its storage"):
        load_torch_file(_torch_zip(tmp_path / "bad.bin", bad, {"0": floats.tobytes(), "1": ints.tobytes()}))


def test_real_torch_exports_load_with_their_configs():
    pkg = load_torch_file(FIXTURE / "state_dict.bin")
    assert set(pkg) >= {"best_state", "xp.cfg"}
    assert all(isinstance(v, np.ndarray) for v in pkg["best_state"].values())
    assert "transformer_lm" in pkg["xp.cfg"]


@pytest.mark.parametrize("damage", ["missing_codec", "truncated_lm", "truncated_codec", "not_a_zip", "hf_folder",
                                    "no_folder", "no_t5"])
def test_wrong_partial_or_truncated_folders_get_one_sentence(tmp_path, damage):
    folder = tmp_path / "stem"
    shutil.copytree(FIXTURE, folder)
    text_dir = None
    if damage == "missing_codec":
        (folder / "compression_state_dict_drums.bin").unlink()
    elif damage in ("truncated_lm", "truncated_codec"):
        f = folder / ("state_dict.bin" if damage == "truncated_lm" else "compression_state_dict_other.bin")
        f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    elif damage == "not_a_zip":
        (folder / "state_dict.bin").write_bytes(b"\x80\x02}q\x00.")  # legacy/raw pickle, not a torch zip
    elif damage == "hf_folder":
        folder = Path(__file__).parent / "fixtures" / "musicgen-tiny"
    elif damage == "no_folder":
        folder = tmp_path / "nowhere"
    elif damage == "no_t5":
        shutil.rmtree(folder / "t5")
    with pytest.raises(ModelError) as info:
        load_stem_model(folder, text_dir=text_dir, cache_dir=tmp_path / "cache")
    message = str(info.value)
    assert message and "\n" not in message and len(message) < 400
    assert "Traceback" not in message


def test_conversion_happens_once_then_the_cache_is_read_without_unpickling(tmp_path, monkeypatch):
    first, _ = load_stem_weights(FIXTURE, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("stem-*.safetensors"))) == 1

    def refuse(*_a, **_k):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(stem_model, "load_torch_file", refuse)
    second, _ = load_stem_weights(FIXTURE, cache_dir=tmp_path)
    w1 = first.lm.decoder.lm_head.weight  # the codebook heads, fused once loaded
    w2 = second.lm.decoder.lm_head.weight
    np.testing.assert_array_equal(np.array(w1), np.array(w2))


def test_xp_cfg_references_resolve_and_foreign_ones_stay_text():
    from engine.musicgen_stem.config import parse_xp_cfg

    cfg = parse_xp_cfg("sample_rate: 32000\nencodec:\n  sample_rate: ${sample_rate}\n  name: 'x${sample_rate}'\n"
                       "user: ${oc.env:USER}\n", "t")
    assert cfg["encodec"] == {"sample_rate": 32000, "name": "x32000"} and cfg["user"] == "${oc.env:USER}"
    with pytest.raises(ModelError, match="xp.cfg is not valid YAML"):
        parse_xp_cfg("a: [1\n", "t")
    with pytest.raises(ModelError, match="circular"):
        parse_xp_cfg("a: ${b}\nb: ${a}\n", "t")


def test_a_pickle_cannot_tamper_with_the_allowed_objects_for_later_files(tmp_path):
    before = load_torch_file(FIXTURE / "compression_state_dict_bass.bin")["best_state"]
    # BUILD {'dtype': 'int8'} on torch.FloatStorage; BUILD on the rebuild function.
    storage = b"\x80\x02ctorch\nFloatStorage\n}X\x05\x00\x00\x00dtypeX\x04\x00\x00\x00int8sb."
    function = b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n}X\x07\x00\x00\x00patchedK\x01sb."
    load_torch_file(_torch_zip(tmp_path / "s.bin", storage))
    with contextlib.suppress(ModelError):
        load_torch_file(_torch_zip(tmp_path / "f.bin", function))
    after = load_torch_file(FIXTURE / "compression_state_dict_bass.bin")["best_state"]
    assert before.keys() == after.keys()
    for key in before:
        assert before[key].dtype == after[key].dtype
        np.testing.assert_array_equal(before[key], after[key])


def test_half_precision_conversion_is_cached_separately_and_generates(tmp_path):
    from engine.musicgen.sampling import SamplingParams
    from engine.musicgen_stem.pipeline import StemPipeline

    load_stem_weights(FIXTURE, cache_dir=tmp_path)
    pipe = StemPipeline.load(FIXTURE, dtype="float16", cache_dir=tmp_path)
    assert len(list(tmp_path.glob("stem-*.safetensors"))) == 2
    job = pipe.generate(["funk"], SamplingParams(seed=1), 12)
    for _ in job:
        pass
    assert job.codes.shape == (1, 6, 12) and (job.codes < 64).all()
    audio = pipe.decode(job.codes)
    assert all(np.isfinite(a).all() for a in audio.values())
    with pytest.raises(ModelError, match="unknown dtype"):
        load_stem_weights(FIXTURE, dtype="int4", cache_dir=tmp_path)
