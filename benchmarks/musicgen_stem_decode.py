"""MusicGen-Stem decoding speed at the released models' LM dimensions (random weights, no download).

Run: .venv/bin/python benchmarks/musicgen_stem_decode.py [--layers 48] [--steps 40] [--codebooks 6]
Times a regeneration window as the backend runs it: the 251-frame summary prefix in one
forward pass, then one decoding step per frame at batch 2 (one prompt + guidance), kept
streams forced. The full model (48 layers x 1536, ~7.4 GB at float32) may not fit a small
machine: ``--layers 8`` times fewer layers; the per-layer cost scales the result.
"""

from __future__ import annotations

import argparse
import time

from resonant_studio.core import fast_blas


def medium_cfg(layers: int, codebooks: int) -> dict:
    delays = [0, 0, 0, 1, 2, 3] if codebooks == 6 else [0, 1, 0, 0, 1, 2, 3]
    return {
        "lm_model": "transformer_lm", "sample_rate": 32000, "dataset": {"segment_duration": 30},
        "transformer_lm": {"n_q": codebooks, "card": 2048, "dim": 1536, "num_heads": 24, "num_layers": layers,
                           "hidden_scale": 4, "norm_first": True, "bias_ff": False, "bias_attn": False,
                           "bias_proj": False, "positional_embedding": "sin"},
        "codebooks_pattern": {"modeling": "delay", "delay": {"delays": delays}},
        "fuser": {"cross": ["description"], "sum": [], "prepend": [], "input_interpolate": []},
        "conditioners": {"description": {"model": "t5", "t5": {"name": "t5-base"}}},
        "classifier_free_guidance": {"inference_coef": 3.0},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=48)
    parser.add_argument("--codebooks", type=int, choices=(6, 7), default=6)
    parser.add_argument("--steps", type=int, default=40, help="decoding steps to time (50 = 1 s of audio)")
    parser.add_argument("--no-openblas", action="store_true", help="keep MLX's bundled BLAS")
    args = parser.parse_args()
    if args.no_openblas:
        import os

        os.environ[fast_blas.DISABLE_ENV] = "1"
    fast_blas.ensure_fast_blas()

    import mlx.core as mx
    import numpy as np

    from engine.musicgen.sampling import SamplingParams
    from engine.musicgen_stem.config import StemLMConfig
    from engine.musicgen_stem.generate import StemTokenGeneration, condition_cross
    from engine.musicgen_stem.lm import StemLM
    from engine.musicgen_stem.pattern import StemDelayPattern

    config = StemLMConfig.from_xp_cfg(medium_cfg(args.layers, args.codebooks), "benchmark")
    lm = StemLM(config)
    mx.eval(lm.parameters())
    pattern = StemDelayPattern(config.delays, config.special_token)
    params = SamplingParams(top_k=250, cfg_coef=3.0, seed=0)
    cross = condition_cross(lm, mx.random.normal((1, 16, config.text_dim)), mx.ones((1, 16)), True)
    K, P = config.num_codebooks, 251
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 2048, size=(1, K, P + args.steps))
    known = np.zeros((K, P + args.steps), bool)
    known[:, :P] = True
    known[:2] = True  # two streams kept (bass and drums in 6cb)

    t0 = time.perf_counter()
    gen = StemTokenGeneration(lm, cross, params, pattern, codes, known, P)
    steps = iter(gen)
    next(steps)  # the prefix pass and the first step
    prefix_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    count = sum(1 for _ in steps)
    step_s = (time.perf_counter() - t0) / max(1, count)
    print(f"BLAS: {fast_blas.describe()}")
    print(f"LM: {args.layers} layers x 1536, {K} codebooks, float32, random weights; batch 2 (1 prompt + CFG)")
    print(f"prefix (251 frames) + first step: {prefix_s:.2f} s; then {count} steps at {1000 * step_s:.0f} ms/step")
    print(f"per layer: {1000 * step_s / args.layers:.1f} ms/step; 48 layers ~ {48 * step_s:.2f} s/step, "
          f"{48 * step_s * 50:.0f} s of compute per second of audio")


if __name__ == "__main__":
    main()
