"""The T5 text encoder MusicGen-Stem needs but does not ship.

audiocraft's T5Conditioner fetches ``t5-base`` from the hub at run time, so the stem
checkpoints hold only its output projection. Two kinds of local folder provide it:
a Hugging Face ``t5-base`` folder (``config.json`` with ``model_type: t5``, ``model.safetensors``,
``tokenizer.json`` or ``spiece.model``), or any Hugging Face MusicGen folder, whose
``text_encoder.*`` weights are t5-base. Only the encoder's weights are read, from safetensors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import mlx.core as mx
from mlx.utils import tree_flatten

from engine.errors import ModelError
from engine.musicgen.checkpoint import check_safetensors, shard_path
from engine.musicgen.config import T5Config
from engine.musicgen.json_files import read_object
from engine.musicgen.t5 import T5EncoderModel
from engine.musicgen.tokenizer import TextTokenizer

T5_HINT = ("put a t5-base folder (config.json, model.safetensors, tokenizer.json) at MODEL/t5, or pass a t5-base "
           "or facebook/musicgen-* Hugging Face folder as the text encoder")


def find_text_folder(model_dir: Path, text_dir: str | Path | None) -> Path:
    """The folder to take T5 from: the one given, else ``MODEL/t5`` or ``MODEL/text_encoder``."""
    if text_dir is not None and str(text_dir) != "":
        path = Path(text_dir).expanduser()
        if not path.is_dir():
            raise ModelError(f"text encoder folder {path} does not exist: {T5_HINT}")
        return path
    for name in ("t5", "text_encoder", "t5-base"):
        if (model_dir / name / "config.json").is_file():
            return model_dir / name
    raise ModelError(f"{model_dir} holds no T5 text encoder (MusicGen-Stem's files do not include it): {T5_HINT}")


def _weight_files(folder: Path) -> list[Path]:
    single = folder / "model.safetensors"
    if single.is_file():
        return [single]
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        weight_map = read_object(index).get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map:
            raise ModelError(f"{index} has no weight_map: download the text encoder again")
        return [shard_path(folder, name, index) for name in sorted(set(map(str, weight_map.values())))]
    raise ModelError(f"{folder} has no model.safetensors (pickled .bin weights are never loaded): {T5_HINT}")


def load_text_encoder(folder: Path, expected_width: int) -> tuple[T5EncoderModel, TextTokenizer]:
    """T5 encoder + tokenizer from a t5 or MusicGen folder, checked against the LM's projection width."""
    where = folder / "config.json"
    if not where.exists():
        raise ModelError(f"{folder} has no config.json: {T5_HINT}")
    config = read_object(where)  # bounded: size, depth, number length; a FIFO is refused, not waited on
    if config.get("model_type") == "t5":
        t5_config, prefix = T5Config.from_dict(config, str(where), ""), ""
    elif isinstance(config.get("text_encoder"), dict) and config["text_encoder"].get("model_type", "t5") == "t5":
        t5_config, prefix = T5Config.from_dict(config["text_encoder"], str(where)), "text_encoder."
    else:
        raise ModelError(f"{folder} is neither a T5 nor a MusicGen folder: {T5_HINT}")
    if t5_config.d_model != expected_width:
        raise ModelError(f"{folder}'s T5 is {t5_config.d_model} wide but the stem model expects {expected_width} "
                         f"(t5-base is 768): use the T5 the checkpoint was trained with")
    weights: dict[str, mx.array] = {}
    for f in _weight_files(folder):
        if not f.is_file():
            raise ModelError(f"{folder} lacks {f.name}: finish the download")
        check_safetensors(f)
        try:
            loaded = mx.load(str(f))
        except Exception as exc:  # mlx's own wording
            raise ModelError(f"{f} cannot be read as safetensors ({exc}): download it again") from None
        for key, value in loaded.items():
            if key.startswith(prefix):
                rest = key[len(prefix):]
                if rest.startswith(("encoder.", "shared.")):
                    weights[rest] = value
    model = T5EncoderModel(t5_config)
    weights = T5EncoderModel.sanitize(weights)
    expected = check_weights(
        model, weights,
        lacks=lambda key: f"{folder} lacks T5 encoder weights (e.g. {key}): the folder is partial",
        mismatch=lambda key, got, want: f"{folder}'s T5 weight {key} does not match its config.json")
    model.load_weights([(k, weights[k]) for k in expected], strict=True)
    model.eval()
    mx.eval(model.parameters())
    return model, TextTokenizer(folder)


def check_weights(model, weights: dict, lacks: Callable[[str], str],
                  mismatch: Callable[[str, tuple, tuple], str]) -> dict:
    """Raise ModelError unless ``weights`` holds every parameter of ``model``, each in its shape.

    ``lacks(key)`` words the first missing weight, ``mismatch(key, got, want)`` the first of the
    wrong shape; returns the model's parameters by name.
    """
    expected = dict(tree_flatten(model.parameters()))
    missing = sorted(set(expected) - set(weights))
    if missing:
        raise ModelError(lacks(missing[0]))
    for key, value in expected.items():
        if tuple(weights[key].shape) != tuple(value.shape):
            raise ModelError(mismatch(key, tuple(weights[key].shape), tuple(value.shape)))
    return expected
