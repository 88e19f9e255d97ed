"""MusicGen-Stem's xp.cfg (YAML inside the .bin files) is parsed within bounds and every value it
builds from is typed and bounded: whatever a leaf is replaced with, the answer is a config or one
ModelError sentence, never another exception (engine/musicgen_stem/config.py)."""

from __future__ import annotations

import copy
import time
from pathlib import Path

import pytest

from engine.errors import ModelError
from engine.musicgen_stem.config import StemEncodecConfig, StemLMConfig, parse_xp_cfg
from engine.musicgen_stem.unpickle import load_torch_file

FIXTURE = Path(__file__).parent / "fixtures" / "musicgen-stem-tiny-6cb"
HOSTILE = ["x", [1, 2], {"a": 1}, None, True, 10**12, -5, 0, 2.5, float("nan"), float("inf")]


def _cfg(name: str) -> dict:
    return parse_xp_cfg(load_torch_file(FIXTURE / name)["xp.cfg"], name)


def _leaves(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _leaves(v, (*path, i))
    yield path


def _replaced(cfg: dict, path: tuple, value) -> dict:
    out = copy.deepcopy(cfg)
    if not path:
        return value
    node = out
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return out


@pytest.mark.parametrize("name,build", [
    ("state_dict.bin", lambda c: StemLMConfig.from_xp_cfg(c, "state_dict.bin", text_dim=16)),
    ("compression_state_dict_bass.bin", lambda c: StemEncodecConfig.from_xp_cfg(c, "bass.bin")),
])
def test_any_leaf_replaced_by_anything_is_a_config_or_one_sentence(name, build):
    cfg = _cfg(name)
    build(cfg)  # the fixture itself is fine
    refused = 0
    for path in _leaves(cfg):
        if not path:
            continue
        for value in HOSTILE:
            try:
                build(_replaced(cfg, path, value))
            except ModelError as err:
                assert "\n" not in str(err)
                refused += 1
    assert refused > 300  # teeth: of ~900 (LM) and ~580 (codec) replacements, 528 and 371 are refused


@pytest.mark.parametrize("key,value,phrase", [
    ("num_layers", 200_000, "transformer_lm.num_layers to 200000, outside 1-1024"),
    ("dim", "big", "transformer_lm.dim to 'big', which is not a whole number"),
    ("num_heads", 2.0, "transformer_lm.num_heads to 2.0, which is not a whole number"),
    ("card", True, "transformer_lm.card to True, which is not a whole number"),
    ("hidden_scale", float("nan"), "transformer_lm.hidden_scale to nan, outside"),
])
def test_the_sentence_names_the_xp_cfg_key(key, value, phrase):
    cfg = _cfg("state_dict.bin")
    cfg["transformer_lm"][key] = value
    with pytest.raises(ModelError) as err:
        StemLMConfig.from_xp_cfg(cfg, "state_dict.bin", text_dim=16)
    assert phrase in str(err.value)


def test_yaml_aliases_are_refused_so_a_billion_laughs_cannot_expand():
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    start = time.monotonic()
    with pytest.raises(ModelError, match="uses a YAML alias"):
        parse_xp_cfg("\n".join(lines), "laughs.bin")
    assert time.monotonic() - start < 5


@pytest.mark.parametrize("text,phrase", [
    ("a: " + "[" * 100 + "]" * 100, "nests more than 32 levels"),
    ("a: " + "9" * 5000, "5000 characters long"),
    ("a: x\n" * 300_000, "more than the 1 MB"),
])
def test_yaml_is_bounded(text, phrase):
    with pytest.raises(ModelError, match=phrase):
        parse_xp_cfg(text, "x.bin")


def test_references_that_double_at_every_level_are_cut_off():
    lines = ["l0: xxxxxxxxxxxxxxxx"] + [f"l{i}: ${{l{i - 1}}}${{l{i - 1}}}" for i in range(1, 19)]
    with pytest.raises(ModelError, match="expand to"):
        parse_xp_cfg("\n".join(lines), "x.bin")


def test_layer_counts_are_checked_against_the_weights_before_a_model_is_built(tmp_path, monkeypatch):
    """A 1000-layer xp.cfg over 2 layers of weights: refused before StemModel is built."""
    import shutil

    from engine.musicgen_stem import model as stem_model
    from engine.musicgen_stem.config import StemLMConfig as Real

    folder = tmp_path / "stem"
    shutil.copytree(FIXTURE, folder, ignore=shutil.ignore_patterns("parity"))
    real = Real.from_xp_cfg.__func__

    def claims_1000_layers(cls, cfg, where, text_dim=None):
        cfg = copy.deepcopy(cfg)
        cfg["transformer_lm"]["num_layers"] = 1000
        return real(cls, cfg, where, text_dim)

    monkeypatch.setattr(Real, "from_xp_cfg", classmethod(claims_1000_layers))
    monkeypatch.setattr(stem_model, "StemModel", lambda *a, **k: pytest.fail("built before the check"))
    with pytest.raises(ModelError, match="claims 1000 transformer layers .* but its weights hold 2"):
        stem_model.load_stem_weights(folder, cache_dir=tmp_path / "cache")
