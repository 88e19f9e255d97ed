"""The CPU-fast GELU and LayerNorm (engine/musicgen/cpu_ops.py) and the fused decoder projections
compute what the library's own ops and the unfused layout compute."""

from __future__ import annotations

import math

import mlx.core as mx
import mlx.nn as nn
import numpy as np
from mlx.utils import tree_flatten, tree_unflatten

from engine.musicgen import cpu_ops
from engine.musicgen.config import DecoderConfig
from engine.musicgen.decoder import MusicgenForCausalLM


def test_erf_is_as_accurate_as_mlx_erf_and_gelu_matches_nn_gelu():
    xs = np.linspace(-6, 6, 20001).astype(np.float32)
    exact = np.array([math.erf(float(v)) for v in xs])
    ours = np.abs(np.array(cpu_ops.erf(mx.array(xs))) - exact).max()
    theirs = np.abs(np.array(mx.erf(mx.array(xs))) - exact).max()
    assert ours <= max(5e-7, 1.1 * theirs)
    x = mx.array(np.random.default_rng(0).standard_normal((2, 3, 4096)).astype(np.float32) * 3)
    np.testing.assert_allclose(np.array(cpu_ops.gelu(x)), np.array(nn.gelu(x)), atol=2e-6, rtol=1e-6)
    half = x.astype(mx.bfloat16)  # other dtypes take the library's path
    np.testing.assert_array_equal(np.array(cpu_ops.gelu(half).astype(mx.float32)), np.array(nn.gelu(half).astype(mx.float32)))


def test_layer_norm_matches_the_fused_kernel_and_loads_the_same_parameters():
    ln, ref = cpu_ops.LayerNorm(64), nn.LayerNorm(64)
    assert sorted(k for k, _ in tree_flatten(ln.parameters())) == sorted(k for k, _ in tree_flatten(ref.parameters()))
    rng = np.random.default_rng(1)
    params = {"weight": mx.array(rng.standard_normal(64).astype(np.float32)), "bias": mx.array(rng.standard_normal(64).astype(np.float32))}
    ln.update(params)
    ref.update(params)
    x = mx.array(rng.standard_normal((2, 5, 64)).astype(np.float32) * 4 + 1)
    np.testing.assert_allclose(np.array(ln(x)), np.array(ref(x)), atol=2e-6)


def test_fused_projections_and_heads_give_the_unfused_logits():
    config = DecoderConfig(vocab_size=32, hidden_size=16, num_hidden_layers=2, ffn_dim=32, num_attention_heads=2,
                           num_codebooks=3)
    plain = MusicgenForCausalLM(config, cross_attention=True)
    rng = np.random.default_rng(2)
    plain.update(tree_unflatten([(k, mx.array(rng.standard_normal(v.shape).astype(np.float32) * 0.3))
                                 for k, v in tree_flatten(plain.parameters())]))
    fused = MusicgenForCausalLM(config, cross_attention=True)
    fused.update(plain.parameters())
    fused.fuse()
    keys = [k for k, _ in tree_flatten(fused.parameters())]
    assert any("qkv_proj" in k for k in keys) and "lm_head.weight" in keys
    assert not any(".self_attn.q_proj" in k for k in keys) and not any(k.startswith("lm_heads") for k in keys)
    assert any("encoder_attn.k_proj" in k for k in keys)  # cross-attention keeps its own
    fused.fuse()  # a second call changes nothing
    tokens = mx.array(rng.integers(0, 32, size=(2, 3, 5)).astype(np.int32))
    states = mx.array(rng.standard_normal((2, 4, 16)).astype(np.float32))
    mask = mx.ones((2, 4), mx.int32)
    outs = []
    for model in (plain, fused):
        cache = model.make_cache()
        cross = model.cross_states(states, mask)
        first = model(tokens[:, :, :4], cache, cross)
        step = model(tokens[:, :, 4:], cache, cross, last_only=True)
        outs.append((np.array(first), np.array(step)))
    for a, b in zip(*outs):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=2e-5)
    assert fused.dtype == mx.float32
