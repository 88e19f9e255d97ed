"""Choosing the next token from logits: greedy, or sampling with temperature, top-k and top-p."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import mlx.core as mx

from engine.errors import BackendError


@dataclass(frozen=True)
class SamplingParams:
    """How tokens are chosen. ``cfg_coef`` <= 1 turns classifier-free guidance off."""

    greedy: bool = False
    temperature: float = 1.0
    top_k: int = 250
    top_p: float = 0.0
    cfg_coef: float = 3.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.greedy and self.temperature <= 0:
            raise BackendError(f"temperature must be above 0 (got {self.temperature}); use greedy decoding instead")
        if self.top_k < 0:
            raise BackendError(f"top-k must be 0 (off) or a positive count (got {self.top_k})")
        if not 0.0 <= self.top_p <= 1.0:
            raise BackendError(f"top-p must lie between 0 and 1 (got {self.top_p})")

    @property
    def uses_cfg(self) -> bool:
        return self.cfg_coef is not None and self.cfg_coef > 1.0

    @classmethod
    def from_generation_config(cls, settings: Mapping[str, Any], **overrides: Any) -> "SamplingParams":
        """Defaults from a checkpoint's ``generation_config.json`` (transformers' meaning), then overrides.

        With no file at all, audiocraft's defaults apply (sampling, top-k 250, guidance 3).
        """
        if settings:
            base = cls(
                greedy=not settings.get("do_sample", False),
                temperature=float(settings.get("temperature", 1.0) or 1.0),
                top_k=int(settings.get("top_k", 50) or 0),
                top_p=_top_p_setting(settings.get("top_p")),
                cfg_coef=float(settings.get("guidance_scale") or 1.0),
            )
        else:
            base = cls()
        values = {f: getattr(base, f) for f in base.__dataclass_fields__}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _top_p_setting(value: Any) -> float:
    """transformers' ``top_p`` of 1.0 (or none) means off; here off is 0."""
    return 0.0 if value is None or float(value) >= 1.0 else float(value)


def apply_top_k(logits: mx.array, k: int) -> mx.array:
    if k <= 0 or k >= logits.shape[-1]:
        return logits
    kth = mx.sort(logits, axis=-1)[..., -k][..., None]
    return mx.where(logits < kth, -mx.inf, logits)


def apply_top_p(logits: mx.array, p: float) -> mx.array:
    """Keep the smallest set of most likely tokens whose probability reaches ``p`` (always one)."""
    if p <= 0.0 or p >= 1.0:
        return logits
    probs = mx.softmax(logits, axis=-1)
    order = mx.argsort(-probs, axis=-1)
    sorted_probs = mx.take_along_axis(probs, order, axis=-1)
    before = mx.cumsum(sorted_probs, axis=-1) - sorted_probs
    remove_sorted = before >= p
    remove = mx.take_along_axis(remove_sorted, mx.argsort(order, axis=-1), axis=-1)
    return mx.where(remove, -mx.inf, logits)


def choose_tokens(logits: mx.array, params: SamplingParams, keys: list[mx.array] | None) -> mx.array:
    """``logits [B, ..., V]`` -> token ids ``[B, ...]``; row ``b`` draws from ``keys[b]`` alone.

    One key per batch row makes a row's tokens independent of what else is in the batch.
    """
    if params.greedy:
        return mx.argmax(logits, axis=-1)
    logits = logits.astype(mx.float32) / params.temperature
    logits = apply_top_p(apply_top_k(logits, params.top_k), params.top_p)
    return mx.stack([mx.random.categorical(logits[b], axis=-1, key=keys[b]) for b in range(logits.shape[0])])
