"""audiocraft's ``LMModel`` on the MLX MusicGen decoder layers.

The transformer is the same as MusicGen's (pre-norm, sinusoidal positions, cross-attention
to T5 states, one embedding and one head per codebook); only the key names and the fused
``in_proj_weight`` differ, so ``sanitize`` renames audiocraft keys onto
``engine.musicgen.decoder`` modules. The T5 conditioner's ``output_proj`` becomes
``enc_to_dec_proj``.
"""

from __future__ import annotations

import re

import mlx.core as mx
import mlx.nn as nn
import numpy as np

from engine.musicgen.decoder import MusicgenForCausalLM, sinusoidal_positions
from engine.musicgen_stem.config import StemLMConfig

_LAYER_RENAMES = {
    "norm1": "self_attn_layer_norm",
    "norm_cross": "encoder_attn_layer_norm",
    "norm2": "final_layer_norm",
    "linear1": "fc1",
    "linear2": "fc2",
}
_LAYER_KEY = re.compile(r"transformer\.layers\.(\d+)\.(.+)")


class StemLM(nn.Module):
    """``tokens [B, K, T]`` + cross-attention states -> logits ``[B, K, T, card]``."""

    def __init__(self, config: StemLMConfig):
        super().__init__()
        self.config = config
        self.decoder = MusicgenForCausalLM(config.decoder, cross_attention=True)
        self.enc_to_dec_proj = nn.Linear(config.text_dim, config.decoder.hidden_size)

    def condition_states(self, t5_states: mx.array, mask: mx.array, null: bool) -> mx.array:
        """T5 states ``[B, L, text_dim]`` -> what the decoder attends to ``[B, L, D]``.

        As audiocraft's T5Conditioner: project, zero the padding; the null condition (for
        guidance) is all zeros. Then the fuser's optional positional embedding.
        """
        states = self.enc_to_dec_proj(t5_states) * mask[..., None].astype(t5_states.dtype)
        if null:
            states = mx.zeros_like(states)
        if self.config.cross_attention_pos_emb:
            B, L, D = states.shape
            pos = mx.array(sinusoidal_positions(np.arange(L), D)).astype(states.dtype)
            states = states + self.config.cross_attention_pos_emb_scale * pos
        return states

    def cross(self, states: mx.array) -> list:
        """Per-layer cross keys/values. audiocraft's cross-attention takes no mask: padded
        (zeroed) positions keep their share of the softmax, so every position is attended."""
        B, L, _ = states.shape
        return self.decoder.cross_states(states, mx.ones((B, L), dtype=mx.int32))

    def sanitize(self, weights: dict[str, mx.array]) -> dict[str, mx.array]:
        """audiocraft LM keys -> this module's keys (fused q/k/v split, names mapped)."""
        out: dict[str, mx.array] = {}
        D = self.config.decoder.hidden_size
        for key, value in weights.items():
            key = key.replace(".mha.", ".")  # torch-MHA variant of StreamingMultiheadAttention
            if key.startswith("emb."):
                out["decoder.model.decoder.embed_tokens." + key[len("emb."):]] = value
            elif key.startswith("linears."):
                out["decoder.lm_heads." + key[len("linears."):]] = value
            elif key.startswith("out_norm."):
                out["decoder.model.decoder.layer_norm." + key[len("out_norm."):]] = value
            elif key.startswith("condition_provider.conditioners.description.output_proj."):
                out["enc_to_dec_proj." + key.rsplit(".", 1)[1]] = value
            elif (m := _LAYER_KEY.fullmatch(key)):
                i, rest = m.group(1), m.group(2)
                base = f"decoder.model.decoder.layers.{i}."
                head, _, tail = rest.partition(".")
                attn = {"self_attn": "self_attn", "cross_attention": "encoder_attn"}.get(head)
                if attn and tail == "in_proj_weight":
                    q, k, v = value[:D], value[D: 2 * D], value[2 * D:]
                    out[base + f"{attn}.q_proj.weight"] = q
                    out[base + f"{attn}.k_proj.weight"] = k
                    out[base + f"{attn}.v_proj.weight"] = v
                elif attn:
                    out[base + f"{attn}.{tail}"] = value
                else:
                    out[base + f"{_LAYER_RENAMES.get(head, head)}.{tail}"] = value
            else:
                out[key] = value  # unknown keys are reported or dropped by the loader
        return out
