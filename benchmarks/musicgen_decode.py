"""MusicGen decoding speed, this MLX port beside transformers on torch, with musicgen-small's dimensions.

Run: .venv/bin/python benchmarks/musicgen_decode.py [--steps 60] [--rounds 5] [--threads 1]
         [--torch-python .venv-parity/bin/python] [--blas-env both] [--variants bfloat16,int8,int4]

Random weights (no download). Batch 2 = one prompt with classifier-free guidance, top-k 250
sampling, the decoding position running from 0 to ``--steps``. Each implementation runs in its
own long-lived worker process (MLX with Debian's OpenBLAS preloaded; torch from the parity
venv when it has torch), the coordinator alternates them round by round and reports the
paired ratio per round (torch ms / port ms: above 1.0 means the port is faster), so a busy
machine slows both sides of a pair alike. Thread counts are pinned equal (OMP, OpenBLAS, MKL,
torch.set_num_threads). Also printed: weight bytes a step reads, the measured read bandwidth,
the fraction of that bound each side reaches, which BLAS kernel ran (threadpoolctl), EnCodec
decode seconds per second of audio on both sides, and bf16 / int8 / int4 (``mx.quantize``)
figures with their greedy codes' agreement with fp32.

``--blas-env both`` runs the MLX worker twice: with the environment as given and with
``OPENBLAS_CORETYPE`` / ``OPENBLAS_L2_SIZE`` removed (some machines set them for old OpenBLAS
builds, which forces generic kernels). Only this benchmark's own processes are affected.

Measured 2026-12-01 on the 2-core build machine, idle (load ~1), 1 thread, after the CPU GELU /
LayerNorm (engine.musicgen.cpu_ops), fused q/k/v and heads: port+MKL 110.3 / 110.5 ms/step,
transformers/torch 117.0 / 119.8; paired torch/port ratio 1.08 / 1.08 (rounds 1.03-1.13);
port+OpenBLAS (SkylakeX) 219-223 ms, ratio 0.53-0.54. 1.44 GB of weights a step at ~18 GB/s bounds a
step at ~81 ms: port+MKL 73-76 %, torch 69-70 % of it (before: 65-71 % against 68-73 %, ratio
0.95-1.00). EnCodec decode of 5 s, best of 3, four runs: 0.180 / 0.183 / 0.194 / 0.278 s per s of
audio (port+MKL; the last after a long run, unexplained) against 0.188 / 0.192 / 0.191 / 0.200
(transformers). bf16 211 ms (99.6 % of codes equal to fp32 greedy), int8 512 ms (98.7 %), int4 427
ms (79.4 %): MLX's CPU path converts half and quantised weights, so fp32 stays the CPU default
(engine.musicgen.precision).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OPENBLAS = "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3"
BLAS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

# facebook/musicgen-small's config.json, abridged to what the models read.
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
TEXT_TOKENS = 12
ENCODEC_RUNS = 3
"""EnCodec decode is timed this many times on each side and the fastest kept: one run at 5 s read
0.40 s per s of audio for the port where the best of three read 0.25 (the first full-length run pays
for allocations the short warm-up does not)."""


def blas_info() -> str:
    try:
        import threadpoolctl

        infos = threadpoolctl.threadpool_info()
    except Exception as exc:  # threadpoolctl missing or a library it cannot read
        return f"unknown ({exc.__class__.__name__})"
    return "; ".join(f"{i.get('internal_api')} {i.get('version')} kernel={i.get('architecture')} "
                     f"threads={i.get('num_threads')} ({Path(i.get('filepath', '')).name})" for i in infos) or "none found"


def step_reads(name: str) -> bool:
    """Whether one decoding step reads this decoder parameter in full."""
    return "embed_tokens" not in name and not any(f"encoder_attn.{p}_proj" in name for p in "kv")


# ---------------------------------------------------------------- MLX worker
class MLXWorker:
    def __init__(self):
        import mlx.core as mx
        from mlx.utils import tree_flatten, tree_unflatten

        from engine.musicgen.config import MusicGenConfig
        from engine.musicgen.model import MusicGen

        self.mx = mx
        self.config = MusicGenConfig.from_dict(SMALL)
        model = MusicGen(self.config)
        params = tree_flatten(model.parameters())
        keys = mx.random.split(mx.random.key(0), len(params))
        model.update(tree_unflatten([(k, 0.02 * mx.random.normal(v.shape, key=key)) for (k, v), key in zip(params, keys)]))
        model.decoder.fuse()  # as load_model leaves it
        mx.eval(model.parameters())
        self.model = model
        self.variants = {"float32": model}

    def variant(self, name: str):
        if name not in self.variants:
            import mlx.nn as nn

            from engine.musicgen.model import MusicGen

            mx = self.mx
            model = MusicGen(self.config)
            model.decoder.fuse()
            model.update(self.model.parameters())
            if name in ("bfloat16", "float16"):
                model.decoder.set_dtype(getattr(mx, name))
            else:
                bits = {"int8": 8, "int4": 4}[name]
                nn.quantize(model.decoder, group_size=64, bits=bits)
            mx.eval(model.parameters())
            self.variants[name] = model
        return self.variants[name]

    def decoder_bytes(self, name: str) -> int:
        """Bytes a step reads: the decoder's weights but the embeddings (a few rows) and the
        cross-attention key/value projections (applied once to the text, then cached)."""
        from mlx.utils import tree_flatten

        model = self.variant(name)
        return sum(v.nbytes for k, v in tree_flatten(model.decoder.parameters()) if step_reads(k))

    def _generation(self, name: str, steps: int, greedy: bool, seed: int = 0):
        import numpy as np

        from engine.musicgen.generate import Conditioning, TokenGeneration
        from engine.musicgen.pattern import DelayPattern
        from engine.musicgen.sampling import SamplingParams

        rng = np.random.default_rng(0)
        cond = Conditioning(rng.integers(3, 32000, size=(1, TEXT_TOKENS)).astype(np.int32),
                            np.ones((1, TEXT_TOKENS), np.int32))
        params = SamplingParams(greedy=greedy, top_k=250, cfg_coef=3.0, seed=seed)
        pattern = DelayPattern(self.config.decoder.num_codebooks, self.config.special_token)
        return TokenGeneration(self.variant(name), cond, params, steps - pattern.num_delays + 1, pattern)

    def decode_ms(self, name: str, steps: int) -> float:
        gen = self._generation(name, steps, greedy=False)
        it = iter(gen)
        next(it)  # the first step holds the conditioning and the prefill
        t0 = time.perf_counter()
        n = 0
        for _ in it:
            n += 1
        self.mx.eval(self.mx.array(0))
        return (time.perf_counter() - t0) * 1000 / max(1, n)

    def agreement(self, name: str, steps: int) -> float:
        import numpy as np

        ref = self._generation("float32", steps, greedy=True)
        deque(ref, maxlen=0)  # run it to the end
        other = self._generation(name, steps, greedy=True)
        deque(other, maxlen=0)
        return float(np.mean(ref.codes == other.codes))

    def encodec_s_per_s(self, frames: int) -> float:
        import numpy as np

        mx = self.mx
        codes = mx.array(np.random.default_rng(1).integers(0, 2048, size=(1, 4, frames)).astype(np.int32))
        mx.eval(self.model.audio_encoder.decode(codes[:, :, :10]))
        best = math.inf
        for _ in range(ENCODEC_RUNS):
            t0 = time.perf_counter()
            mx.eval(self.model.audio_encoder.decode(codes))
            best = min(best, time.perf_counter() - t0)
        return best / (frames / self.config.audio_encoder.frame_rate)


# -------------------------------------------------------------- torch worker
class TorchWorker:
    def __init__(self, threads: int):
        import torch
        from transformers import EncodecConfig, EncodecModel, MusicgenDecoderConfig, MusicgenForCausalLM

        torch.set_num_threads(threads)
        torch.manual_seed(0)
        self.torch = torch
        d = SMALL["decoder"]
        self.decoder = MusicgenForCausalLM(MusicgenDecoderConfig(**d)).eval()
        a = dict(SMALL["audio_encoder"])
        self.codec = EncodecModel(EncodecConfig(**a, chunk_length_s=None, overlap=None)).eval()
        self.states = torch.randn(2, TEXT_TOKENS, d["hidden_size"]) * 0.1
        self.mask = torch.cat([torch.ones(1, TEXT_TOKENS, dtype=torch.long), torch.zeros(1, TEXT_TOKENS, dtype=torch.long)])

    def decode_ms(self, name: str, steps: int) -> float:
        torch = self.torch
        K = SMALL["decoder"]["num_codebooks"]
        with torch.inference_mode():
            ids = torch.full((2 * K, 1), 2048, dtype=torch.long)
            past, total, n = None, 0.0, 0
            for step in range(steps):
                t0 = time.perf_counter()
                out = self.decoder(input_ids=ids, encoder_hidden_states=self.states,
                                   encoder_attention_mask=self.mask, past_key_values=past, use_cache=True)
                past = out.past_key_values
                logits = out.logits[:, -1].reshape(2, K, -1)
                logits = logits[1:] + (logits[:1] - logits[1:]) * 3.0
                top = torch.topk(logits, 250, dim=-1)
                probs = torch.softmax(top.values, dim=-1).reshape(K, -1)
                chosen = top.indices.reshape(K, -1).gather(1, torch.multinomial(probs, 1))
                ids = torch.cat([chosen, chosen]).reshape(2 * K, 1)
                if step:
                    total += time.perf_counter() - t0
                    n += 1
        return total * 1000 / max(1, n)

    def encodec_s_per_s(self, frames: int) -> float:
        torch = self.torch
        codes = torch.randint(0, 2048, (1, 1, 4, frames))
        best = math.inf
        with torch.inference_mode():
            self.codec.decode(codes[..., :10], [None])
            for _ in range(ENCODEC_RUNS):
                t0 = time.perf_counter()
                self.codec.decode(codes, [None])
                best = min(best, time.perf_counter() - t0)
        return best / (frames / 50)

    def decoder_bytes(self, name: str) -> int:
        return sum(p.numel() * p.element_size() for n, p in self.decoder.named_parameters() if step_reads(n))


def serve(kind: str, threads: int) -> None:
    """Worker loop: one JSON command per line on stdin, one JSON answer per line on stdout."""
    worker = MLXWorker() if kind == "mlx" else TorchWorker(threads)
    info = blas_info()
    if kind == "torch":
        import torch

        info = f"torch {torch.__version__} mkl={torch.backends.mkl.is_available()} " \
               f"mkldnn={torch.backends.mkldnn.is_available()} threads={torch.get_num_threads()}; {info}"
    print(json.dumps({"ready": True, "blas": info}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        method = getattr(worker, cmd["op"])
        print(json.dumps({"value": method(*cmd["args"])}), flush=True)


# --------------------------------------------------------------- coordinator
class Remote:
    def __init__(self, label: str, python: str, kind: str, threads: int, env: dict):
        self.label = label
        self.proc = subprocess.Popen([python, __file__, "--serve", kind, "--threads", str(threads)], cwd=ROOT,
                                     env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        hello = json.loads(self.proc.stdout.readline())
        self.blas = hello["blas"]

    def __call__(self, op: str, *args):
        self.proc.stdin.write(json.dumps({"op": op, "args": list(args)}) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())["value"]

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def read_bandwidth_gbs(megabytes: int = 2048) -> float:
    """Bytes read per second over 2 GB (more than the weights, so caches cannot hold it),
    single-threaded like the decoders: the best of numpy's own SIMD sum and a BLAS dot (an
    OPENBLAS_CORETYPE forcing old kernels slows the dot, never the sum)."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    a = np.ones(megabytes * (1 << 20) // 4, np.float32)
    best = float("inf")
    with threadpool_limits(1):
        for _ in range(3):
            for read in (np.dot, lambda x, _: np.add.reduce(x)):
                t0 = time.perf_counter()
                read(a, a)
                best = min(best, time.perf_counter() - t0)
    return a.nbytes / best / 1e9


def find_mkl() -> str | None:
    """libmkl_rt from the ``mkl`` wheel (the parity venv or this one), or $RESONANT_MKL."""
    candidates = [os.environ.get("RESONANT_MKL", "")]
    for prefix in (sys.prefix, str(ROOT / ".venv-parity"), "/work/main/.venv-parity"):
        candidates += sorted(Path(prefix, "lib").glob("libmkl_rt.so*"), reverse=True)
    return next((str(c) for c in candidates if c and os.path.exists(c)), None)


def pinned_env(threads: int, drop_blas_env: bool, preload: str | None) -> dict:
    """The worker's environment: threads pinned, and MLX's BLAS chosen by ``LD_PRELOAD``."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads), PYTHONPATH=str(ROOT), PYTHONWARNINGS="ignore", TRANSFORMERS_VERBOSITY="error")
    if drop_blas_env:
        for key in BLAS_ENV:
            env.pop(key, None)
    if preload and sys.platform == "linux" and os.path.exists(preload):
        env["LD_PRELOAD"] = " ".join(p for p in (preload, env.get("LD_PRELOAD", "")) if p)
        if "mkl" in preload:
            env.update(MKL_INTERFACE_LAYER="LP64", MKL_THREADING_LAYER="SEQUENTIAL" if threads == 1 else "GNU")
    return env


def default_torch_python() -> str | None:
    for candidate in (sys.executable, str(ROOT / ".venv-parity/bin/python"), "/work/main/.venv-parity/bin/python"):
        if candidate and os.path.exists(candidate) and subprocess.run(
                [candidate, "-c", "import torch, transformers"], capture_output=True).returncode == 0:
            return candidate
    return None


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.1f} (range {min(values):.1f}-{max(values):.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60, help="decoding steps per round (50 steps = 1 s of audio)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--torch-python", default=None, help="a python with torch + transformers (default: found)")
    parser.add_argument("--blas-env", choices=("keep", "unset", "both"), default="keep")
    parser.add_argument("--blas", choices=("openblas", "mkl", "both"), default="both",
                        help="BLAS preloaded for MLX (MKL: the mkl wheel's libmkl_rt)")
    parser.add_argument("--variants", default="bfloat16,int8,int4", help="extra MLX weight formats ('' for none)")
    parser.add_argument("--encodec-frames", type=int, default=250)
    parser.add_argument("--serve", choices=("mlx", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.threads)
        return

    set_vars = {k: os.environ[k] for k in BLAS_ENV if k in os.environ}
    print(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; threads pinned to {args.threads}; "
          f"OpenBLAS variables set here: {set_vars or 'none'}")
    envs = {"keep": [False], "unset": [True], "both": [False, True]}[args.blas_env]
    mkl = find_mkl()
    blases = {"openblas": [OPENBLAS], "mkl": [mkl], "both": [OPENBLAS, mkl]}[args.blas]
    if None in blases:
        print("MKL: no libmkl_rt found (pip install mkl into the parity venv); OpenBLAS only")
        blases = [OPENBLAS]
    workers = []
    for lib in blases:
        for drop in (envs if lib == OPENBLAS else [False]):
            name = "MKL" if "mkl" in lib else "OpenBLAS"
            label = f"MLX port, {name}{' (OPENBLAS_CORETYPE/L2_SIZE unset)' if drop else ''}"
            workers.append(Remote(label, sys.executable, "mlx", args.threads, pinned_env(args.threads, drop, lib)))
    torch_python = args.torch_python or default_torch_python()
    if torch_python:
        workers.append(Remote("transformers on torch", torch_python, "torch", args.threads,
                              pinned_env(args.threads, False, None)))
    else:
        print("torch: not importable here or in .venv-parity (make parity builds it); port figures only")
    for w in workers:
        print(f"BLAS [{w.label}]: {w.blas}")

    bandwidth = read_bandwidth_gbs()
    times: dict[str, list[float]] = {w.label: [] for w in workers}
    for r in range(args.rounds):
        bandwidth = max(bandwidth, read_bandwidth_gbs())  # the least loaded moment is the machine's figure
        order = workers if r % 2 == 0 else workers[::-1]  # alternate who goes first
        for w in order:
            times[w.label].append(w("decode_ms", "float32", args.steps))
    print(f"\ndecode, musicgen-small dims, batch 2 (CFG), fp32, {args.steps} steps x {args.rounds} paired rounds:")
    print(f"measured read bandwidth: {bandwidth:.1f} GB/s")
    for w in workers:
        nbytes = w("decoder_bytes", "float32")
        bound = nbytes / (bandwidth * 1e9) * 1000
        ms = statistics.median(times[w.label])
        print(f"  {w.label}: {spread(times[w.label])} ms/step; weights {nbytes / 1e9:.2f} GB/step, "
              f"bound {bound:.0f} ms -> {100 * bound / ms:.0f}% of the bandwidth bound")
    if torch_python:
        torch_times = times["transformers on torch"]
        for w in workers[:-1]:
            ratios = [t / p for t, p in zip(torch_times, times[w.label])]
            print(f"  paired ratio torch/port [{w.label}]: {statistics.median(ratios):.2f} "
                  f"(range {min(ratios):.2f}-{max(ratios):.2f}; >= 1.0: the port is as fast or faster)")

    port = min(workers[:-1] if torch_python else workers, key=lambda w: statistics.median(times[w.label]))
    print(f"\nEnCodec decode, {args.encodec_frames} frames ({args.encodec_frames / 50:.1f} s of audio), s per s of audio:")
    print(f"  {port.label}: {port('encodec_s_per_s', args.encodec_frames):.3f}")
    if torch_python:
        print(f"  transformers on torch: {workers[-1]('encodec_s_per_s', args.encodec_frames):.3f}")

    variants = [v for v in args.variants.split(",") if v]
    if variants:
        print(f"\nweight formats ({port.label}, {args.steps} steps, greedy agreement with fp32 over {args.steps} steps):")
        for name in variants:
            ms = [port("decode_ms", name, args.steps) for _ in range(max(1, args.rounds // 2))]
            nbytes = port("decoder_bytes", name)
            agree = port("agreement", name, args.steps)
            print(f"  {name}: {spread(ms)} ms/step, {nbytes / 1e9:.2f} GB/step, codes equal to fp32: {100 * agree:.1f}%")
    for w in workers:
        w.close()


if __name__ == "__main__":
    main()
