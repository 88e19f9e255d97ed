"""The T5 encoder that turns a text prompt into conditioning states (after transformers' T5EncoderModel).

Module and parameter names follow transformers so that checkpoint keys load unchanged.
"""

from __future__ import annotations

import math

import mlx.core as mx
import mlx.nn as nn
import numpy as np

from engine.musicgen import cpu_ops
from engine.musicgen.config import T5Config

def gelu_new(x: mx.array) -> mx.array:
    """The tanh approximation of GELU (transformers' ``gelu_new``)."""
    return 0.5 * x * (1.0 + mx.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)))


ACTIVATIONS = {
    "relu": nn.relu,
    "gelu": cpu_ops.gelu,  # nn.gelu's exact GELU, fast on MLX's CPU backend too
    "gelu_new": gelu_new,
    "gelu_pytorch_tanh": gelu_new,
    "silu": nn.silu,
}


def activation(name: str):
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unsupported activation {name!r}") from None


def relative_position_buckets(relative: np.ndarray, num_buckets: int, max_distance: int) -> np.ndarray:
    """T5's bidirectional bucket of each relative distance ``key - query`` (int32, same shape)."""
    relative = np.asarray(relative, dtype=np.int64)
    half = num_buckets // 2
    buckets = (relative > 0).astype(np.int64) * half
    relative = np.abs(relative)
    max_exact = half // 2
    safe = np.maximum(relative, 1).astype(np.float32)  # small distances take the exact branch below
    large = max_exact + (np.log(safe / max_exact) / math.log(max_distance / max_exact) * (half - max_exact)).astype(np.int64)
    large = np.minimum(large, half - 1)
    return (buckets + np.where(relative < max_exact, relative, large)).astype(np.int32)


def clamp_float16(x: mx.array) -> mx.array:
    """Keep float16 activations finite, as transformers' T5 does (its feed-forward can overflow 65504)."""
    if x.dtype != mx.float16:
        return x
    limit = float(np.finfo(np.float16).max) - 1000.0
    return mx.clip(x, -limit, limit)


class T5LayerNorm(nn.Module):
    """RMS norm without mean subtraction or bias."""

    def __init__(self, dims: int, eps: float):
        super().__init__()
        self.weight = mx.ones((dims,))
        self.eps = eps

    def __call__(self, x: mx.array) -> mx.array:
        return mx.fast.rms_norm(x, self.weight, self.eps)


class T5Attention(nn.Module):
    def __init__(self, config: T5Config, has_relative_attention_bias: bool):
        super().__init__()
        inner = config.num_heads * config.d_kv
        self.num_heads = config.num_heads
        self.q = nn.Linear(config.d_model, inner, bias=False)
        self.k = nn.Linear(config.d_model, inner, bias=False)
        self.v = nn.Linear(config.d_model, inner, bias=False)
        self.o = nn.Linear(inner, config.d_model, bias=False)
        if has_relative_attention_bias:
            self.relative_attention_bias = nn.Embedding(config.relative_attention_num_buckets, config.num_heads)
        self.num_buckets = config.relative_attention_num_buckets
        self.max_distance = config.relative_attention_max_distance

    def position_bias(self, length: int) -> mx.array:
        """``[1, H, L, L]`` additive bias from the learned bucket embeddings.

        The bias depends only on ``key - query``, so it is built from the ``2L - 1`` distinct
        distances (a Toeplitz view), never from an ``L x L`` index matrix.
        """
        L = length
        distances = np.arange(-(L - 1), L)  # key - query, from -(L-1) to L-1
        per_distance = self.relative_attention_bias(
            mx.array(relative_position_buckets(distances, self.num_buckets, self.max_distance)))  # [2L-1, H]
        # flipped[h, i, j] = table[i + j] is bias[h, L-1-i, j] (distance j - (L-1-i)).
        table = per_distance.T
        flipped = mx.as_strided(table, shape=(self.num_heads, L, L), strides=(2 * L - 1, 1, 1))
        return flipped[:, ::-1, :][None]

    def __call__(self, x: mx.array, bias: mx.array) -> mx.array:
        B, L, _ = x.shape
        q, k, v = (proj(x).reshape(B, L, self.num_heads, -1).transpose(0, 2, 1, 3) for proj in (self.q, self.k, self.v))
        # T5 folds the 1/sqrt(d) scale into its initialisation: attention is unscaled.
        out = mx.fast.scaled_dot_product_attention(q, k, v, scale=1.0, mask=bias)
        return self.o(out.transpose(0, 2, 1, 3).reshape(B, L, -1))


class T5LayerSelfAttention(nn.Module):
    def __init__(self, config: T5Config, has_relative_attention_bias: bool):
        super().__init__()
        self.SelfAttention = T5Attention(config, has_relative_attention_bias)
        self.layer_norm = T5LayerNorm(config.d_model, config.layer_norm_epsilon)

    def __call__(self, x: mx.array, bias: mx.array) -> mx.array:
        return x + self.SelfAttention(self.layer_norm(x), bias)


class T5DenseActDense(nn.Module):
    def __init__(self, config: T5Config):
        super().__init__()
        self.wi = nn.Linear(config.d_model, config.d_ff, bias=False)
        self.wo = nn.Linear(config.d_ff, config.d_model, bias=False)
        self.act = activation(config.activation)

    def __call__(self, x: mx.array) -> mx.array:
        return self.wo(self.act(self.wi(x)))


class T5DenseGatedActDense(nn.Module):
    def __init__(self, config: T5Config):
        super().__init__()
        self.wi_0 = nn.Linear(config.d_model, config.d_ff, bias=False)
        self.wi_1 = nn.Linear(config.d_model, config.d_ff, bias=False)
        self.wo = nn.Linear(config.d_ff, config.d_model, bias=False)
        self.act = activation(config.activation)

    def __call__(self, x: mx.array) -> mx.array:
        return self.wo(self.act(self.wi_0(x)) * self.wi_1(x))


class T5LayerFF(nn.Module):
    def __init__(self, config: T5Config):
        super().__init__()
        self.DenseReluDense = T5DenseGatedActDense(config) if config.is_gated else T5DenseActDense(config)
        self.layer_norm = T5LayerNorm(config.d_model, config.layer_norm_epsilon)

    def __call__(self, x: mx.array) -> mx.array:
        return x + self.DenseReluDense(self.layer_norm(x))


class T5Block(nn.Module):
    def __init__(self, config: T5Config, has_relative_attention_bias: bool):
        super().__init__()
        self.layer = [T5LayerSelfAttention(config, has_relative_attention_bias), T5LayerFF(config)]

    def __call__(self, x: mx.array, bias: mx.array) -> mx.array:
        return self.layer[1](self.layer[0](x, bias))


class T5Stack(nn.Module):
    def __init__(self, config: T5Config):
        super().__init__()
        self.block = [T5Block(config, has_relative_attention_bias=(i == 0)) for i in range(config.num_layers)]
        self.final_layer_norm = T5LayerNorm(config.d_model, config.layer_norm_epsilon)

    def __call__(self, x: mx.array, mask: mx.array) -> mx.array:
        L = x.shape[1]
        bias = self.block[0].layer[0].SelfAttention.position_bias(L).astype(x.dtype)
        # Padding keys get -inf through a boolean select (an additive -1e9 is -inf in float16
        # anyway, and summed with the bias it could overflow). A prompt with no key at all
        # would leave a row all -inf (NaN): such a row attends to everything instead.
        keep = mask > 0
        keep = mx.logical_or(keep, mx.logical_not(keep.any(axis=-1, keepdims=True)))
        bias = mx.where(keep[:, None, None, :], bias, mx.array(-mx.inf, x.dtype))
        for block in self.block:
            x = clamp_float16(block(x, bias))
        return self.final_layer_norm(x)


class T5EncoderModel(nn.Module):
    """``input_ids [B, L]`` and ``attention_mask [B, L]`` -> hidden states ``[B, L, d_model]``."""

    def __init__(self, config: T5Config):
        super().__init__()
        self.config = config
        self.shared = nn.Embedding(config.vocab_size, config.d_model)
        self.encoder = T5Stack(config)

    def __call__(self, input_ids: mx.array, attention_mask: mx.array) -> mx.array:
        return self.encoder(self.shared(input_ids), attention_mask)

    @staticmethod
    def sanitize(weights: dict[str, mx.array]) -> dict[str, mx.array]:
        """transformers ties ``encoder.embed_tokens`` to ``shared``; keep one copy."""
        if "shared.weight" not in weights and "encoder.embed_tokens.weight" in weights:
            weights["shared.weight"] = weights["encoder.embed_tokens.weight"]
        weights.pop("encoder.embed_tokens.weight", None)
        return weights
