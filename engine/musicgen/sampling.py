"""Choosing the next token from logits: greedy, or sampling with temperature, top-k and top-p.

Every batch row draws from its own key (``[B, 2]`` uint32, one ``mx.random.key`` per row), so a
row's tokens do not depend on what else shares the batch. The sampler is one compiled MLX
function per parameter set: top-k by ``mx.partition`` (no full sort), top-p by a single sort.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Mapping

import mlx.core as mx

from engine.errors import BackendError

MAX_TOP_K = 1 << 16  # 32x any MusicGen codebook (2048); beyond it a value is a typo, not a choice.
# A top-k at or above the codebook size keeps every token (as transformers and audiocraft).


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BackendError(f"{name} must be a number (got {value!r})")
    return float(value)


@dataclass(frozen=True)
class SamplingParams:
    """How tokens are chosen. ``cfg_coef`` <= 1 turns classifier-free guidance off.

    ``top_k`` 0 and ``top_p`` 0 mean off (audiocraft's convention, used by the presets).
    Every field is checked here, at the engine's door: a bad value is one sentence, not a
    NaN or an allocation of 10**12 entries later.
    """

    greedy: bool = False
    temperature: float = 1.0
    top_k: int = 250
    top_p: float = 0.0
    cfg_coef: float = 3.0
    seed: int = 0

    def __post_init__(self) -> None:
        temperature = _number("temperature", self.temperature)
        if not math.isfinite(temperature) or (not self.greedy and temperature <= 0):
            raise BackendError(f"temperature must be a finite number above 0 (got {self.temperature}); "
                               "use greedy decoding for the most likely tokens")
        if isinstance(self.top_k, bool) or not isinstance(self.top_k, int) or not 0 <= self.top_k <= MAX_TOP_K:
            raise BackendError(f"top-k must be 0 (off) or a whole count up to {MAX_TOP_K} (got {self.top_k!r})")
        top_p = _number("top-p", self.top_p)
        if not (math.isfinite(top_p) and 0.0 <= top_p <= 1.0):
            raise BackendError(f"top-p must lie in (0, 1], or be 0 for off (got {self.top_p})")
        if self.cfg_coef is not None:
            cfg = _number("the guidance coefficient", self.cfg_coef)
            if not math.isfinite(cfg) or abs(cfg) > 1000:
                raise BackendError(f"the guidance coefficient must be a finite number up to 1000 (got {self.cfg_coef})")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise BackendError(f"the seed must be a whole number (got {self.seed!r})")

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
    """Keep the ``k`` largest logits (ties with the k-th kept too, as transformers)."""
    V = logits.shape[-1]
    if k <= 0 or k >= V:
        return logits
    kth = mx.partition(logits, V - k, axis=-1)[..., V - k: V - k + 1]
    return mx.where(logits < kth, -mx.inf, logits)


def apply_top_p(logits: mx.array, p: float) -> mx.array:
    """Keep the smallest set of most likely tokens whose probability reaches ``p`` (always one).

    A token is kept when the probability of the tokens strictly more likely than it is below
    ``p``; one descending sort gives the smallest kept probability.
    """
    if p <= 0.0 or p >= 1.0:
        return logits
    probs = mx.softmax(logits, axis=-1)
    descending = -mx.sort(-probs, axis=-1)
    before = mx.cumsum(descending, axis=-1) - descending
    kept = mx.maximum((before < p).sum(axis=-1, keepdims=True), 1)
    smallest = mx.take_along_axis(descending, kept - 1, axis=-1)
    return mx.where(probs < smallest, -mx.inf, logits)


def masked_logits(logits: mx.array, params: SamplingParams) -> mx.array:
    """The logits sampling draws from: temperature, then top-k, then top-p (float32)."""
    logits = logits.astype(mx.float32) / params.temperature
    return apply_top_p(apply_top_k(logits, params.top_k), params.top_p)


def row_keys(seed: int, batch: int) -> mx.array:
    """``[batch, 2]`` keys: row ``b`` starts from ``mx.random.key(seed + b)``."""
    return mx.stack([mx.random.key(seed + b) for b in range(batch)])


@lru_cache(maxsize=32)
def sampler(params: SamplingParams) -> Callable[[mx.array, mx.array], tuple[mx.array, mx.array]]:
    """A compiled ``(logits [B, ..., V], keys [B, 2]) -> (tokens [B, ...], next keys [B, 2])``.

    Each row splits its key once per call and draws Gumbel noise from the second half.
    """
    if params.greedy:
        return mx.compile(lambda logits, keys: (mx.argmax(logits, axis=-1), keys))

    def one_row(logits: mx.array, key: mx.array):
        carry, draw = mx.random.split(key)
        noise = mx.random.gumbel(logits.shape, key=draw)
        return mx.argmax(masked_logits(logits, params) + noise, axis=-1), carry

    return mx.compile(mx.vmap(one_row))


def choose_tokens(logits: mx.array, params: SamplingParams, keys: mx.array) -> tuple[mx.array, mx.array]:
    """``logits [B, ..., V]`` -> ``(token ids [B, ...], the keys for the next step)``."""
    return sampler(params)(logits, keys)
