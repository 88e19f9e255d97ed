"""MusicGen as one module: T5 text encoder, projections, decoder, EnCodec.

Mirrors ``MusicgenForConditionalGeneration`` / ``MusicgenMelodyForConditionalGeneration`` so
checkpoint keys map one to one. ``load_model`` converts a Hugging Face folder once and caches it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import mlx.core as mx
import mlx.nn as nn
from mlx.utils import tree_flatten

from engine.errors import ModelError
from engine.musicgen.checkpoint import CheckpointFolder, DTYPES, load_converted, open_folder
from engine.musicgen.config import MusicGenConfig
from engine.musicgen.decoder import MusicgenForCausalLM
from engine.musicgen.encodec import EncodecModel
from engine.musicgen.t5 import T5EncoderModel


class MusicGen(nn.Module):
    def __init__(self, config: MusicGenConfig):
        super().__init__()
        self.config = config
        self.text_encoder = T5EncoderModel(config.text_encoder)
        self.audio_encoder = EncodecModel(config.audio_encoder)
        self.decoder = MusicgenForCausalLM(config.decoder, cross_attention=not config.is_melody)
        if config.has_text_projection:
            self.enc_to_dec_proj = nn.Linear(config.text_encoder.d_model, config.decoder.hidden_size)
        if config.has_chroma_projection:
            self.audio_enc_to_dec_proj = nn.Linear(config.num_chroma, config.decoder.hidden_size)

    def encode_text(self, input_ids: mx.array, attention_mask: mx.array) -> mx.array:
        """Token ids ``[B, L]`` -> conditioning states ``[B, L, D]`` (projected, padding zeroed)."""
        states = self.text_encoder(input_ids, attention_mask)
        if "enc_to_dec_proj" in self:
            states = self.enc_to_dec_proj(states)
        return states * attention_mask[..., None].astype(states.dtype)

    def project_chroma(self, chroma: mx.array) -> mx.array:
        """Chroma ``[B, T, 12]`` -> ``[B, chroma_length, D]``: tiled when short, cut when long (as transformers)."""
        states = self.audio_enc_to_dec_proj(chroma) if "audio_enc_to_dec_proj" in self else chroma
        length = self.config.chroma_length
        if states.shape[1] < length:
            repeats = -(-length // states.shape[1])
            states = mx.concatenate([states] * repeats, axis=1)
        return states[:, :length]

    def sanitize(self, weights: dict[str, mx.array]) -> dict[str, mx.array]:
        """Hugging Face keys -> this module's keys and layouts."""
        parts: dict[str, dict[str, mx.array]] = {"text_encoder": {}, "audio_encoder": {}, "": {}}
        for key, value in weights.items():
            head, _, rest = key.partition(".")
            if head in ("text_encoder", "audio_encoder"):
                parts[head][rest] = value
            else:
                parts[""][key] = value
        out = dict(parts[""])
        out.update({f"text_encoder.{k}": v for k, v in T5EncoderModel.sanitize(parts["text_encoder"]).items()})
        out.update({f"audio_encoder.{k}": v for k, v in self.audio_encoder.sanitize(parts["audio_encoder"]).items()})
        return out


def _check_weights(model: MusicGen, weights: dict[str, mx.array], where: Path) -> None:
    expected = dict(tree_flatten(model.parameters()))
    missing = sorted(set(expected) - set(weights))
    if missing:
        raise ModelError(f"{where} lacks weights its config.json calls for (e.g. {missing[0]}): the checkpoint is partial or does not match its config")
    for key, value in expected.items():
        if tuple(weights[key].shape) != tuple(value.shape):
            raise ModelError(
                f"{where} does not match its config.json: {key} has shape {tuple(weights[key].shape)}, "
                f"expected {tuple(value.shape)}"
            )


def load_model(model_dir: str | os.PathLike, dtype: str = "float32",
               cache_dir: str | os.PathLike | None = None,
               progress: Callable[[float, str], None] | None = None) -> tuple[MusicGen, CheckpointFolder]:
    """Build the model a folder describes and load its weights (converted once, then cached).

    ``progress(fraction, message)`` hears each stage: checking the folder, reading or
    converting the weights, placing them in the model.
    """
    report = progress or (lambda fraction, message: None)
    report(0.0, f"checking {Path(model_dir).name if model_dir else 'the model folder'}")
    folder = open_folder(model_dir)
    if dtype not in DTYPES:
        raise ModelError(f"unknown dtype {dtype!r}: choose float32, float16 or bfloat16")
    report(0.1, "building the model")
    model = MusicGen(folder.config)

    def convert(raw: dict[str, mx.array]) -> dict[str, mx.array]:
        try:
            converted = model.sanitize(raw)
        except ValueError as exc:
            raise ModelError(f"{folder.path} has damaged EnCodec weights ({exc})") from exc
        _check_weights(model, converted, folder.path)
        expected = dict(tree_flatten(model.parameters()))
        return {k: v for k, v in converted.items() if k in expected}

    report(0.2, f"reading the {dtype} weights")
    weights = load_converted(folder, dtype, convert, Path(cache_dir) if cache_dir is not None else None)
    _check_weights(model, weights, folder.path)
    report(0.8, "placing the weights")
    model.load_weights(list(weights.items()), strict=True)
    model.decoder.fuse()
    model.eval()
    mx.eval(model.parameters())
    report(1.0, f"{folder.path.name} loaded")
    return model, folder
