"""Which float type MusicGen runs in, per platform and quality tier, as data the app reads.

Measured, not assumed: on the Linux CPU machines here fp16/bf16 matrix products were slower
than fp32 (MLX's CPU path converts them), so CPU-Linux runs fp32 everywhere. On Apple silicon
MLX runs on the GPU, where bf16 halves the bytes a step reads (decoding is bound by reading
the weights) and keeps fp32's exponent range, so every tier defaults to bf16 there; fp16
has more mantissa but overflowed in T5 without the clamp transformers also uses.

``LOGIT_TOLERANCE`` is the largest guided-logit difference from fp32 that the tests accept
(measured on the three tiny fixtures, guidance 3, 200 steps: fp16 at most 0.029, bf16 at most
0.21, for logits spread 1.4-1.9; greedy fp16 kept fp32's tokens for 45-80 steps, bf16 for 4-5).
"""

from __future__ import annotations

import platform as _platform
import sys

from engine.errors import BackendError

TIERS = ("preview", "render", "high_end")
LOGIT_TOLERANCE = {"float16": 5e-2, "bfloat16": 3e-1}

_APPLE_SILICON = {"preview": "bfloat16", "render": "bfloat16", "high_end": "bfloat16"}
_CPU = {"preview": "float32", "render": "float32", "high_end": "float32"}


def _is_apple_silicon(platform: str | None, machine: str | None) -> bool:
    platform = sys.platform if platform is None else platform
    machine = _platform.machine() if machine is None else machine
    return platform == "darwin" and machine in ("arm64", "aarch64")


def tier_dtypes(platform: str | None = None, machine: str | None = None) -> dict[str, str]:
    """``{tier: dtype}`` for this machine (or the one described)."""
    return dict(_APPLE_SILICON if _is_apple_silicon(platform, machine) else _CPU)


def default_dtype(tier: str = "render", platform: str | None = None, machine: str | None = None) -> str:
    """The dtype name (``float32`` / ``bfloat16`` / ``float16``) to load a tier's model in."""
    table = tier_dtypes(platform, machine)
    if tier not in table:
        raise BackendError(f"unknown quality tier {tier!r}: choose {', '.join(TIERS)}")
    return table[tier]
