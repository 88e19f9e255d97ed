"""Three EnCodec models, one per stem, as one codec over the LM's streams (audiocraft's
``MultiStemCompressionModel``).

The LM's codebooks are the stems' codebooks laid end to end in source order (bass, drums,
other): 6cb = 1 + 1 + 4, 7cb = 2 + 1 + 4. ``encode`` takes one mono signal per stem and
concatenates their codes; ``decode`` splits the streams back and decodes each stem.
"""

from __future__ import annotations

import re
from typing import Mapping

import mlx.core as mx
import mlx.nn as nn
import numpy as np

from engine.errors import BackendError
from engine.musicgen.encodec import EncodecModel
from engine.musicgen_stem.config import StemEncodecConfig, codebooks_per_stem

_RENAMES = (
    (re.compile(r"^(encoder|decoder)\.model\.(\d+)\."), r"\1.layers.\2."),
    (re.compile(r"\.convtr\.convtr\."), ".conv."),
    (re.compile(r"\.conv\.conv\."), ".conv."),
    (re.compile(r"^quantizer\.vq\.layers\.(\d+)\._codebook\."), r"quantizer.layers.\1.codebook."),
)


def audiocraft_to_hf_names(weights: Mapping[str, mx.array]) -> dict[str, mx.array]:
    """audiocraft SEANet/RVQ keys -> the transformers-style keys ``EncodecModel`` loads."""
    out = {}
    for key, value in weights.items():
        for pattern, repl in _RENAMES:
            key = pattern.sub(repl, key)
        out[key] = value
    return out


class MultiStemCodec(nn.Module):
    def __init__(self, configs: Mapping[str, StemEncodecConfig], sources: tuple[str, ...]):
        super().__init__()
        self.sources = tuple(sources)
        self.configs = dict(configs)
        rates = {c.sampling_rate for c in configs.values()}
        frames = {c.frame_rate for c in configs.values()}
        if len(rates) != 1 or len(frames) != 1:
            raise BackendError("the three stem codecs disagree on sample rate or frame rate")
        self.sample_rate = rates.pop()
        self.frame_rate = frames.pop()
        self.hop_length = next(iter(configs.values())).hop_length
        self.stems = {name: EncodecModel(configs[name]) for name in self.sources}
        self.streams = codebooks_per_stem(self.sources, configs)

    @property
    def total_codebooks(self) -> int:
        return sum(len(v) for v in self.streams.values())

    def sanitize(self, stem: str, weights: Mapping[str, mx.array]) -> dict[str, mx.array]:
        return self.stems[stem].sanitize(audiocraft_to_hf_names(weights))

    def encode_stem(self, stem: str, audio: np.ndarray) -> np.ndarray:
        """Mono ``[N]`` (or ``[B, N]``) at ``sample_rate`` -> that stem's codes ``[B, K_stem, N // hop]``."""
        wav = np.asarray(audio, np.float32)
        wav = wav.reshape(1, -1) if wav.ndim == 1 else wav
        model = self.stems[stem]
        codes = model.encode(mx.array(wav[:, :, None]), num_quantizers=model.config.num_quantizers)
        return np.array(codes).astype(np.int64)

    def encode(self, stems: Mapping[str, np.ndarray]) -> np.ndarray:
        """One equally long mono signal per source -> codes ``[B, K, T]`` in the LM's stream order."""
        missing = [s for s in self.sources if s not in stems]
        if missing:
            raise BackendError(f"no audio given for the {missing[0]} stem")
        return np.concatenate([self.encode_stem(s, stems[s]) for s in self.sources], axis=1)

    def split(self, codes: np.ndarray) -> dict[str, np.ndarray]:
        """``[B, K, T]`` -> ``{stem: [B, K_stem, T]}``."""
        if codes.shape[1] != self.total_codebooks:
            raise BackendError(f"expected {self.total_codebooks} code streams, got {codes.shape[1]}")
        return {s: codes[:, idx] for s, idx in self.streams.items()}

    def join(self, per_stem: Mapping[str, np.ndarray]) -> np.ndarray:
        return np.concatenate([per_stem[s] for s in self.sources], axis=1)

    def decode(self, codes: np.ndarray) -> dict[str, np.ndarray]:
        """Codes ``[B, K, T]`` -> ``{stem: mono audio [B, T * hop] float32}``."""
        out = {}
        for stem, part in self.split(codes).items():
            if part.shape[2] == 0:
                out[stem] = np.zeros((part.shape[0], 0), np.float32)
                continue
            audio = self.stems[stem].decode(mx.array(part.astype(np.int32)))
            out[stem] = np.array(audio.astype(mx.float32))[:, :, 0]
        return out
