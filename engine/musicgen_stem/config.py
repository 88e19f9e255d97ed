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

import yaml

from engine.errors import ModelError
from engine.musicgen.config import DecoderConfig, EncodecConfig

SOURCES = ("bass", "drums", "other")
"""audiocraft's stem order (``multistem_compression_model_checkpoints.sources``): codebooks follow it."""

_REF = re.compile(r"\$\{([^}]+)\}")


def parse_xp_cfg(text: Any, where: str) -> dict:
    """The YAML string -> a plain dict with ``${dotted.path}`` interpolations resolved."""
    if not isinstance(text, str):
        raise ModelError(f"{where} has no xp.cfg text: it is not an audiocraft export")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ModelError(f"{where} has an unreadable xp.cfg ({exc.__class__.__name__}): the file is damaged") from None
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

            return _REF.sub(text, node)
        return node

    return resolve(data)


def _section(cfg: Mapping, name: str, where: str) -> dict:
    value = cfg.get(name)
    if not isinstance(value, Mapping):
        raise ModelError(f"{where}'s xp.cfg has no {name!r} section: it is not the expected audiocraft model")
    return dict(value)


def _number(section: Mapping, key: str, where: str, kind=int):
    value = section.get(key)
    if value is None or isinstance(value, bool):
        raise ModelError(f"{where}'s xp.cfg lacks {key}: it is not the expected audiocraft model")
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ModelError(f"{where}'s xp.cfg has a non-numeric {key} ({value!r})") from None


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
        enc_over = dict(seanet.get("encoder") or {})
        dec_over = dict(seanet.get("decoder") or {})
        if encodec.get("renormalize"):
            raise ModelError(f"{where} renormalises its input, which this build does not support")
        if str(seanet.get("activation", "ELU")) != "ELU" or float((seanet.get("activation_params") or {}).get("alpha", 1.0)) != 1.0:
            raise ModelError(f"{where} uses a SEANet activation other than ELU(1), which is not supported")
        if dec_over.get("final_activation") or int(seanet.get("lstm", 2) or 0) < 1:
            raise ModelError(f"{where} uses a SEANet variant (final activation or no LSTM) that is not supported")
        if any(k in enc_over or k in dec_over for k in ("n_filters", "ratios", "dimension", "lstm")):
            raise ModelError(f"{where} gives its encoder and decoder different shapes, which is not supported")
        channels = _number(seanet, "channels", where)
        if channels != 1:
            raise ModelError(f"{where} is a {channels}-channel EnCodec; MusicGen-Stem's are mono")
        return cls(
            sampling_rate=_number(encodec, "sample_rate", where),
            audio_channels=1,
            num_filters=_number(seanet, "n_filters", where),
            hidden_size=_number(seanet, "dimension", where),
            upsampling_ratios=tuple(int(r) for r in seanet.get("ratios") or ()),
            codebook_size=_number(rvq, "bins", where),
            kernel_size=int(seanet.get("kernel_size", 7)),
            last_kernel_size=int(seanet.get("last_kernel_size", 7)),
            residual_kernel_size=int(seanet.get("residual_kernel_size", 3)),
            dilation_growth_rate=int(seanet.get("dilation_base", 2)),
            num_residual_layers=int(seanet.get("n_residual_layers", 1)),
            num_lstm_layers=int(seanet.get("lstm", 2)),
            compress=int(seanet.get("compress", 2)),
            use_causal_conv=bool(seanet.get("causal", encodec.get("causal", False))),
            pad_mode=str(seanet.get("pad_mode", "constant")),
            trim_right_ratio=float(dec_over.get("trim_right_ratio", seanet.get("trim_right_ratio", 1.0))),
            use_conv_shortcut=not bool(seanet.get("true_skip", True)),
            n_q=_number(rvq, "n_q", where),
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
        n_q, card = _number(lm, "n_q", where), _number(lm, "card", where)
        dim, heads, layers = _number(lm, "dim", where), _number(lm, "num_heads", where), _number(lm, "num_layers", where)
        checks = {
            "pre-norm layers (norm_first)": lm.get("norm_first") is True,
            "layer norm": lm.get("norm", "layer_norm") == "layer_norm",
            "sinusoidal positions": lm.get("positional_embedding", "sin") == "sin",
            "positional scale 1": float(lm.get("positional_scale", 1.0)) == 1.0,
            "max period 10000": float(lm.get("max_period", 10000)) == 10000.0,
            "bias-free attention": not lm.get("bias_attn", True),
            "bias-free feed-forward": not lm.get("bias_ff", True),
            "bias-free output heads": not lm.get("bias_proj", True),
            "no layer scale": lm.get("layer_scale") is None,
            "no q/k layer norm": not lm.get("qk_layer_norm") and not lm.get("qk_layer_norm_cross"),
            "one key/value head per query head": int(lm.get("kv_repeat", 1)) == 1,
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
        delay = dict(pattern.get("delay") or {})
        delays = tuple(int(d) for d in (delay.get("delays") or range(n_q)))
        if len(delays) != n_q or min(delays) < 0:
            raise ModelError(f"{where}'s xp.cfg has {len(delays)} delays for {n_q} codebooks")
        if int(delay.get("flatten_first", 0) or 0) or int(delay.get("empty_initial", 0) or 0):
            raise ModelError(f"{where} uses a flattened or padded delay pattern, which is not supported")
        fuser = _section(cfg, "fuser", where)
        if list(fuser.get("cross") or []) != ["description"] or fuser.get("sum") or fuser.get("prepend") \
                or fuser.get("input_interpolate"):
            raise ModelError(f"{where} is conditioned on more than a text description, which is not supported")
        conditioners = _section(cfg, "conditioners", where)
        desc = conditioners.get("description")
        if not isinstance(desc, Mapping) or desc.get("model") != "t5":
            raise ModelError(f"{where} is not conditioned by a T5 text encoder")
        t5 = dict(desc.get("t5") or {})
        t5_name = str(t5.get("name", "t5-base"))
        widths = {"t5-small": 512, "t5-base": 768, "t5-large": 1024, "t5-3b": 1024, "t5-11b": 1024,
                  "google/flan-t5-small": 512, "google/flan-t5-base": 768, "google/flan-t5-large": 1024}
        cfg_section = dict(cfg.get("classifier_free_guidance") or {})
        stems = dict(cfg.get("multistem_compression_model_checkpoints") or {})
        sources = tuple(stems.get("sources") or SOURCES)
        if sorted(sources) != sorted(SOURCES):
            raise ModelError(f"{where} separates music into {', '.join(sources)}; MusicGen-Stem's stems are bass, drums, other")
        dataset = dict(cfg.get("dataset") or {})
        decoder = DecoderConfig(
            vocab_size=card, hidden_size=dim, num_hidden_layers=layers,
            ffn_dim=int(float(lm.get("hidden_scale", 4)) * dim), num_attention_heads=heads, num_codebooks=n_q,
            activation_function="gelu", pad_token_id=card, bos_token_id=card,
        )
        return cls(
            decoder=decoder, delays=delays, text_dim=int(text_dim or widths.get(t5_name, 768)), t5_name=t5_name,
            cfg_coef=float(cfg_section.get("inference_coef", 3.0)),
            sample_rate=_number(cfg, "sample_rate", where),
            segment_seconds=float(dataset.get("segment_duration", 30) or 30),
            sources=sources,
            cross_attention_pos_emb=bool(fuser.get("cross_attention_pos_emb", False)),
            cross_attention_pos_emb_scale=float(fuser.get("cross_attention_pos_emb_scale", 1.0)),
        )


def codebooks_per_stem(sources: tuple[str, ...], codecs: Mapping[str, EncodecConfig]) -> dict[str, list[int]]:
    """``{'bass': [0], 'drums': [1], 'other': [2, 3, 4, 5]}``: which LM streams belong to which stem."""
    out, start = {}, 0
    for name in sources:
        n = codecs[name].num_quantizers
        out[name] = list(range(start, start + n))
        start += n
    return out

