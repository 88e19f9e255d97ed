"""The sampler against the distribution it claims, the KV cache at any fill, and random streams across windows.

Token frequencies over many independent draws are compared with the softmax of the masked
logits (top-k, top-p, temperature) by a chi-square statistic, so a sampler that keeps the
wrong set or scales the wrong way fails, not only one that is not reproducible.
"""

from __future__ import annotations

from pathlib import Path

import mlx.core as mx
import numpy as np
import pytest

from engine.errors import BackendError
from engine.musicgen.decoder import KVCache
from engine.musicgen.pipeline import MusicGenPipeline
from engine.musicgen.sampling import SamplingParams, choose_tokens, row_keys

TINY = Path(__file__).parent / "fixtures" / "musicgen-tiny"
LOGITS = np.log(np.array([0.30, 0.22, 0.16, 0.12, 0.08, 0.05, 0.04, 0.03])).astype(np.float32)
DRAWS = 40000


def expected_probs(params: SamplingParams) -> np.ndarray:
    """Written from the definitions, independently of the sampler's code."""
    z = LOGITS.astype(np.float64) / params.temperature
    keep = np.ones_like(z, dtype=bool)
    if 0 < params.top_k < len(z):
        keep &= z >= np.sort(z)[-params.top_k]
    p = np.where(keep, np.exp(z - z.max()), 0.0)
    p /= p.sum()
    if 0 < params.top_p < 1:
        order = np.argsort(-p)
        before = np.cumsum(p[order]) - p[order]
        kept = np.zeros_like(keep)
        kept[order[before < params.top_p]] = True
        p = np.where(kept, p, 0.0)
        p /= p.sum()
    return p


def frequencies(params: SamplingParams) -> np.ndarray:
    logits = mx.broadcast_to(mx.array(LOGITS), (DRAWS, 1, len(LOGITS)))
    tokens, _ = choose_tokens(logits, params, row_keys(params.seed, DRAWS))
    return np.bincount(np.array(tokens).ravel(), minlength=len(LOGITS)) / DRAWS


@pytest.mark.parametrize("params", [
    SamplingParams(top_k=0, seed=1),
    SamplingParams(top_k=3, seed=2),
    SamplingParams(top_k=0, top_p=0.5, seed=3),
    SamplingParams(top_k=0, top_p=0.8, seed=4),
    SamplingParams(top_k=5, top_p=0.7, temperature=0.7, seed=5),
    SamplingParams(top_k=0, temperature=2.5, seed=6),
], ids=["plain", "top-k 3", "top-p 0.5", "top-p 0.8", "k5 p0.7 t0.7", "t2.5"])
def test_token_frequencies_follow_the_masked_softmax(params):
    p = expected_probs(params)
    f = frequencies(params)
    assert (f[p == 0] == 0).all(), f"tokens outside the kept set were drawn: {f[p == 0]}"
    kept = p > 0
    chi2 = DRAWS * ((f[kept] - p[kept]) ** 2 / p[kept]).sum()
    # 99.9th percentile of chi-square with <= 7 degrees of freedom is 24.3
    assert chi2 < 24.3, f"chi-square {chi2:.1f}: frequencies {np.round(f, 3)} vs {np.round(p, 3)}"


def test_top_p_keeps_exactly_the_smallest_set_reaching_p():
    # probabilities 0.30, 0.22, 0.16: p = 0.5 keeps two tokens, p = 0.53 keeps three
    assert (frequencies(SamplingParams(top_k=0, top_p=0.5, seed=9)) > 0).sum() == 2
    assert (frequencies(SamplingParams(top_k=0, top_p=0.53, seed=9)) > 0).sum() == 3


@pytest.mark.parametrize("field,value", [
    ("cfg_coef", float("nan")), ("cfg_coef", float("inf")), ("top_k", 10**12), ("top_k", -1), ("top_k", 2.5),
    ("temperature", float("inf")), ("temperature", 0.0), ("temperature", -1.0), ("temperature", float("nan")),
    ("top_p", 1.5), ("top_p", -0.1), ("top_p", float("nan")), ("seed", "x"),
])
def test_bad_generation_parameters_are_one_sentence(field, value):
    with pytest.raises(BackendError) as exc:
        SamplingParams(**{field: value})
    text = str(exc.value)
    assert "\n" not in text and 15 < len(text) < 200


@pytest.mark.parametrize("first", [1, 5, 255, 256, 257, 300])
@pytest.mark.parametrize("second", [1, 7, 256, 600])
def test_kv_cache_takes_any_update_after_any_fill(first, second):
    rng = np.random.default_rng(first * 1000 + second)
    a = rng.standard_normal((2, 3, first, 4)).astype(np.float32)
    b = rng.standard_normal((2, 3, second, 4)).astype(np.float32)
    cache = KVCache()
    cache.update(mx.array(a), mx.array(a))
    cache.update(mx.array(rng.standard_normal((2, 3, 1, 4)).astype(np.float32)), mx.array(np.zeros((2, 3, 1, 4), np.float32)))
    keys, values = cache.update(mx.array(b), mx.array(b))
    assert keys.shape == (2, 3, first + 1 + second, 4) and cache.offset == first + 1 + second
    np.testing.assert_array_equal(np.array(keys[:, :, :first]), a)
    np.testing.assert_array_equal(np.array(keys[:, :, first + 1:]), b)
    np.testing.assert_array_equal(np.array(values[:, :, first + 1:]), b)


@pytest.fixture(scope="module")
def short_windows(tmp_path_factory):
    return MusicGenPipeline.load(TINY, cache_dir=tmp_path_factory.mktemp("c"), context_seconds=0.4,
                                 extend_stride_seconds=0.24)


def run(job):
    for _ in job:
        pass
    return job


def test_the_random_stream_continues_across_windows(short_windows):
    """Window two draws where window one stopped: restarting the keys per window would repeat draws."""
    from engine.musicgen.generate import Conditioning, TokenGeneration

    pipe = short_windows
    params = SamplingParams(top_k=0, cfg_coef=3.0, seed=11)
    context, stride = pipe.window_plan.context_frames, pipe.window_plan.stride_frames
    job = run(pipe.start(["lofi hip hop", "calm piano"], params, context + stride))
    again = run(pipe.start(["lofi hip hop", "calm piano"], params, context + stride))
    np.testing.assert_array_equal(job.codes, again.codes)
    ids, mask = pipe.tokenizer(["lofi hip hop", "calm piano"])
    first = run(TokenGeneration(pipe.model, Conditioning(ids, mask), params, context, pipe.pattern))
    np.testing.assert_array_equal(first.codes, job.codes[:, :, :context])
    kept = context - stride
    prompt = job.codes[:, :, context - kept: context]
    second = run(TokenGeneration(pipe.model, Conditioning(ids, mask, None, prompt), params, stride, pipe.pattern,
                                 keys=first.keys))
    np.testing.assert_array_equal(second.codes[:, :, kept:], job.codes[:, :, context:])
