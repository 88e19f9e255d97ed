"""MusicGen decoding speed with musicgen-small's real dimensions (random weights, no download).

Run: .venv/bin/python benchmarks/musicgen_decode.py [--steps 100] [--dtype float32] [--no-openblas]
Prints decode steps/s and seconds of compute per second of audio at batch 2 (one prompt,
classifier-free guidance), with and without the EnCodec decode. On Linux, MLX's CPU wheel
bundles a slow reference BLAS: when Debian's libopenblas0-pthread is installed, the script
re-executes itself with it preloaded (and says which BLAS it used). On a busy 2-core machine
OPENBLAS_NUM_THREADS=1 was faster for these batch-2 matrix-vector products.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from resonant_studio.core import fast_blas


# facebook/musicgen-small's config.json, abridged to what the model reads.
SMALL = {
    "architectures": ["MusicgenForConditionalGeneration"],
    "text_encoder": {"vocab_size": 32128, "d_model": 768, "d_kv": 64, "d_ff": 3072, "num_layers": 12,
                     "num_heads": 12, "relative_attention_num_buckets": 32, "feed_forward_proj": "relu"},
    "decoder": {"vocab_size": 2048, "hidden_size": 1024, "num_hidden_layers": 24, "ffn_dim": 4096,
                "num_attention_heads": 16, "num_codebooks": 4, "max_position_embeddings": 2048,
                "activation_function": "gelu", "pad_token_id": 2048, "bos_token_id": 2048},
    "audio_encoder": {"sampling_rate": 32000, "audio_channels": 1, "num_filters": 64, "hidden_size": 128,
                      "upsampling_ratios": [8, 5, 4, 4], "codebook_size": 2048, "target_bandwidths": [2.2],
                      "use_causal_conv": False, "use_conv_shortcut": False, "normalize": False,
                      "num_lstm_layers": 2, "compress": 2, "norm_type": "weight_norm", "pad_mode": "reflect"},
}





def _blas(disabled: bool) -> str:
    if disabled:
        os.environ[fast_blas.DISABLE_ENV] = "1"
    fast_blas.ensure_fast_blas()
    return fast_blas.describe()

def randomise(model) -> None:
    """Give every parameter small random values (EnCodec kernels start as zeros here)."""
    import mlx.core as mx
    from mlx.utils import tree_flatten, tree_unflatten

    params = tree_flatten(model.parameters())
    keys = mx.random.split(mx.random.key(0), len(params))
    model.update(tree_unflatten([(k, 0.02 * mx.random.normal(v.shape, key=key).astype(v.dtype))
                                 for (k, v), key in zip(params, keys)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="decoding steps to time (50 steps = 1 s of audio)")
    parser.add_argument("--dtype", choices=("float32", "float16", "bfloat16"), default="float32")
    parser.add_argument("--no-openblas", action="store_true", help="keep MLX's bundled BLAS")
    args = parser.parse_args()
    blas = _blas(args.no_openblas)

    import mlx.core as mx
    import numpy as np

    from engine.musicgen.checkpoint import DTYPES
    from engine.musicgen.config import MusicGenConfig
    from engine.musicgen.generate import Conditioning, TokenGeneration
    from engine.musicgen.model import MusicGen
    from engine.musicgen.pattern import DelayPattern
    from engine.musicgen.sampling import SamplingParams

    config = MusicGenConfig.from_dict(SMALL)
    model = MusicGen(config)
    randomise(model)
    model.set_dtype(DTYPES[args.dtype])
    mx.eval(model.parameters())
    pattern = DelayPattern(config.decoder.num_codebooks, config.special_token)
    rng = np.random.default_rng(0)
    cond = Conditioning(rng.integers(3, 32000, size=(1, 12)).astype(np.int32), np.ones((1, 12), np.int32))
    params = SamplingParams(top_k=250, cfg_coef=3.0, seed=0)

    warm = TokenGeneration(model, cond, params, 4, pattern)
    for _ in warm:
        pass
    frames = args.steps - pattern.num_codebooks + 1
    gen = TokenGeneration(model, cond, params, frames, pattern)
    t0 = time.perf_counter()
    for _ in gen:
        pass
    decode_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    audio = model.audio_encoder.decode(mx.array(gen.codes.astype(np.int32)))
    mx.eval(audio)
    codec_s = time.perf_counter() - t0
    audio_s = gen.codes.shape[2] / config.audio_encoder.frame_rate

    steps_per_s = gen.total_steps / decode_s
    print(f"BLAS: {blas}")
    print(f"model: musicgen-small dimensions, random weights, {args.dtype}; batch 2 (1 prompt + CFG)")
    print(f"decode: {gen.total_steps} steps in {decode_s:.2f} s = {steps_per_s:.2f} steps/s "
          f"({1000 / steps_per_s:.1f} ms/step)")
    print(f"compute per second of audio: {config.audio_encoder.frame_rate / steps_per_s:.2f} s decoding, "
          f"{(decode_s + codec_s) / audio_s:.2f} s with EnCodec ({codec_s:.2f} s for {audio_s:.2f} s of audio)")


if __name__ == "__main__":
    main()
