"""Configs of the MusicGen parts, read from a Hugging Face ``config.json``.

Every dimension comes from the checkpoint; nothing is assumed about musicgen-small.
``from_dict`` ignores keys it does not know and fills the defaults transformers uses.

Every field the model is built from is checked at the door, before anything is built: its
type (strictly: ``"big"``, ``true`` or ``1024.0`` is not a width) and a range no real
checkpoint comes near (musicgen-large has 48 layers of width 2048; the bounds allow 1024
layers of width 65536). pydantic checks the dataclasses' ``Annotated`` bounds; a failure is
one :class:`ModelError` naming the file and the key ("decoder.num_attention_heads"). Sizes
that must match the weights are checked against the safetensors headers afterwards
(:func:`check_config_against_weights`), still before any allocation.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Mapping

from pydantic import Field, TypeAdapter, ValidationError

from engine.errors import ModelError

ARCHITECTURES = {
    "MusicgenForConditionalGeneration": False,  # value: is it the melody model?
    "MusicgenMelodyForConditionalGeneration": True,
}
MODEL_TYPES = {"musicgen": "MusicgenForConditionalGeneration", "musicgen_melody": "MusicgenMelodyForConditionalGeneration"}


def _int(lo: int, hi: int):
    return Annotated[int, Field(strict=True, ge=lo, le=hi)]


def _float(lo: float, hi: float, *, open_low: bool = False):
    bound = {"gt": lo} if open_low else {"ge": lo}
    return Annotated[float, Field(strict=True, le=hi, allow_inf_nan=False, **bound)]


Bool = Annotated[bool, Field(strict=True)]
Width = _int(1, 1 << 16)
"""A model width or a per-head width (musicgen-large: 2048)."""
Inner = _int(1, 1 << 18)
"""A feed-forward width (musicgen-large: 8192)."""
Layers = _int(1, 1024)
Heads = _int(1, 1024)
Vocab = _int(1, 1 << 20)
Token = _int(0, 1 << 20)
Activation = Literal["relu", "gelu", "gelu_new", "gelu_pytorch_tanh", "silu"]
"""What engine/musicgen/t5.py's ``ACTIVATIONS`` implements (tests/test_musicgen_config_check.py keeps them in step)."""
FeedForward = Literal["relu", "gelu", "gelu_new", "silu", "gated-relu", "gated-gelu", "gated-gelu_new", "gated-silu"]


@functools.cache
def _adapter(cls) -> TypeAdapter:
    return TypeAdapter(cls)


def _plain(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def checked(cls, data: Mapping[str, Any], where: str, section: str = ""):
    """``cls(**data)`` with the keys ``cls`` does not know dropped and every field checked.

    Raises one ``ModelError`` naming ``where`` (the file) and the first bad key
    (``section.key``, e.g. ``decoder.hidden_size``).
    """
    if not isinstance(data, Mapping):
        raise ModelError(f"{where} has a {section or 'config'} that is not a JSON object: the file is damaged")
    names = {f.name for f in dataclasses.fields(cls)}
    known = {k: v for k, v in data.items() if k in names}
    try:
        return _adapter(cls).validate_python(known)
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(part) for part in (section, *first["loc"]) if part != "")
        reason = first["msg"].replace("Input should", "it should", 1)
        raise ModelError(f"{where} sets {key} to {_plain(first.get('input'))}, but {reason}: the file is damaged "
                         "or is not a MusicGen config") from None


@dataclass(frozen=True)
class T5Config:
    vocab_size: Vocab = 32128
    d_model: Width = 512
    d_kv: Width = 64
    d_ff: Inner = 2048
    num_layers: Layers = 6
    num_heads: Heads = 8
    relative_attention_num_buckets: _int(2, 4096) = 32
    relative_attention_max_distance: _int(2, 1 << 20) = 128
    layer_norm_epsilon: _float(0.0, 1.0, open_low=True) = 1e-6
    feed_forward_proj: FeedForward = "relu"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "config.json", section: str = "text_encoder") -> "T5Config":
        return checked(cls, data, where, section)

    @property
    def is_gated(self) -> bool:
        return self.feed_forward_proj.startswith("gated-")

    @property
    def activation(self) -> str:
        act = self.feed_forward_proj.split("-")[-1]
        return "gelu_new" if act == "gelu" and self.is_gated else act


@dataclass(frozen=True)
class DecoderConfig:
    vocab_size: Vocab = 2048
    hidden_size: Width = 1024
    num_hidden_layers: Layers = 24
    ffn_dim: Inner = 4096
    num_attention_heads: Heads = 16
    num_codebooks: _int(1, 64) = 4
    max_position_embeddings: _int(1, 1 << 20) = 2048
    activation_function: Activation = "gelu"
    scale_embedding: Bool = False
    audio_channels: _int(1, 2) = 1
    pad_token_id: Token | None = 2048
    bos_token_id: Token | None = 2048
    cross_attention_hidden_size: Width | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "config.json", section: str = "decoder") -> "DecoderConfig":
        return checked(cls, data, where, section)

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads


@dataclass(frozen=True)
class EncodecConfig:
    sampling_rate: _int(1000, 384000) = 32000
    audio_channels: _int(1, 8) = 1
    num_filters: _int(1, 4096) = 64
    hidden_size: Width = 128
    upsampling_ratios: Annotated[tuple[_int(1, 64), ...], Field(min_length=1, max_length=16)] = (8, 5, 4, 4)
    codebook_size: _int(2, 1 << 20) = 2048
    codebook_dim: Width | None = None
    target_bandwidths: Annotated[tuple[_float(0.0, 1e4, open_low=True), ...], Field(min_length=1, max_length=64)] = (2.2,)
    kernel_size: _int(1, 64) = 7
    last_kernel_size: _int(1, 64) = 7
    residual_kernel_size: _int(1, 64) = 3
    dilation_growth_rate: _int(1, 16) = 2
    num_residual_layers: _int(0, 16) = 1
    num_lstm_layers: _int(0, 16) = 2
    compress: _int(1, 64) = 2
    use_causal_conv: Bool = False
    pad_mode: Literal["reflect", "constant"] = "reflect"
    trim_right_ratio: _float(0.0, 1.0) = 1.0
    use_conv_shortcut: Bool = False
    norm_type: Annotated[str, Field(strict=True, max_length=64)] = "weight_norm"
    normalize: Bool = False
    chunk_length_s: _float(0.0, 1e4, open_low=True) | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "config.json",
                  section: str = "audio_encoder") -> "EncodecConfig":
        return checked(cls, data, where, section)

    @property
    def hop_length(self) -> int:
        return math.prod(self.upsampling_ratios)

    @property
    def frame_rate(self) -> int:
        return math.ceil(self.sampling_rate / self.hop_length)

    @property
    def codebook_dimension(self) -> int:
        return self.codebook_dim if self.codebook_dim is not None else self.hidden_size

    @property
    def num_quantizers(self) -> int:
        bits = math.ceil(math.log2(self.codebook_size))
        return int(1000 * self.target_bandwidths[-1] // (self.frame_rate * bits))

    def quantizers_for_bandwidth(self, bandwidth: float | None = None) -> int:
        """How many codebooks ``encode`` uses by default (transformers: the first target bandwidth)."""
        bandwidth = self.target_bandwidths[0] if bandwidth is None else bandwidth
        per_quantizer = math.log2(self.codebook_size) * self.frame_rate
        return int(max(1, math.floor(bandwidth * 1000 / per_quantizer)))


@dataclass(frozen=True)
class _Names:
    """The top-level keys that say what the file describes."""

    architectures: Annotated[tuple[Annotated[str, Field(strict=True, max_length=200)], ...], Field(max_length=16)] | None = None
    model_type: Annotated[str, Field(strict=True, max_length=200)] | None = None


@dataclass(frozen=True)
class _MelodyFields:
    num_chroma: _int(1, 128) = 12
    chroma_length: _int(1, 1 << 20) = 235


@dataclass(frozen=True)
class GenerationDefaults:
    """The keys of ``generation_config.json`` this app uses (sampling.py, pipeline.py), checked
    like config.json: a ``"many"`` top-k raised ValueError, and a start token past the
    embedding table crashed MLX with a segmentation fault."""

    do_sample: Bool | None = None
    temperature: _float(0.0, 100.0) | None = None
    top_k: _int(0, 1 << 20) | None = None
    top_p: _float(0.0, 1.0) | None = None
    guidance_scale: _float(0.0, 1000.0) | None = None
    decoder_start_token_id: Token | None = None


@dataclass(frozen=True)
class PreprocessorDefaults:
    """The keys of ``preprocessor_config.json`` the melody model's chroma extractor uses (chroma.py)."""

    sampling_rate: _int(1000, 384000) | None = None
    n_fft: _int(16, 1 << 20) | None = None
    hop_length: _int(1, 1 << 20) | None = None
    num_chroma: _int(1, 128) | None = None
    chunk_length: _float(0.0, 3600.0, open_low=True) | None = None


@dataclass(frozen=True)
class MusicGenConfig:
    architecture: str
    text_encoder: T5Config
    decoder: DecoderConfig
    audio_encoder: EncodecConfig
    is_melody: bool = False
    num_chroma: int = 12
    chroma_length: int = 235

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "config.json") -> "MusicGenConfig":
        if not isinstance(data, Mapping):
            raise ModelError(f"{where} is not a JSON object: the folder is damaged")
        names = checked(_Names, data, where)
        architectures = list(names.architectures or ())
        known = [a for a in architectures if a in ARCHITECTURES]
        if not architectures and names.model_type in MODEL_TYPES:  # older exports omit "architectures"
            known = [MODEL_TYPES[names.model_type]]
        if not known:
            named = ", ".join(architectures) or names.model_type or "none"
            raise ModelError(
                f"{where} describes a {named} model, not MusicGen: point --model at a folder of "
                f"{' or '.join(ARCHITECTURES)} (e.g. facebook/musicgen-small)"
            )
        for part in ("text_encoder", "decoder", "audio_encoder"):
            if not isinstance(data.get(part), Mapping):
                raise ModelError(f"{where} has no {part!r} section: the checkpoint folder is incomplete or damaged")
        melody = checked(_MelodyFields, data, where)
        config = cls(
            architecture=known[0],
            text_encoder=T5Config.from_dict(data["text_encoder"], where),
            decoder=DecoderConfig.from_dict(data["decoder"], where),
            audio_encoder=EncodecConfig.from_dict(data["audio_encoder"], where),
            is_melody=ARCHITECTURES[known[0]],
            num_chroma=melody.num_chroma,
            chroma_length=melody.chroma_length,
        )
        config.check_supported(where)
        return config

    def check_supported(self, where: str) -> None:
        audio, decoder = self.audio_encoder, self.decoder
        if decoder.audio_channels not in (1, 2) or decoder.num_codebooks % decoder.audio_channels:
            raise ModelError(f"{where} describes {decoder.audio_channels} audio channels over {decoder.num_codebooks} "
                             "codebooks: MusicGen is mono, or stereo with an even number of codebooks")
        if audio.audio_channels != 1:
            raise ModelError(f"{where} uses a {audio.audio_channels}-channel EnCodec; MusicGen's codec is mono")
        if audio.norm_type != "weight_norm" or audio.normalize or audio.chunk_length_s is not None:
            raise ModelError(f"{where} uses an EnCodec variant other than MusicGen's 32 kHz codec, which is not supported")
        if self.special_token > decoder.vocab_size:  # the embedding has vocab_size + 1 rows
            raise ModelError(f"{where} sets the decoder's start token (bos_token_id/pad_token_id) to "
                             f"{self.special_token}, past its vocabulary of {decoder.vocab_size}: the file is damaged")
        if decoder.hidden_size % decoder.num_attention_heads:
            raise ModelError(f"{where} is inconsistent: decoder.hidden_size {decoder.hidden_size} is not a multiple "
                             f"of decoder.num_attention_heads {decoder.num_attention_heads}")
        if audio.num_quantizers < decoder.num_codebooks // decoder.audio_channels:
            raise ModelError(f"{where} is inconsistent: EnCodec has fewer codebooks than the decoder predicts")

    @property
    def audio_channels(self) -> int:
        """1 for mono; 2 for the stereo checkpoints (codebooks interleaved left, right, left, ...)."""
        return self.decoder.audio_channels

    @property
    def has_text_projection(self) -> bool:
        """transformers adds ``enc_to_dec_proj`` when the T5 and decoder widths differ."""
        return (self.text_encoder.d_model != self.decoder.hidden_size
                and (self.is_melody or self.decoder.cross_attention_hidden_size is None))

    @property
    def has_chroma_projection(self) -> bool:
        return self.is_melody and self.num_chroma != self.decoder.hidden_size

    @property
    def special_token(self) -> int:
        """The token that fills the delay pattern's gaps and starts every sequence."""
        d = self.decoder
        for value in (d.bos_token_id, d.pad_token_id):
            if value is not None:
                return int(value)
        return d.vocab_size


def count_numbered(shapes: Mapping[str, tuple[int, ...]], prefix: str) -> int:
    """How many ``prefix{i}.`` entries the weights hold (layers, blocks, heads)."""
    found = set()
    for key in shapes:
        if key.startswith(prefix):
            head = key[len(prefix):].split(".", 1)[0]
            if head.isdigit():
                found.add(int(head))
    return len(found)


def check_config_against_weights(config: MusicGenConfig, shapes: Mapping[str, tuple[int, ...]], where) -> None:
    """Compare a config.json with the weight files' headers before anything is built or allocated.

    A config can claim any size (200,000 layers, a 10**9 vocabulary); building the model first
    would try to allocate it. The headers are tiny and already read, so the counts and the key
    shapes are checked against them here, and a mismatch is one sentence.
    """
    d, t, a = config.decoder, config.text_encoder, config.audio_encoder
    counted = count_numbered
    counts = [
        ("decoder layers (num_hidden_layers)", d.num_hidden_layers, counted(shapes, "decoder.model.decoder.layers.")),
        ("codebooks (num_codebooks)", d.num_codebooks, counted(shapes, "decoder.lm_heads.")),
        ("T5 layers (num_layers)", t.num_layers, counted(shapes, "text_encoder.encoder.block.")),
    ]
    for what, claimed, present in counts:
        if claimed != present:
            raise ModelError(f"{where} claims {claimed} {what} but the weights hold {present}: "
                             "the config does not belong to these weights")
    quantizers = count_numbered(shapes, "audio_encoder.quantizer.layers.")
    if quantizers < a.num_quantizers:
        raise ModelError(f"{where} claims {a.num_quantizers} EnCodec codebooks but the weights hold {quantizers}: "
                         "the config does not belong to these weights")
    expected = {
        "decoder.model.decoder.embed_tokens.0.weight": (d.vocab_size + 1, d.hidden_size),
        "decoder.lm_heads.0.weight": (d.vocab_size, d.hidden_size),
        "decoder.model.decoder.layers.0.fc1.weight": (d.ffn_dim, d.hidden_size),
        "decoder.model.decoder.layers.0.self_attn.q_proj.weight": (d.hidden_size, d.hidden_size),
        "text_encoder.encoder.block.0.layer.0.SelfAttention.q.weight": (t.num_heads * t.d_kv, t.d_model),
        "text_encoder.encoder.block.0.layer.1.DenseReluDense." + ("wi_0" if t.is_gated else "wi") + ".weight":
            (t.d_ff, t.d_model),
        "audio_encoder.quantizer.layers.0.codebook.embed": (a.codebook_size, a.codebook_dimension),
    }
    for key, shape in expected.items():
        if key not in shapes:
            raise ModelError(f"the weights lack {key}, which {where} calls for: the checkpoint is partial "
                             "or does not match its config")
        if tuple(shapes[key]) != shape:
            raise ModelError(f"{where} does not match its weights: {key} has shape {tuple(shapes[key])}, "
                             f"the config implies {shape}")
    vocab = shapes.get("text_encoder.shared.weight") or shapes.get("text_encoder.encoder.embed_tokens.weight")
    if vocab is None or tuple(vocab) != (t.vocab_size, t.d_model):
        raise ModelError(f"{where} does not match its weights: the T5 embedding is {vocab}, "
                         f"the config implies {(t.vocab_size, t.d_model)}")
