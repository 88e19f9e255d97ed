"""Load a MusicGen-Stem folder (``facebook/musicgen-stem-6cb`` / ``-7cb``) into MLX, converting once.

A folder holds ``state_dict.bin`` (the LM) and ``compression_state_dict_{bass,drums,other}.bin``
(the stem codecs): torch zips read by ``unpickle.load_torch_file``, which runs nothing. The
first load converts them to one MLX safetensors file in the cache, with each ``xp.cfg`` kept
in its metadata; later loads read only that file. The T5 text encoder comes from another
folder (``text.py``). Every way a folder can be wrong ends in one ``ModelError`` sentence.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
import numpy as np
from mlx.utils import tree_flatten

from engine.errors import ModelError
from engine.musicgen.checkpoint import DTYPES, default_cache_dir
from engine.musicgen.config import count_numbered
from engine.musicgen.t5 import T5EncoderModel
from engine.musicgen.tokenizer import TextTokenizer
from engine.musicgen_stem.codec import MultiStemCodec
from engine.musicgen_stem.config import SOURCES, StemEncodecConfig, StemLMConfig, parse_xp_cfg
from engine.musicgen_stem.lm import StemLM
from engine.musicgen_stem.text import check_weights, find_text_folder, load_text_encoder
from engine.musicgen_stem.unpickle import load_torch_file

LM_FILE = "state_dict.bin"
CODEC_FILES = {s: f"compression_state_dict_{s}.bin" for s in SOURCES}
CONVERTED_FORMAT = "resonant-musicgen-stem-mlx-1"
PROJ_KEY = "condition_provider.conditioners.description.output_proj.weight"
HINT = "download facebook/musicgen-stem-6cb or -7cb (state_dict.bin and the three compression_state_dict_*.bin)"


class StemModel(nn.Module):
    """The LM and the three stem codecs (the parts stored in the stem checkpoint)."""

    def __init__(self, lm_config: StemLMConfig, codec_configs: dict[str, StemEncodecConfig]):
        super().__init__()
        self.lm = StemLM(lm_config)
        self.codec = MultiStemCodec(codec_configs, lm_config.sources)


@dataclass
class MusicGenStem:
    """Everything a generation needs; built by ``load_stem_model``."""

    path: Path
    lm_config: StemLMConfig
    model: StemModel
    text_encoder: T5EncoderModel
    tokenizer: TextTokenizer
    text_folder: Path

    @property
    def lm(self) -> StemLM:
        return self.model.lm

    @property
    def codec(self) -> MultiStemCodec:
        return self.model.codec

    def encode_text(self, prompts: list[str]) -> tuple[mx.array, mx.array]:
        """Prompts -> T5 states ``[B, L, text_dim]`` and mask ``[B, L]``."""
        ids, mask = self.tokenizer(prompts)
        ids, mask = mx.array(ids), mx.array(mask)
        return self.text_encoder(ids, mask), mask


def _bin_files(path: Path) -> tuple[Path, dict[str, Path]]:
    if not path.is_dir():
        raise ModelError(f"MusicGen-Stem model folder {path} does not exist: {HINT}")
    lm = path / LM_FILE
    if not lm.is_file():
        if (path / "config.json").is_file():
            raise ModelError(f"{path} is a Hugging Face folder, not a MusicGen-Stem one (no {LM_FILE}): use the musicgen engine for it, or {HINT}")
        raise ModelError(f"{path} has no {LM_FILE}: it is not a MusicGen-Stem folder; {HINT}")
    codecs = {s: path / name for s, name in CODEC_FILES.items()}
    missing = [name for s, name in CODEC_FILES.items() if not codecs[s].is_file()]
    if missing:
        raise ModelError(f"{path} lacks {missing[0]}: the download is partial; {HINT}")
    return lm, codecs


def _package(path: Path) -> tuple[dict, dict]:
    """A ``.bin`` -> (``best_state`` as numpy arrays, parsed ``xp.cfg``)."""
    pkg = load_torch_file(path)
    if not isinstance(pkg, dict):
        raise ModelError(f"{path} is not an audiocraft export (it holds a {type(pkg).__name__}): {HINT}")
    if "pretrained" in pkg and "best_state" not in pkg:
        raise ModelError(f"{path} only names the pretrained model {pkg['pretrained']!r} instead of containing it, which is not supported")
    state = pkg.get("best_state")
    if not isinstance(state, dict) or not state:
        raise ModelError(f"{path} has no best_state weights: it is not an audiocraft export; {HINT}")
    bad = [k for k, v in state.items() if not isinstance(v, np.ndarray)]
    if bad:
        raise ModelError(f"{path}'s weight {bad[0]} is not a tensor: the file is damaged")
    return state, parse_xp_cfg(pkg.get("xp.cfg"), str(path))


def _cache_key(files: list[Path], dtype: str) -> str:
    h = hashlib.sha256(CONVERTED_FORMAT.encode())
    for f in files:
        st = f.stat()
        h.update(f"{f.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode())
    return f"{h.hexdigest()[:20]}-{dtype}"


def _check(model: nn.Module, weights: dict, where: Path) -> None:
    check_weights(
        model, weights,
        lacks=lambda key: f"{where} lacks weights its xp.cfg calls for (e.g. {key}): "
                          "the checkpoint is partial or does not match its config",
        mismatch=lambda key, got, want: f"{where} does not match its xp.cfg: {key} has shape {got}, expected {want}")


def _build(meta: dict, where: Path) -> StemModel:
    lm_cfg = StemLMConfig.from_xp_cfg(meta["lm"], str(where / LM_FILE), text_dim=int(meta["text_dim"]))
    codecs = {s: StemEncodecConfig.from_xp_cfg(meta["codecs"][s], str(where / CODEC_FILES[s])) for s in SOURCES}
    if any(c.codebook_size != lm_cfg.card for c in codecs.values()):
        raise ModelError(f"{where}: the codecs' codebook size does not match the LM's cardinality {lm_cfg.card}")
    total = sum(c.num_quantizers for c in codecs.values())
    if total != lm_cfg.num_codebooks:
        raise ModelError(f"{where}: the codecs give {total} code streams but the LM models {lm_cfg.num_codebooks}")
    return StemModel(lm_cfg, codecs)


def _check_counts(cfg: StemLMConfig, state: dict, where: Path) -> None:
    """The layer and codebook counts xp.cfg claims, against the weights, before a model is built."""
    for what, claimed, prefix in (("transformer layers (transformer_lm.num_layers)", cfg.decoder.num_hidden_layers,
                                   "transformer.layers."),
                                  ("codebooks (transformer_lm.n_q)", cfg.num_codebooks, "linears.")):
        present = count_numbered(state, prefix)
        if claimed != present:
            raise ModelError(f"{where}'s xp.cfg claims {claimed} {what} but its weights hold {present}: "
                             "the file is damaged")


def _convert(path: Path, lm_file: Path, codec_files: dict[str, Path]) -> tuple[dict, dict]:
    state, lm_cfg = _package(lm_file)
    if PROJ_KEY not in state or state[PROJ_KEY].ndim != 2:
        raise ModelError(f"{lm_file} has no text projection ({PROJ_KEY}): it is not a text-conditioned MusicGen-Stem")
    meta = {"lm": lm_cfg, "text_dim": int(state[PROJ_KEY].shape[1]), "codecs": {}}
    _check_counts(StemLMConfig.from_xp_cfg(lm_cfg, str(lm_file), text_dim=meta["text_dim"]), state, lm_file)
    codec_states = {}
    for s, f in codec_files.items():
        codec_states[s], meta["codecs"][s] = _package(f)
    model = _build(meta, path)

    def to_mx(arrays: dict) -> dict:
        # Move one array at a time so the numpy copy of a multi-GB checkpoint is freed as we go.
        return {k: mx.array(arrays.pop(k)) for k in list(arrays)}

    weights = {f"lm.{k}": v for k, v in model.lm.sanitize(to_mx(state)).items()}
    for s, st in codec_states.items():
        try:
            converted = model.codec.sanitize(s, to_mx(st))
        except ValueError as exc:
            raise ModelError(f"{codec_files[s]} has damaged EnCodec weights ({exc})") from None
        weights.update({f"codec.stems.{s}.{k}": v for k, v in converted.items()})
    _check(model, weights, path)
    expected = dict(tree_flatten(model.parameters()))
    return {k: v for k, v in weights.items() if k in expected}, meta


def load_stem_weights(model_dir: str | os.PathLike, dtype: str = "float32",
                      cache_dir: str | os.PathLike | None = None) -> tuple[StemModel, Path]:
    """The LM + codecs of a stem folder, from the cache or converted (and cached) now."""
    if model_dir is None or str(model_dir) == "":
        raise ModelError(f"no MusicGen-Stem model folder given: pass --model DIR; {HINT}")
    if dtype not in DTYPES:
        raise ModelError(f"unknown dtype {dtype!r}: choose float32, float16 or bfloat16")
    path = Path(model_dir).expanduser()
    lm_file, codec_files = _bin_files(path)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    target = cache / f"stem-{_cache_key([lm_file, *codec_files.values()], dtype)}.safetensors"
    weights = meta = None
    if target.is_file():
        try:
            weights, stored = mx.load(str(target), return_metadata=True)
            meta = json.loads(stored["config"]) if stored.get("format") == CONVERTED_FORMAT else None
        except Exception:
            weights = meta = None  # a damaged cache entry is rebuilt below
    if meta is None:
        weights, meta = _convert(path, lm_file, codec_files)
        weights = {k: v.astype(DTYPES[dtype]) if mx.issubdtype(v.dtype, mx.floating) else v for k, v in weights.items()}
        try:
            cache.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(f".tmp{os.getpid()}.safetensors")
            mx.save_safetensors(str(tmp), weights, metadata={"format": CONVERTED_FORMAT, "config": json.dumps(meta)})
            os.replace(tmp, target)
        except OSError:
            pass  # an unwritable cache only costs a conversion next time
    model = _build(meta, path)
    _check(model, weights, path)
    model.load_weights(list(weights.items()), strict=True)
    model.lm.decoder.fuse()
    model.eval()
    mx.eval(model.parameters())
    return model, path


def load_stem_model(model_dir: str | os.PathLike, text_dir: str | os.PathLike | None = None,
                    dtype: str = "float32", cache_dir: str | os.PathLike | None = None) -> MusicGenStem:
    """A stem folder plus its T5 (``text_dir``, else ``MODEL/t5``), ready to generate."""
    model, path = load_stem_weights(model_dir, dtype=dtype, cache_dir=cache_dir)
    folder = find_text_folder(path, text_dir)
    text_encoder, tokenizer = load_text_encoder(folder, model.lm.config.text_dim)
    return MusicGenStem(path, model.lm.config, model, text_encoder, tokenizer, folder)
