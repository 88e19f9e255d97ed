"""config.json is checked completely at the door: bounded parsing, then every field's type and
range, then the sizes against the weights, all before anything is built (engine/musicgen/config.py,
json_files.py, checkpoint.py)."""

from __future__ import annotations

import json
import os
import struct
import typing
from pathlib import Path

import pytest

from engine.errors import ModelError
from engine.musicgen.checkpoint import check_safetensors, open_folder
from engine.musicgen.config import Activation, DecoderConfig, EncodecConfig, MusicGenConfig, T5Config
from engine.musicgen.json_files import loads, read_object
from tests.test_musicgen_loading import copy_fixture


def _edit(folder: Path, fn) -> Path:
    config = json.loads((folder / "config.json").read_text())
    fn(config)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def _refused(folder: Path) -> str:
    with pytest.raises(ModelError) as exc:
        open_folder(folder)
    text = str(exc.value)
    assert "\n" not in text and str(folder / "config.json") in text, text
    return text


@pytest.mark.parametrize("part,key,value,phrase", [
    ("decoder", "hidden_size", "big", "a valid integer"),
    ("decoder", "hidden_size", 48.0, "a valid integer"),       # a float is not a width, even a whole one
    ("decoder", "hidden_size", True, "a valid integer"),
    ("decoder", "num_attention_heads", 0, "greater than or equal to 1"),
    ("decoder", "num_hidden_layers", 200_000, "less than or equal to 1024"),
    ("decoder", "activation_function", "klingon", "'relu'"),
    ("decoder", "scale_embedding", "yes", "a valid boolean"),
    ("decoder", "pad_token_id", -1, "greater than or equal to 0"),
    ("text_encoder", "layer_norm_epsilon", 0, "greater than 0"),
    ("text_encoder", "feed_forward_proj", "gated-klingon", "'gated-gelu'"),
    ("audio_encoder", "upsampling_ratios", [8, 0, 4], "greater than or equal to 1"),
    ("audio_encoder", "upsampling_ratios", [], "at least 1 item"),
    ("audio_encoder", "target_bandwidths", "2.2", "a valid tuple"),
    ("audio_encoder", "sampling_rate", 10**12, "less than or equal to 384000"),
    ("audio_encoder", "pad_mode", "mirror", "'reflect'"),
])
def test_every_field_is_typed_and_bounded_and_the_sentence_names_the_key(tmp_path, part, key, value, phrase):
    folder = _edit(copy_fixture(tmp_path), lambda c: c[part].update({key: value}))
    text = _refused(folder)
    loc = f"{part}.{key}"
    assert loc in text and phrase in text, text


@pytest.mark.parametrize("edit,phrase", [
    (lambda c: c.update(architectures="MusicgenForConditionalGeneration"), "architectures"),
    (lambda c: c.update(architectures=None, model_type=["musicgen"]), "model_type"),
    (lambda c: c.update(num_chroma="twelve"), "num_chroma"),
    (lambda c: c.update(decoder=[1, 2]), "'decoder' section"),
])
def test_the_top_level_keys_are_checked_too(tmp_path, edit, phrase):
    assert phrase in _refused(_edit(copy_fixture(tmp_path), edit))


def test_a_config_that_nests_deeper_than_any_model_file_is_refused_before_parsing(tmp_path):
    folder = copy_fixture(tmp_path)
    (folder / "config.json").write_text("[" * 50_000 + "]" * 50_000)
    assert "nests more than 32 levels deep" in _refused(folder)


@pytest.mark.parametrize("literal,phrase", [("9" * 5000, "5000 characters long"), ("1e999", "too large"),
                                            ("NaN", "not a number"), ("-Infinity", "not a number")])
def test_numbers_are_bounded(literal, phrase):
    with pytest.raises(ModelError, match=phrase):
        loads('{"decoder": {"hidden_size": ' + literal + "}}", "config.json")


def test_deep_brackets_inside_strings_are_text_not_nesting():
    assert loads(json.dumps({"note": "[" * 1000}), "x.json") == {"note": "[" * 1000}


def test_only_regular_files_of_a_bounded_size_are_read(tmp_path):
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    with pytest.raises(ModelError, match="not a regular file"):
        read_object(fifo)  # must not wait for a writer
    big = tmp_path / "big.json"
    with open(big, "wb") as f:
        f.truncate(20 << 20)
    with pytest.raises(ModelError, match="MB, more than the 16 MB"):
        read_object(big)


def test_a_safetensors_header_longer_than_the_format_allows_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", 1 << 32))
        f.truncate(8 << 30)  # sparse: the file is as long as its header claims, and more
    reads = []
    real_open = Path.open

    def counting_open(self, *a, **k):
        handle = real_open(self, *a, **k)
        real_read = handle.read
        handle.read = lambda n=-1: (reads.append(n), real_read(n))[1]
        return handle

    monkeypatch.setattr(Path, "open", counting_open)
    with pytest.raises(ModelError, match="more than the format allows"):
        check_safetensors(path)
    assert max(reads) <= 8


def test_the_fixtures_still_load_and_the_defaults_are_valid():
    for name in ("musicgen-tiny", "musicgen-melody-tiny", "musicgen-stereo-tiny"):
        folder = Path(__file__).parent / "fixtures" / name
        assert open_folder(folder).config.decoder.num_hidden_layers == 2
    config = json.loads((Path(__file__).parent / "fixtures" / "musicgen-tiny" / "config.json").read_text())
    for part in ("decoder", "text_encoder", "audio_encoder"):
        config[part] = {}
    parsed = MusicGenConfig.from_dict(config)  # every default passes its own bounds
    assert parsed.decoder == DecoderConfig() and parsed.text_encoder == T5Config()
    assert parsed.audio_encoder == EncodecConfig()


def test_the_activation_names_are_the_ones_the_model_implements():
    from engine.musicgen.t5 import ACTIVATIONS

    assert set(typing.get_args(Activation)) == set(ACTIVATIONS)


@pytest.mark.parametrize("content,phrase", [("[" * 5000 + "]" * 5000, "nests more than"),
                                            ('{"pad_token": 7}', "sets pad_token to '7'"),
                                            ('{"model_max_length": ' + "9" * 500 + "}", "500 characters long")])
def test_a_hostile_tokenizer_config_is_one_sentence(tmp_path, content, phrase):
    from engine.musicgen.tokenizer import TextTokenizer

    folder = copy_fixture(tmp_path)
    (folder / "tokenizer_config.json").write_text(content)
    with pytest.raises(ModelError, match=phrase):
        TextTokenizer(folder)


@pytest.mark.parametrize("name,content,phrase", [
    ("generation_config.json", '{"do_sample": true, "top_k": "many"}', "sets top_k to 'many'"),
    ("generation_config.json", '{"temperature": [1]}', r"sets temperature to \[1\]"),
    ("generation_config.json", '{"top_p": 2}', "sets top_p to 2"),
    ("generation_config.json", '{"decoder_start_token_id": 99999}', "past the decoder's vocabulary of 64"),
    ("preprocessor_config.json", '{"hop_length": 0}', "sets hop_length to 0"),
])
def test_the_settings_files_beside_the_config_are_checked_too(tmp_path, name, content, phrase):
    """A start token past the embedding table crashed MLX (SIGSEGV) at the first decoding step."""
    folder = copy_fixture(tmp_path)
    (folder / name).write_text(content)
    with pytest.raises(ModelError, match=phrase) as exc:
        open_folder(folder)
    assert str(folder / name) in str(exc.value)


def test_a_start_token_past_the_vocabulary_is_refused():
    folder = Path(__file__).parent / "fixtures" / "musicgen-tiny"
    config = json.loads((folder / "config.json").read_text())
    config["decoder"]["bos_token_id"] = 65
    with pytest.raises(ModelError, match="start token .* to 65, past its vocabulary of 64"):
        MusicGenConfig.from_dict(config)
    config["decoder"]["bos_token_id"] = 64  # == vocab_size: the extra embedding row, as transformers
    assert MusicGenConfig.from_dict(config).special_token == 64
