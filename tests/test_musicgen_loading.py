"""Checkpoint folders: conversion and caching, and one clear sentence for every broken folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from engine.errors import ModelError
from engine.musicgen.model import load_model
from engine.musicgen.pipeline import MusicGenPipeline
from engine.musicgen.sampling import SamplingParams

TINY = Path(__file__).parent / "fixtures" / "musicgen-tiny"


def copy_fixture(tmp_path: Path, without: tuple[str, ...] = ()) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(TINY, folder, ignore=shutil.ignore_patterns("reference", *without))
    return folder


def one_sentence(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text and "Traceback" not in text
    assert 20 < len(text) < 300
    return text


def test_missing_folder(tmp_path):
    with pytest.raises(ModelError) as exc:
        load_model(tmp_path / "nowhere", cache_dir=tmp_path)
    assert "does not exist" in one_sentence(exc)


def test_folder_without_config(tmp_path):
    folder = copy_fixture(tmp_path, without=("config.json",))
    with pytest.raises(ModelError) as exc:
        load_model(folder, cache_dir=tmp_path)
    assert "config.json" in one_sentence(exc)


def test_folder_without_model_safetensors(tmp_path):
    folder = copy_fixture(tmp_path, without=("model.safetensors",))
    (folder / "pytorch_model.bin").write_bytes(b"not read")
    with pytest.raises(ModelError) as exc:
        load_model(folder, cache_dir=tmp_path)
    text = one_sentence(exc)
    assert "model.safetensors" in text and "pickle" in text


@pytest.mark.parametrize("keep", [4, 100, 0.5, 0.999])
def test_truncated_safetensors(tmp_path, keep):
    folder = copy_fixture(tmp_path)
    data = (folder / "model.safetensors").read_bytes()
    cut = int(len(data) * keep) if isinstance(keep, float) else keep
    (folder / "model.safetensors").write_bytes(data[:cut])
    with pytest.raises(ModelError) as exc:
        load_model(folder, cache_dir=tmp_path / "cache")
    assert "truncated" in one_sentence(exc)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_unknown_architecture(tmp_path):
    folder = copy_fixture(tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config["architectures"] = ["BertForMaskedLM"]
    config["model_type"] = "bert"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError) as exc:
        load_model(folder, cache_dir=tmp_path)
    text = one_sentence(exc)
    assert "BertForMaskedLM" in text and "MusicGen" in text


def test_config_that_does_not_match_the_weights(tmp_path):
    folder = copy_fixture(tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config["decoder"]["num_hidden_layers"] += 1
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError) as exc:
        load_model(folder, cache_dir=tmp_path)
    assert "3 decoder layers" in one_sentence(exc) and "hold 2" in str(exc.value)


@pytest.mark.parametrize("part,key,value", [
    ("decoder", "num_hidden_layers", 200_000),
    ("text_encoder", "num_layers", 200_000),
    ("decoder", "num_codebooks", 40_000),
    ("decoder", "vocab_size", 10**9),
    ("decoder", "ffn_dim", 10**8),
    ("text_encoder", "d_ff", 10**8),
])
def test_an_absurd_config_is_refused_before_anything_is_built(tmp_path, monkeypatch, part, key, value):
    import engine.musicgen.model as model_module

    def no_build(*a, **k):
        raise AssertionError("the model was built before its config was checked against the weights")

    monkeypatch.setattr(model_module, "MusicGen", no_build)
    folder = copy_fixture(tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config[part][key] = value
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError) as exc:
        load_model(folder, cache_dir=tmp_path / "cache")
    assert "config" in one_sentence(exc)


def _sharded(folder: Path, names: dict[str, str]) -> None:
    from safetensors.numpy import load_file

    weights = load_file(str(folder / "model.safetensors"))
    (folder / "model.safetensors").unlink()
    keys = sorted(weights)
    (folder / "model.safetensors.index.json").write_text(json.dumps(
        {"weight_map": {k: names.get(k, "model-00001-of-00001.safetensors") for k in keys}}))


def _fixture_and_its_weights(tmp_path: Path) -> tuple[Path, dict]:
    """A copy of the tiny fixture, and the tensors of its model.safetensors."""
    from safetensors.numpy import load_file

    folder = copy_fixture(tmp_path)
    return folder, load_file(str(folder / "model.safetensors"))


def _refusal(folder: Path, tmp_path: Path) -> str:
    """The one sentence with which loading `folder` is refused."""
    with pytest.raises(ModelError) as exc:
        load_model(folder, cache_dir=tmp_path / "cache")
    return one_sentence(exc)


@pytest.mark.parametrize("name", ["../outside.safetensors", "/etc/passwd", "sub/inner.safetensors", "..", 7])
def test_an_index_may_only_name_files_inside_the_folder(tmp_path, name):
    from safetensors.numpy import save_file

    folder, weights = _fixture_and_its_weights(tmp_path)
    save_file(weights, str(tmp_path / "outside.safetensors"))
    (folder / "sub").mkdir()
    save_file(weights, str(folder / "sub" / "inner.safetensors"))
    first = sorted(weights)[0]
    save_file(weights, str(folder / "model-00001-of-00001.safetensors"))
    _sharded(folder, {first: name})
    assert "not a plain file name" in _refusal(folder, tmp_path)


def test_an_index_may_not_follow_a_link_out_of_the_folder(tmp_path):
    from safetensors.numpy import save_file

    folder, weights = _fixture_and_its_weights(tmp_path)
    save_file(weights, str(tmp_path / "elsewhere.safetensors"))
    (folder / "model-00001-of-00001.safetensors").symlink_to(tmp_path / "elsewhere.safetensors")
    _sharded(folder, {})
    assert "leads out of the model folder" in _refusal(folder, tmp_path)


def test_sharded_checkpoint_loads_like_the_single_file(tmp_path):
    from safetensors.numpy import save_file

    folder, weights = _fixture_and_its_weights(tmp_path)
    (folder / "model.safetensors").unlink()
    names = sorted(weights)
    shards = {"model-00001-of-00002.safetensors": names[::2], "model-00002-of-00002.safetensors": names[1::2]}
    weight_map = {}
    for shard, keys in shards.items():
        save_file({k: weights[k] for k in keys}, str(folder / shard), metadata={"format": "pt"})
        weight_map.update({k: shard for k in keys})
    (folder / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    sharded = MusicGenPipeline.load(folder, cache_dir=tmp_path / "c1")
    single = MusicGenPipeline.load(TINY, cache_dir=tmp_path / "c2")
    ids, mask = single.tokenizer(["lofi"])
    import mlx.core as mx

    a = sharded.model.encode_text(mx.array(ids), mx.array(mask))
    b = single.model.encode_text(mx.array(ids), mx.array(mask))
    np.testing.assert_array_equal(np.array(a), np.array(b))


def test_conversion_is_cached_and_reused(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    load_model(TINY, cache_dir=cache)
    files = list(cache.glob("*.safetensors"))
    assert len(files) == 1 and "float32" in files[0].name

    import engine.musicgen.checkpoint as checkpoint

    def no_reread(folder):
        raise AssertionError("the Hugging Face weights were read again")

    monkeypatch.setattr(checkpoint, "read_weights", no_reread)
    model, _ = load_model(TINY, cache_dir=cache)
    assert model.config.decoder.num_codebooks == 4


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_generates(tmp_path, dtype):
    pipe = MusicGenPipeline.load(TINY, dtype=dtype, cache_dir=tmp_path)
    assert any(dtype in p.name for p in tmp_path.iterdir())
    job = pipe.start(["lofi"], SamplingParams(greedy=True, cfg_coef=3.0), new_frames=4)
    for _ in job:
        pass
    audio = pipe.decode(job.codes)
    assert audio.dtype == np.float32 and audio.shape == (1, 4 * pipe.config.audio_encoder.hop_length)
    assert np.isfinite(audio).all()


def test_unknown_dtype(tmp_path):
    with pytest.raises(ModelError) as exc:
        load_model(TINY, dtype="int8", cache_dir=tmp_path)
    assert "float16" in one_sentence(exc)


@pytest.mark.parametrize("content", [b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}", b"\x02\x00\x00\x00\x00\x00\x00\x00[]"])
def test_garbage_safetensors(tmp_path, content):
    folder = copy_fixture(tmp_path)
    (folder / "model.safetensors").write_bytes(content)
    with pytest.raises(ModelError) as exc:
        load_model(folder, cache_dir=tmp_path / "cache")
    assert "safetensors" in one_sentence(exc)


def test_config_without_architectures_falls_back_on_model_type(tmp_path):
    folder = copy_fixture(tmp_path)
    config = json.loads((folder / "config.json").read_text())
    del config["architectures"]
    (folder / "config.json").write_text(json.dumps(config))
    model, _ = load_model(folder, cache_dir=tmp_path / "cache")
    assert not model.config.is_melody
