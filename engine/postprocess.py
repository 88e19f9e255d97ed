"""What happens to generated audio before it becomes a take: length, loop seam, fades, loudness.

Pure numpy (+ pyloudnorm for ITU-R BS.1770 loudness); audio is float32 stereo ``[N, 2]``.
The parts of one generation are processed together: they get the same length and one
common loudness gain, so the balance between tracks is kept and their sum is what is
normalised.

Duration modes (the target is ``duration_seconds``):

- ``crop``   the result is exactly the target: longer audio is cut (with a short fade so the
             cut does not click), shorter audio is filled with silence.
- ``pad``    nothing generated is ever cut: shorter audio is filled with silence up to the
             target, longer audio is kept whole.
- ``strict`` the engine must have produced the target length (within ``STRICT_TOLERANCE_S``);
             anything else is an error rather than a silent change.

A loop (``loop=True``) replaces the duration mode: the engine renders past the target and
the overhang is crossfaded into the start, so the last sample leads into the first as it
did in the original audio and the file repeats without a click.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping, Sequence

import numpy as np

from engine.errors import EngineError

DURATION_MODES = ("crop", "pad", "strict")
STRICT_TOLERANCE_S = 0.005
EDGE_FADE_S = 0.01
"""Fade applied where ``crop`` cuts audio, long enough to hide the cut, short enough not to be heard."""
LOUDNESS_BLOCK_S = 0.4
"""BS.1770 gating block; shorter sounds are measured as if repeated to this length."""


class PostprocessError(EngineError):
    """The generated audio cannot be brought to the requested length or loudness."""


@dataclass(frozen=True)
class PostprocessSettings:
    duration_seconds: float | None = None
    """Target length; None leaves the length the engine produced."""
    duration_mode: str = "crop"
    loop: bool = False
    loop_crossfade_seconds: float = 0.5
    fade_in_seconds: float = 0.0
    fade_out_seconds: float = 0.0
    loudness_lufs: float | None = None
    """Integrated loudness target of the parts' sum; None leaves the level alone."""
    peak_ceiling_db: float = -1.0
    """No sample of the sum or of any part goes above this after normalisation (dBFS)."""

    def __post_init__(self) -> None:
        if self.duration_mode not in DURATION_MODES:
            raise PostprocessError(f"duration mode must be one of {', '.join(DURATION_MODES)}, not {self.duration_mode!r}")
        if self.duration_seconds is not None and not self.duration_seconds > 0:
            raise PostprocessError(f"a duration must be above 0 seconds, not {self.duration_seconds:g}")
        if self.loop and self.duration_seconds is None:
            raise PostprocessError("a loop needs a duration: set duration_seconds")
        for name in ("loop_crossfade_seconds", "fade_in_seconds", "fade_out_seconds"):
            if getattr(self, name) < 0:
                raise PostprocessError(f"{name} cannot be negative")
        if self.peak_ceiling_db > 0:
            raise PostprocessError("the peak ceiling must be at or below 0 dBFS")

    @property
    def render_seconds(self) -> float | None:
        """How much audio the engine should produce: a loop needs its crossfade's worth extra."""
        if self.duration_seconds is None:
            return None
        return self.duration_seconds + (self.loop_crossfade_seconds if self.loop else 0.0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "PostprocessSettings":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


# --- length -----------------------------------------------------------------------------------
def _as_stereo(audio: np.ndarray) -> np.ndarray:
    a = np.asarray(audio, dtype=np.float32)
    if a.ndim == 1:
        a = np.stack([a, a], axis=1)
    if a.ndim != 2 or a.shape[1] != 2:
        raise PostprocessError(f"audio must be stereo [N, 2], got shape {a.shape}")
    return a


def _ramp(n: int) -> np.ndarray:
    """Raised-cosine ramp 0 -> 1 over ``n`` samples, shaped ``[n, 1]`` to scale both channels."""
    if n <= 0:
        return np.ones((0, 1), dtype=np.float32)
    t = (np.arange(n, dtype=np.float64) + 0.5) / n
    return (0.5 - 0.5 * np.cos(np.pi * t)).astype(np.float32)[:, None]


def fit_duration(audio: np.ndarray, num_samples: int, mode: str, sample_rate: int) -> np.ndarray:
    """Bring ``audio`` to ``num_samples`` the way ``mode`` says (see the module docstring)."""
    a = _as_stereo(audio)
    n = int(num_samples)
    have = a.shape[0]
    if mode not in DURATION_MODES:
        raise PostprocessError(f"duration mode must be one of {', '.join(DURATION_MODES)}, not {mode!r}")
    if mode == "strict" and abs(have - n) > STRICT_TOLERANCE_S * sample_rate:
        raise PostprocessError(
            f"the engine produced {have / sample_rate:.3f} s where the strict duration is {n / sample_rate:.3f} s: "
            "use the crop or pad duration mode, or a duration of whole bars")
    if have < n:
        out = np.zeros((n, 2), dtype=np.float32)
        out[:have] = a
        return out
    if have == n or mode == "pad":
        return a.copy()
    out = a[:n].copy()
    if mode == "crop":
        k = min(n, int(round(EDGE_FADE_S * sample_rate)))
        out[n - k:] *= _ramp(k)[::-1]
    return out


def make_loop(audio: np.ndarray, num_samples: int, crossfade_samples: int) -> np.ndarray:
    """A ``num_samples`` loop whose end runs into its start without a click.

    The audio past ``num_samples`` (at least ``crossfade_samples`` of it) is faded out over
    the loop's first samples while the start fades in (equal power). The first output sample
    is then the original sample that followed the last one, so the seam is as smooth as the
    audio itself.
    """
    a = _as_stereo(audio)
    n, x = int(num_samples), int(crossfade_samples)
    if x > n:
        raise PostprocessError(f"a loop crossfade of {x} samples is longer than the loop ({n} samples)")
    if a.shape[0] < n + x:
        raise PostprocessError(
            f"a loop of {n} samples with a {x}-sample crossfade needs {n + x} samples of audio, "
            f"the engine produced {a.shape[0]}")
    out = a[:n].copy()
    if x:
        t = (np.arange(x, dtype=np.float64) + 0.5) / x
        fade_in = np.sin(0.5 * np.pi * t).astype(np.float32)[:, None]
        fade_out = np.cos(0.5 * np.pi * t).astype(np.float32)[:, None]
        out[:x] = a[:x] * fade_in + a[n:n + x] * fade_out
    return out


def apply_fades(audio: np.ndarray, sample_rate: int, fade_in_s: float, fade_out_s: float) -> np.ndarray:
    a = _as_stereo(audio).copy()
    n = a.shape[0]
    k_in = min(n, int(round(fade_in_s * sample_rate)))
    k_out = min(n, int(round(fade_out_s * sample_rate)))
    if k_in:
        a[:k_in] *= _ramp(k_in)
    if k_out:
        a[n - k_out:] *= _ramp(k_out)[::-1]
    return a


# --- loudness ---------------------------------------------------------------------------------
def peak_db(audio: np.ndarray) -> float:
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    return 20.0 * np.log10(peak) if peak > 0 else float("-inf")


def measure_loudness(audio: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness in LUFS (BS.1770-4); ``-inf`` for silence."""
    import pyloudnorm  # imported here: only loudness work pays for scipy's filters

    a = _as_stereo(audio).astype(np.float64)
    block = int(np.ceil(LOUDNESS_BLOCK_S * sample_rate))
    if a.shape[0] == 0 or not np.any(a):
        return float("-inf")
    if a.shape[0] < block:  # too short to gate: measure it as a steady repeated sound
        a = np.tile(a, (int(np.ceil(block / a.shape[0])), 1))[:block]
    return float(pyloudnorm.Meter(sample_rate).integrated_loudness(a))


def loudness_gain_db(mix: np.ndarray, sample_rate: int, target_lufs: float, ceiling_db: float,
                     peaks: Sequence[np.ndarray] = ()) -> tuple[float, float]:
    """The gain that brings ``mix`` to ``target_lufs`` without any sample passing ``ceiling_db``.

    ``peaks`` are further signals (the stems) that the same gain must not clip either.
    Returns ``(gain_db, measured_lufs)``; silence gets 0 dB.
    """
    measured = measure_loudness(mix, sample_rate)
    if not np.isfinite(measured):
        return 0.0, measured
    gain = target_lufs - measured
    loudest = max([peak_db(mix)] + [peak_db(p) for p in peaks])
    if np.isfinite(loudest):
        gain = min(gain, ceiling_db - loudest)
    return float(gain), measured


def normalize_loudness(audio: np.ndarray, sample_rate: int, target_lufs: float, ceiling_db: float = -1.0) -> np.ndarray:
    gain, _ = loudness_gain_db(audio, sample_rate, target_lufs, ceiling_db)
    return (_as_stereo(audio) * np.float32(10.0 ** (gain / 20.0))).astype(np.float32)


# --- all together -----------------------------------------------------------------------------
def postprocess_parts(parts: Sequence[np.ndarray], sample_rate: int,
                      settings: PostprocessSettings) -> tuple[list[np.ndarray], dict[str, Any]]:
    """Apply ``settings`` to the audio of one generation's parts.

    Loudness is measured on the parts' sum and one gain is applied to all of them, so the
    balance between tracks stays as generated. Returns the processed parts and a report
    (length, measured loudness, applied gain) to store with the takes.
    """
    out = [_as_stereo(p) for p in parts]
    report: dict[str, Any] = {}
    if settings.duration_seconds is not None:
        n = int(round(settings.duration_seconds * sample_rate))
        if settings.loop:
            x = int(round(settings.loop_crossfade_seconds * sample_rate))
            out = [make_loop(p, n, x) for p in out]
        else:
            out = [fit_duration(p, n, settings.duration_mode, sample_rate) for p in out]
    if not settings.loop and (settings.fade_in_seconds or settings.fade_out_seconds):
        out = [apply_fades(p, sample_rate, settings.fade_in_seconds, settings.fade_out_seconds) for p in out]
    report["seconds"] = round(max((p.shape[0] for p in out), default=0) / sample_rate, 6)
    if settings.loudness_lufs is not None and out:
        length = max(p.shape[0] for p in out)
        mix = np.zeros((length, 2), dtype=np.float64)
        for p in out:
            mix[:p.shape[0]] += p
        gain, measured = loudness_gain_db(mix, sample_rate, settings.loudness_lufs, settings.peak_ceiling_db,
                                          peaks=out)
        scale = np.float32(10.0 ** (gain / 20.0))
        out = [(p * scale).astype(np.float32) for p in out]
        report.update(measured_lufs=round(measured, 3) if np.isfinite(measured) else None,
                      gain_db=round(gain, 3))
    return out, report
