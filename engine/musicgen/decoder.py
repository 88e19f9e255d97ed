"""The MusicGen decoder: a transformer over summed codebook embeddings with one head per codebook.

After transformers' ``MusicgenForCausalLM``; names match its checkpoint keys (``model.decoder.*``,
``lm_heads.*``). The melody model has no cross-attention: its conditioning is a prefix of
input embeddings instead.
"""

from __future__ import annotations

import math

import mlx.core as mx
import mlx.nn as nn
import numpy as np

from engine.musicgen.config import DecoderConfig
from engine.musicgen.cpu_ops import LayerNorm
from engine.musicgen.t5 import activation


def sinusoidal_positions(positions: np.ndarray, dims: int) -> np.ndarray:
    """transformers' (tensor2tensor) sinusoidal table rows for ``positions``: ``[cos | sin]``."""
    half = dims // 2
    scale = math.log(10000) / (half - 1)
    freqs = np.exp(np.arange(half, dtype=np.float32) * np.float32(-scale)).astype(np.float32)
    angles = positions.astype(np.float32)[:, None] * freqs[None, :]
    table = np.concatenate([np.cos(angles), np.sin(angles)], axis=1)
    if dims % 2:
        table = np.concatenate([table, np.zeros((len(positions), 1), np.float32)], axis=1)
    return table


class PositionTable:
    """The sinusoidal table as one MLX array per dtype, built once and grown by doubling.

    Rebuilding it in numpy on every decoding step cost a host round trip per step.
    """

    def __init__(self, dims: int, length: int = 2048):
        self.dims = dims
        self._length = length
        self._tables: dict = {}

    def rows(self, offset: int, length: int, dtype) -> mx.array:
        """``[length, dims]`` rows for positions ``offset ... offset + length - 1``."""
        if offset + length > self._length:
            while offset + length > self._length:
                self._length *= 2
            self._tables.clear()
        table = self._tables.get(dtype)
        if table is None:
            table = mx.array(sinusoidal_positions(np.arange(self._length), self.dims)).astype(dtype)
            self._tables[dtype] = table
        return table[offset: offset + length]


class KVCache:
    """Keys and values of one self-attention layer, ``[B, H, L, D]``, grown in chunks of ``step``.

    Growth follows mlx-lm's rule: the new room is sized from the update (``ceil(L / step)``
    chunks), and a partly filled buffer is first cut to what it holds, so an update of any
    length after any fill fits.
    """

    step = 256

    def __init__(self):
        self.keys: mx.array | None = None
        self.values: mx.array | None = None
        self.offset = 0

    def update(self, keys: mx.array, values: mx.array) -> tuple[mx.array, mx.array]:
        B, H, L, D = keys.shape
        prev = self.offset
        if self.keys is None or prev + L > self.keys.shape[2]:
            chunks = (self.step + L - 1) // self.step
            new_k = mx.zeros((B, H, chunks * self.step, D), keys.dtype)
            new_v = mx.zeros((B, H, chunks * self.step, values.shape[3]), values.dtype)
            if self.keys is None:
                self.keys, self.values = new_k, new_v
            else:
                if prev % self.step:
                    self.keys, self.values = self.keys[:, :, :prev], self.values[:, :, :prev]
                self.keys = mx.concatenate([self.keys, new_k], axis=2)
                self.values = mx.concatenate([self.values, new_v], axis=2)
        self.offset = prev + L
        self.keys[:, :, prev: self.offset] = keys
        self.values[:, :, prev: self.offset] = values
        return self.keys[:, :, : self.offset], self.values[:, :, : self.offset]


def cross_attention_mask(mask: mx.array) -> mx.array:
    """``[B, S]`` 0/1 padding mask -> boolean ``[B, 1, 1, S]`` (True = attend).

    Boolean, not an additive ``-1e9``: that constant is ``-inf`` in float16 and turned the
    unconditional (all-masked) rows of guidance into NaN. A row with no key at all (the
    null condition) attends to every key instead; its states are zeros, so it reads zeros,
    which is what transformers' uniform softmax over masked keys gives too.
    """
    keep = mask > 0
    empty = mx.logical_not(keep.any(axis=-1, keepdims=True))
    return mx.logical_or(keep, empty)[:, None, None, :]


class MusicgenAttention(nn.Module):
    def __init__(self, dims: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dims // num_heads) ** -0.5
        self.q_proj = nn.Linear(dims, dims, bias=False)
        self.k_proj = nn.Linear(dims, dims, bias=False)
        self.v_proj = nn.Linear(dims, dims, bias=False)
        self.out_proj = nn.Linear(dims, dims, bias=False)

    def heads(self, x: mx.array) -> mx.array:
        B, L, _ = x.shape
        return x.reshape(B, L, self.num_heads, -1).transpose(0, 2, 1, 3)

    def attend(self, q: mx.array, k: mx.array, v: mx.array, mask) -> mx.array:
        out = mx.fast.scaled_dot_product_attention(q, k, v, scale=self.scale, mask=mask)
        B, _, L, _ = out.shape
        return self.out_proj(out.transpose(0, 2, 1, 3).reshape(B, L, -1))

    def self_attention(self, x: mx.array, cache: KVCache, mask) -> mx.array:
        if "qkv_proj" in self:
            q, k, v = mx.split(self.qkv_proj(x), 3, axis=-1)
        else:
            q, k, v = self.q_proj(x), self.k_proj(x), self.v_proj(x)
        k, v = cache.update(self.heads(k), self.heads(v))
        return self.attend(self.heads(q), k, v, mask)

    def fuse(self) -> None:
        """q, k and v as one ``[3D, D]`` projection: one matrix multiply a step instead of three
        (self-attention only; cross-attention's k and v are applied once, to the text)."""
        parts = [self.get(name) for name in ("q_proj", "k_proj", "v_proj")]
        if not all(type(part) is nn.Linear and "bias" not in part for part in parts):
            return  # already fused, or quantised
        fused = nn.Linear(parts[0].weight.shape[1], 3 * parts[0].weight.shape[0], bias=False)
        fused.weight = mx.concatenate([part.weight for part in parts], axis=0)
        mx.eval(fused.weight)
        for name in ("q_proj", "k_proj", "v_proj"):
            del self[name]
        self.qkv_proj = fused

    def cross_keys_values(self, states: mx.array) -> tuple[mx.array, mx.array]:
        return self.heads(self.k_proj(states)), self.heads(self.v_proj(states))


class MusicgenDecoderLayer(nn.Module):
    def __init__(self, config: DecoderConfig, cross_attention: bool):
        super().__init__()
        D = config.hidden_size
        self.self_attn = MusicgenAttention(D, config.num_attention_heads)
        self.self_attn_layer_norm = LayerNorm(D)
        if cross_attention:
            self.encoder_attn = MusicgenAttention(D, config.num_attention_heads)
            self.encoder_attn_layer_norm = LayerNorm(D)
        self.fc1 = nn.Linear(D, config.ffn_dim, bias=False)
        self.fc2 = nn.Linear(config.ffn_dim, D, bias=False)
        self.final_layer_norm = LayerNorm(D)
        self.act = activation(config.activation_function)

    def __call__(self, x: mx.array, cache: KVCache, mask, cross: tuple | None) -> mx.array:
        x = x + self.self_attn.self_attention(self.self_attn_layer_norm(x), cache, mask)
        if cross is not None:
            k, v, cross_mask = cross
            h = self.encoder_attn_layer_norm(x)
            x = x + self.encoder_attn.attend(self.encoder_attn.heads(self.encoder_attn.q_proj(h)), k, v, cross_mask)
        return x + self.fc2(self.act(self.fc1(self.final_layer_norm(x))))


class MusicgenDecoder(nn.Module):
    def __init__(self, config: DecoderConfig, cross_attention: bool):
        super().__init__()
        self.config = config
        self.embed_tokens = [nn.Embedding(config.vocab_size + 1, config.hidden_size) for _ in range(config.num_codebooks)]
        self.layers = [MusicgenDecoderLayer(config, cross_attention) for _ in range(config.num_hidden_layers)]
        self.layer_norm = LayerNorm(config.hidden_size)
        self.positions = PositionTable(config.hidden_size)

    def embed(self, tokens: mx.array) -> mx.array:
        """``[B, K, T]`` codes -> ``[B, T, D]``: the sum of one embedding per codebook.

        ``scale_embedding`` is not applied: transformers' MusicGen reads it but never uses it.
        """
        out = self.embed_tokens[0](tokens[:, 0])
        for k in range(1, len(self.embed_tokens)):
            out = out + self.embed_tokens[k](tokens[:, k])
        return out

    def __call__(self, inputs: mx.array, cache: list[KVCache], cross: list | None) -> mx.array:
        B, L, D = inputs.shape
        offset = cache[0].offset
        x = inputs + self.positions.rows(offset, L, inputs.dtype)
        # One query sees every cached key; several see the keys up to their own position
        # (the causal mask aligned to the cache's end, built inside the fused kernel).
        mask = "causal" if L > 1 else None
        for i, layer in enumerate(self.layers):
            x = layer(x, cache[i], mask, None if cross is None else cross[i])
        return self.layer_norm(x)


class MusicgenModel(nn.Module):
    def __init__(self, config: DecoderConfig, cross_attention: bool):
        super().__init__()
        self.decoder = MusicgenDecoder(config, cross_attention)


class MusicgenForCausalLM(nn.Module):
    """The decoder plus one linear head per codebook.

    ``cross_attention``: False for the melody model, whose conditioning enters as a prefix.
    """

    def __init__(self, config: DecoderConfig, cross_attention: bool = True):
        super().__init__()
        self.config = config
        self.cross_attention = cross_attention
        self.model = MusicgenModel(config, cross_attention)
        self.lm_heads = [nn.Linear(config.hidden_size, config.vocab_size, bias=False) for _ in range(config.num_codebooks)]

    def make_cache(self) -> list[KVCache]:
        return [KVCache() for _ in self.model.decoder.layers]

    def fuse(self) -> "MusicgenForCausalLM":
        """Fuse, in place and once the weights are loaded, each self-attention's q/k/v
        projections and the codebook heads into one matrix each: 48 + 3 fewer matrix multiplies
        a decoding step (about 2% of musicgen-small's step on one CPU thread), same results.
        A checkpoint still loads into the unfused layout (transformers' names)."""
        for layer in self.model.decoder.layers:
            layer.self_attn.fuse()
        heads = self.get("lm_heads")
        if heads and all(type(h) is nn.Linear and "bias" not in h for h in heads):
            fused = nn.Linear(heads[0].weight.shape[1], len(heads) * heads[0].weight.shape[0], bias=False)
            fused.weight = mx.concatenate([h.weight for h in heads], axis=0)
            mx.eval(fused.weight)
            del self["lm_heads"]
            self.lm_head = fused
        return self

    @property
    def dtype(self):
        """The dtype of the weights (the heads')."""
        return (self.lm_head if "lm_head" in self else self.lm_heads[0]).weight.dtype

    def cross_states(self, states: mx.array, mask: mx.array) -> list:
        """Per-layer cross-attention keys/values for ``states [B, S, D]`` with ``mask [B, S]``, computed once."""
        keep = cross_attention_mask(mask)
        return [(*layer.encoder_attn.cross_keys_values(states), keep) for layer in self.model.decoder.layers]

    def __call__(self, tokens: mx.array, cache: list[KVCache], cross: list | None = None,
                 prefix: mx.array | None = None, last_only: bool = False) -> mx.array:
        """``tokens [B, K, T]`` -> logits ``[B, K, T, V]`` (``[B, K, 1, V]`` with ``last_only``).

        ``prefix [B, P, D]``: embeddings placed before the tokens (melody conditioning); their
        outputs are dropped. ``last_only``: run the heads on the last position alone, which
        is all decoding needs (the heads over a 600-frame prompt were a large waste).
        """
        decoder = self.model.decoder
        x = decoder.embed(tokens)
        if prefix is not None:
            x = mx.concatenate([prefix.astype(x.dtype), x], axis=1)
        h = decoder(x, cache, cross)
        if last_only:
            h = h[:, -1:]
        elif prefix is not None:
            h = h[:, prefix.shape[1]:]
        if "lm_head" in self:
            B, T, _ = h.shape
            return self.lm_head(h).reshape(B, T, self.config.num_codebooks, -1).transpose(0, 2, 1, 3)
        return mx.stack([head(h) for head in self.lm_heads], axis=1)
