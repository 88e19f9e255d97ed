"""Configs of a MusicGen-Stem checkpoint, read from the ``xp.cfg`` YAML string inside its ``.bin`` files.

audiocraft stores the whole Hydra config of the training run next to the weights; every
dimension used here comes from it (``yaml.safe_load``, with ``${a.b}`` references resolved).
Variants the MLX layers cannot run (rotary positions, post-norm, biased attention, ...) are
refused with a sentence rather than loaded wrongly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from engine.errors import ModelError
from engine.musicgen.config import DecoderConfig, EncodecConfig, checked
from engine.safe_load import SafeLoadError, loads_yaml

SOURCES = ("bass", "drums", "other")
"""audiocraft's stem order (``multistem_compression_model_checkpoints.sources``): codebooks follow it."""

_REF = re.compile(r"\$\{([^}]+)\}")


MAX_CFG_CHARS = 1_000_000
"""audiocraft's xp.cfg for musicgen-stem is a few kB of YAML."""
MAX_CFG_DEPTH = 32
MAX_NUMBER_CHARS = 40
MAX_RESOLVED_CHARS = 1 << 16
"""A string after ``${...}`` interpolation: references that double at every level would otherwise
grow to megabytes."""


def _load_yaml(text: str, where: str) -> Any:
    """``yaml.safe_load`` within bounds (engine/safe_load.py): no aliases (OmegaConf never writes
    them, and an alias of aliases is how a "billion laughs" file expands to gigabytes), bounded
    size, depth and number length. Infinities pass: OmegaConf may write ``.inf``."""
    try:
        return loads_yaml(text, f"{where}'s xp.cfg", max_depth=MAX_CFG_DEPTH, max_number_chars=MAX_NUMBER_CHARS,
                          max_bytes=MAX_CFG_CHARS, finite=False)
    except SafeLoadError as err:
        raise ModelError(f"{str(err).rstrip('.')}: the file is damaged or hostile") from None


def parse_xp_cfg(text: Any, where: str) -> dict:
    """The YAML string -> a plain dict with ``${dotted.path}`` interpolations resolved."""
    if not isinstance(text, str):
        raise ModelError(f"{where} has no xp.cfg text: it is not an audiocraft export")
    data = _load_yaml(text, where)
    if not isinstance(data, dict):
        raise ModelError(f"{where} has an xp.cfg that is not a mapping: the file is damaged")

    missing = object()

    def lookup(path: str, depth: int):
        node: Any = data
        for part in path.strip().split("."):
            if not isinstance(node, dict) or part not in node:
                return missing  # e.g. ${oc.env:USER} or ${hydra:...}: left as text, unused here
            node = node[part]
        return resolve(node, depth + 1)

    def resolve(node: Any, depth: int = 0):
        if depth > 20:
            raise ModelError(f"{where}'s xp.cfg has circular references")
        if isinstance(node, dict):
            return {k: resolve(v, depth) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v, depth) for v in node]
        if isinstance(node, str):
            whole = _REF.fullmatch(node.strip())
            if whole:
                value = lookup(whole.group(1), depth)
                return node if value is missing else value

            def text(m):
                value = lookup(m.group(1), depth)
                return m.group(0) if value is missing else str(value)

            out = _REF.sub(text, node)
            if len(out) > MAX_RESOLVED_CHARS:
                raise ModelError(f"{where}'s xp.cfg has references that expand to {len(out):,} characters: "
                                 "the file is damaged or hostile")
            return out
        return node

    return resolve(data)


def _optional(value: Any, name: str, where: str) -> dict:
    """An optional sub-section: absent or empty is ``{}``, anything but a mapping is refused."""
    if value is None or value == "" or value == []:
        return {}
    if not isinstance(value, Mapping):
        raise ModelError(f"{where}'s xp.cfg has a {name!r} that is not a section ({type(value).__name__}): "
                         "the file is damaged")
    return dict(value)


def _section(cfg: Mapping, name: str, where: str) -> dict:
    value = cfg.get(name)
    if not isinstance(value, Mapping):
        raise ModelError(f"{where}'s xp.cfg has no {name!r} section: it is not the expected audiocraft model")
    return dict(value)


_REQUIRED = object()


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _number(section: Mapping, key: str, where: str, kind=int, *, default: Any = _REQUIRED, lo: float = 1,
            hi: float = 1 << 20, at: str = ""):
    """``section[key]`` as ``kind``, checked: an int must be an int (not ``true``, not ``"8"``,
    not 8.5), a float a finite number, both within ``[lo, hi]``. ``at`` names the section in
    the sentence (``transformer_lm.num_layers``)."""
    name = f"{at}.{key}" if at else key
    value = section.get(key, default)
    if value is _REQUIRED or value is None and default is _REQUIRED:
        raise ModelError(f"{where}'s xp.cfg lacks {name}: it is not the expected audiocraft model")
    if value is None:
        value = default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or kind is int and not isinstance(value, int):
        raise ModelError(f"{where}'s xp.cfg sets {name} to {_short(value)}, which is not "
                         f"{'a whole number' if kind is int else 'a number'}: the file is damaged")
    if not (lo <= value <= hi):  # NaN fails this too
        raise ModelError(f"{where}'s xp.cfg sets {name} to {value}, outside {lo:g}-{hi:g}: the file is damaged")
    return kind(value)


@dataclass(frozen=True)
class StemEncodecConfig(EncodecConfig):
    """One stem's EnCodec, with its codebook count taken from ``rvq.n_q`` instead of a bandwidth."""

    n_q: int = 1

    @property
    def num_quantizers(self) -> int:
        return self.n_q

    def quantizers_for_bandwidth(self, bandwidth: float | None = None) -> int:
        return self.n_q

    @classmethod
    def from_xp_cfg(cls, cfg: Mapping, where: str) -> "StemEncodecConfig":
        if cfg.get("compression_model", "encodec") != "encodec":
            raise ModelError(f"{where} is a {cfg.get('compression_model')} compression model; only EnCodec is supported")
        encodec = _section(cfg, "encodec", where)
        seanet = _section(cfg, "seanet", where)
        rvq = _section(cfg, "rvq", where)
        if encodec.get("autoencoder", "seanet") != "seanet" or encodec.get("quantizer", "rvq") != "rvq":
            raise ModelError(f"{where} is not a SEANet + RVQ EnCodec, which is the only kind supported")
        enc_over = _optional(seanet.get("encoder"), "encoder", where)
        dec_over = _optional(seanet.get("decoder"), "decoder", where)
        if encodec.get("renormalize"):
            raise ModelError(f"{where} renormalises its input, which this build does not support")
        params = _optional(seanet.get("activation_params"), "activation_params", where)
        alpha = _number(params, "alpha", where, float, default=1.0, lo=-1e3, hi=1e3, at="seanet.activation_params")
        if str(seanet.get("activation", "ELU")) != "ELU" or alpha != 1.0:
            raise ModelError(f"{where} uses a SEANet activation other than ELU(1), which is not supported")
        lstm = _number(seanet, "lstm", where, default=2, lo=0, hi=16, at="seanet")
        if dec_over.get("final_activation") or lstm < 1:
            raise ModelError(f"{where} uses a SEANet variant (final activation or no LSTM) that is not supported")
        if any(k in enc_over or k in dec_over for k in ("n_filters", "ratios", "dimension", "lstm")):
            raise ModelError(f"{where} gives its encoder and decoder different shapes, which is not supported")
        channels = _number(seanet, "channels", where, at="seanet", hi=64)
        if channels != 1:
            raise ModelError(f"{where} is a {channels}-channel EnCodec; MusicGen-Stem's are mono")
        ratios = seanet.get("ratios")
        if not isinstance(ratios, list) or not 1 <= len(ratios) <= 16:
            raise ModelError(f"{where}'s xp.cfg has no seanet.ratios list (1-16 strides): the file is damaged")

        def small(section: Mapping, key: str, default: int, at: str, lo: int = 1) -> int:
            return _number(section, key, where, default=default, lo=lo, hi=64, at=at)

        def flag(section: Mapping, key: str, default: bool, at: str) -> bool:
            value = section.get(key, default)
            if not isinstance(value, bool):
                raise ModelError(f"{where}'s xp.cfg sets {at}.{key} to {_short(value)}, which is not true or "
                                 "false: the file is damaged")
            return value

        pad_mode = seanet.get("pad_mode", "constant")
        if pad_mode not in ("constant", "reflect"):
            raise ModelError(f"{where}'s xp.cfg sets seanet.pad_mode to {_short(pad_mode)}; 'constant' and "
                             "'reflect' are supported")
        return cls(
            sampling_rate=_number(encodec, "sample_rate", where, lo=1000, hi=384000, at="encodec"),
            audio_channels=1,
            num_filters=_number(seanet, "n_filters", where, hi=4096, at="seanet"),
            hidden_size=_number(seanet, "dimension", where, hi=1 << 16, at="seanet"),
            upsampling_ratios=tuple(small({"r": r}, "r", 0, "seanet.ratios") for r in ratios),
            codebook_size=_number(rvq, "bins", where, lo=2, at="rvq"),
            kernel_size=small(seanet, "kernel_size", 7, "seanet"),
            last_kernel_size=small(seanet, "last_kernel_size", 7, "seanet"),
            residual_kernel_size=small(seanet, "residual_kernel_size", 3, "seanet"),
            dilation_growth_rate=small(seanet, "dilation_base", 2, "seanet"),
            num_residual_layers=small(seanet, "n_residual_layers", 1, "seanet", lo=0),
            num_lstm_layers=lstm,
            compress=small(seanet, "compress", 2, "seanet"),
            use_causal_conv=flag(seanet, "causal", flag(encodec, "causal", False, "encodec"), "seanet"),
            pad_mode=pad_mode,
            trim_right_ratio=_number(dec_over, "trim_right_ratio", where, float, lo=0, hi=1, at="seanet.decoder",
                                     default=_number(seanet, "trim_right_ratio", where, float, default=1.0, lo=0,
                                                     hi=1, at="seanet")),
            use_conv_shortcut=not flag(seanet, "true_skip", True, "seanet"),
            n_q=_number(rvq, "n_q", where, hi=64, at="rvq"),
        )

    @property
    def frame_rate(self) -> int:
        # audiocraft: sample_rate // hop_length
        return self.sampling_rate // self.hop_length


@dataclass(frozen=True)
class StemLMConfig:
    """The language model, its delay pattern and its text conditioning, from the LM's xp.cfg."""

    decoder: DecoderConfig
    delays: tuple[int, ...]
    text_dim: int
    """The T5 width ``output_proj`` expects (768 for t5-base)."""
    t5_name: str
    cfg_coef: float
    sample_rate: int
    segment_seconds: float
    sources: tuple[str, ...] = SOURCES
    cross_attention_pos_emb: bool = False
    cross_attention_pos_emb_scale: float = 1.0

    @property
    def num_codebooks(self) -> int:
        return self.decoder.num_codebooks

    @property
    def card(self) -> int:
        return self.decoder.vocab_size

    @property
    def special_token(self) -> int:
        """audiocraft's ``special_token_id``: the cardinality, one past the last code."""
        return self.card

    @classmethod
    def from_xp_cfg(cls, cfg: Mapping, where: str, text_dim: int | None = None) -> "StemLMConfig":
        if cfg.get("lm_model", "transformer_lm") != "transformer_lm":
            raise ModelError(f"{where} is a {cfg.get('lm_model')} model, not a transformer LM: it is not MusicGen-Stem")
        lm = _section(cfg, "transformer_lm", where)
        at = "transformer_lm"
        n_q, card = _number(lm, "n_q", where, hi=64, at=at), _number(lm, "card", where, lo=2, at=at)
        dim = _number(lm, "dim", where, hi=1 << 16, at=at)
        heads = _number(lm, "num_heads", where, hi=1024, at=at)
        layers = _number(lm, "num_layers", where, hi=1024, at=at)
        hidden_scale = _number(lm, "hidden_scale", where, float, default=4, lo=0.01, hi=64, at=at)
        checks = {
            "pre-norm layers (norm_first)": lm.get("norm_first") is True,
            "layer norm": lm.get("norm", "layer_norm") == "layer_norm",
            "sinusoidal positions": lm.get("positional_embedding", "sin") == "sin",
            "positional scale 1": _number(lm, "positional_scale", where, float, default=1.0, lo=-1e6, hi=1e6, at=at) == 1,
            "max period 10000": _number(lm, "max_period", where, float, default=10000, lo=-1e9, hi=1e9, at=at) == 1e4,
            "bias-free attention": not lm.get("bias_attn", True),
            "bias-free feed-forward": not lm.get("bias_ff", True),
            "bias-free output heads": not lm.get("bias_proj", True),
            "no layer scale": lm.get("layer_scale") is None,
            "no q/k layer norm": not lm.get("qk_layer_norm") and not lm.get("qk_layer_norm_cross"),
            "one key/value head per query head": _number(lm, "kv_repeat", where, default=1, hi=1024, at=at) == 1,
            "gelu activation": lm.get("activation", "gelu") == "gelu",
            "full causal context": lm.get("past_context") is None and lm.get("causal", True) is not False,
        }
        failed = [name for name, ok in checks.items() if not ok]
        if failed:
            raise ModelError(f"{where} is an LM variant this build cannot run (it needs {failed[0]})")
        if dim % heads:
            raise ModelError(f"{where}'s xp.cfg is inconsistent: dim {dim} is not a multiple of num_heads {heads}")
        pattern = _section(cfg, "codebooks_pattern", where)
        if pattern.get("modeling") != "delay":
            raise ModelError(f"{where} uses the {pattern.get('modeling')!r} codebook pattern; MusicGen-Stem uses 'delay'")
        delay = _optional(pattern.get("delay"), "delay", where)
        listed = delay.get("delays") or list(range(n_q))
        if not isinstance(listed, list) or len(listed) != n_q:
            raise ModelError(f"{where}'s xp.cfg has {len(listed) if isinstance(listed, list) else 'no list of'} "
                             f"delays for {n_q} codebooks")
        delays = tuple(_number({"d": d}, "d", where, lo=0, hi=4096, at="codebooks_pattern.delay.delays") for d in listed)
        if _number(delay, "flatten_first", where, default=0, lo=0, hi=4096, at="codebooks_pattern.delay") \
                or _number(delay, "empty_initial", where, default=0, lo=0, hi=4096, at="codebooks_pattern.delay"):
            raise ModelError(f"{where} uses a flattened or padded delay pattern, which is not supported")
        fuser = _section(cfg, "fuser", where)
        if fuser.get("cross") != ["description"] or fuser.get("sum") or fuser.get("prepend") \
                or fuser.get("input_interpolate"):
            raise ModelError(f"{where} is conditioned on more than a text description, which is not supported")
        conditioners = _section(cfg, "conditioners", where)
        desc = conditioners.get("description")
        if not isinstance(desc, Mapping) or desc.get("model") != "t5":
            raise ModelError(f"{where} is not conditioned by a T5 text encoder")
        t5 = _optional(desc.get("t5"), "t5", where)
        t5_name = str(t5.get("name", "t5-base"))
        widths = {"t5-small": 512, "t5-base": 768, "t5-large": 1024, "t5-3b": 1024, "t5-11b": 1024,
                  "google/flan-t5-small": 512, "google/flan-t5-base": 768, "google/flan-t5-large": 1024}
        cfg_section = _optional(cfg.get("classifier_free_guidance"), "classifier_free_guidance", where)
        stems = _optional(cfg.get("multistem_compression_model_checkpoints"),
                          "multistem_compression_model_checkpoints", where)
        listed = stems.get("sources") or list(SOURCES)
        if not isinstance(listed, list) or not all(isinstance(name, str) for name in listed):
            raise ModelError(f"{where}'s xp.cfg has no list of source names: the file is damaged")
        sources = tuple(listed)
        if sorted(sources) != sorted(SOURCES):
            raise ModelError(f"{where} separates music into {', '.join(sources)}; MusicGen-Stem's stems are bass, drums, other")
        dataset = _optional(cfg.get("dataset"), "dataset", where)
        decoder = checked(DecoderConfig, dict(
            vocab_size=card, hidden_size=dim, num_hidden_layers=layers,
            ffn_dim=int(hidden_scale * dim), num_attention_heads=heads, num_codebooks=n_q,
            activation_function="gelu", pad_token_id=card, bos_token_id=card,
        ), where, "xp.cfg (as a decoder)")
        return cls(
            decoder=decoder, delays=delays, text_dim=int(text_dim or widths.get(t5_name, 768)), t5_name=t5_name,
            cfg_coef=_number(cfg_section, "inference_coef", where, float, default=3.0, lo=0, hi=100,
                             at="classifier_free_guidance"),
            sample_rate=_number(cfg, "sample_rate", where, lo=1000, hi=384000),
            segment_seconds=_number(dataset, "segment_duration", where, float, default=30, lo=0.1, hi=3600,
                                    at="dataset"),
            sources=sources,
            cross_attention_pos_emb=bool(fuser.get("cross_attention_pos_emb", False)),
            cross_attention_pos_emb_scale=_number(fuser, "cross_attention_pos_emb_scale", where, float, default=1.0,
                                                  lo=-1e6, hi=1e6, at="fuser"),
        )


def codebooks_per_stem(sources: tuple[str, ...], codecs: Mapping[str, EncodecConfig]) -> dict[str, list[int]]:
    """``{'bass': [0], 'drums': [1], 'other': [2, 3, 4, 5]}``: which LM streams belong to which stem."""
    out, start = {}, 0
    for name in sources:
        n = codecs[name].num_quantizers
        out[name] = list(range(start, start + n))
        start += n
    return out

