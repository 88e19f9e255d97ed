"""A lookahead true-peak limiter for the master, and the loudness maximiser export uses.

Why our own and not pedalboard's ``Limiter``: that one (JUCE's ``dsp::Limiter``) reacts to
sample peaks with no lookahead, so inter-sample peaks between samples, and the attack of
every transient, pass above the ceiling; an export at -9 LUFS could not be promised to stay
under -1 dBTP. This limiter detects peaks 4x oversampled (ITU-R BS.1770-4's true-peak
method: the stricter of ideal interpolation and a polyphase filter) and computes its gain for the whole signal at once, which lets it prove the bound:

1. ``need[n]``: the gain that would keep the true peak around sample ``n`` under the ceiling;
2. ``held[n]``: the smallest ``need`` from ``hold`` samples before ``n`` to ``lookahead``
   after it (a windowed minimum: the gain is down before a peak arrives, and stays down a
   while after it, which is the release);
3. ``gain[n]``: the mean of ``held`` over the ``lookahead`` samples up to ``n``, a smooth
   ramp. Each ``held`` in that mean covers ``n``, so ``gain[n] <= need[n]`` everywhere.

The gain ramps themselves make a little new inter-sample overshoot (a fraction of a dB on
bright material), so the limiter runs again on its own output, up to ``PASSES`` times, and
a last true-peak check scales the result down if anything is still over: the ceiling holds.
No Qt, no app imports: export calls ``limit_to_loudness``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import minimum_filter1d
from scipy.signal import resample, resample_poly

from tracks.errors import ExportError
from tracks.loudness import measure_lufs

OVERSAMPLE = 4
BLOCK = 32768             # samples interpolated per FFT...
MARGIN = 2048             # ...with this much context either side (its wrap-around ringing stays there)
LOOKAHEAD_S = 0.0015
HOLD_S = 0.05
CEILING_DBTP = -1.0
SAFETY_DB = 0.1           # aim this far under the ceiling (room for other linear-phase meters' filters)
LOUDNESS_TOLERANCE = 0.1  # LU: how close to the target the maximiser stops
MAX_PASSES = 8            # loudness passes of limit_to_loudness (secant steps: 2 to 4 are typical)
MAX_STEP_DB = 6.0
MIN_SLOPE = 0.05          # below this the mix is as loud as the ceiling lets it be: stop pushing
PASSES = 3                # limiter passes: a second one catches what the first one's ramps made
FLOAT_MARGIN = 1.0 - 1e-5  # room for rounding to float32 (and to 24-bit) after the check


def _ideal_oversample(a: np.ndarray) -> np.ndarray:
    """``[N, C]`` -> ``[OVERSAMPLE * N, C]`` by ideal band-limited interpolation (FFT), in
    overlapping blocks, with silence before and after (as a player has)."""
    n, channels = a.shape
    out = np.empty((n * OVERSAMPLE, channels))
    for start in range(0, n, BLOCK):
        stop = min(n, start + BLOCK)
        lo, hi = max(0, start - MARGIN), min(n, stop + MARGIN)
        segment = np.zeros((stop - start + 2 * MARGIN, channels))
        segment[lo - (start - MARGIN):hi - (start - MARGIN)] = a[lo:hi]
        up = resample(segment, segment.shape[0] * OVERSAMPLE, axis=0)
        out[start * OVERSAMPLE:stop * OVERSAMPLE] = up[MARGIN * OVERSAMPLE:(MARGIN + stop - start) * OVERSAMPLE]
    return out


def _channel_max(x: np.ndarray) -> np.ndarray:
    """``max(|x|)`` over the channels of ``[N, C]`` (numpy's max over a short last axis is ~10x slower)."""
    out = np.abs(x[:, 0])
    for c in range(1, x.shape[1]):
        np.maximum(out, np.abs(x[:, c]), out=out)
    return out


def oversampled_peaks(a: np.ndarray) -> np.ndarray:
    """``[OVERSAMPLE * N]``: the largest magnitude over channels at each 4x point, as the
    stricter of two readings: ideal interpolation and scipy's polyphase (Kaiser) filter.

    Why two: on bright material (noisy hats) filters that roll off below Nyquist (scipy's,
    BS.1770-4's example, soxr's, a DAC's) read inter-sample peaks up to 0.3 dB above or
    below ideal interpolation, measured here on a synthetic beat; limiting to the higher of
    two common readings keeps both, and the meters near them, under the ceiling.
    """
    n = a.shape[0]
    peaks = _channel_max(_ideal_oversample(a))
    poly = _channel_max(resample_poly(a, OVERSAMPLE, 1, axis=0))
    np.maximum(peaks[:poly.size], poly[:peaks.size], out=peaks[:min(poly.size, peaks.size)])
    return peaks


def true_peak(audio: np.ndarray) -> float:
    """The true peak (linear) of ``[N]`` or ``[N, C]`` audio, 4x oversampled (BS.1770-4's method)."""
    a = np.asarray(audio, dtype=np.float64)
    if a.size == 0:
        return 0.0
    if a.ndim == 1:
        a = a[:, None]
    return float(max(np.max(oversampled_peaks(a)), np.max(np.abs(a))))


def to_db(amplitude: float) -> float:
    return 20.0 * math.log10(amplitude) if amplitude > 0 else -math.inf


def _peak_envelope(a: np.ndarray) -> np.ndarray:
    """Per sample: the largest true-peak value in the intervals either side of it, over channels."""
    n = a.shape[0]
    up = oversampled_peaks(a)
    per_sample = _channel_max(a)
    for phase in range(OVERSAMPLE):  # the 4 points of each sample's interval (strided: no slow short-axis max)
        np.maximum(per_sample, up[phase::OVERSAMPLE][:n], out=per_sample)
    before = np.concatenate([[0.0], per_sample[:-1]])  # the interval that ends at sample n
    return np.maximum(per_sample, before)


def _window_min(x: np.ndarray, back: int, ahead: int) -> np.ndarray:
    """``out[n] = min(x[n - back .. n + ahead - 1])``, treating the outside as 1 (no reduction)."""
    n, width = x.shape[0], back + ahead
    padded = np.pad(x, (width, width), constant_values=1.0)
    centred = minimum_filter1d(padded, width, mode="nearest")  # window [k - width//2, k - width//2 + width - 1]
    first = width - back + width // 2
    return centred[first:first + n]


def _trailing_mean(x: np.ndarray, length: int) -> np.ndarray:
    """``out[n] = mean(x[n - length + 1 .. n])``, with ``x[0]`` before the start (``x[0]`` is a
    windowed minimum that covers the first ``length`` samples, so the bound holds there too)."""
    padded = np.concatenate([np.full(length, x[0]), x])
    sums = np.cumsum(padded)
    return (sums[length:] - sums[:-length]) / length


def limit(audio: np.ndarray, sample_rate: int, ceiling_dbtp: float = CEILING_DBTP, *,
          lookahead_s: float = LOOKAHEAD_S, hold_s: float = HOLD_S,
          envelope: np.ndarray | None = None) -> np.ndarray:
    """``audio`` (``[N, C]``) with its true peak at or under ``ceiling_dbtp``, float32.

    The output is delayed by nothing (the whole signal is known, so "lookahead" is just
    reading ahead); audio already under the ceiling comes back unchanged. ``envelope`` is
    ``_peak_envelope(audio)`` when the caller has it (it scales with the audio's gain).
    """
    a = np.asarray(audio, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] == 0:
        raise ExportError(f"the limiter takes audio shaped [samples, channels], not {a.shape}")
    ceiling = 10.0 ** (ceiling_dbtp / 20.0)
    out = a
    for _ in range(PASSES):
        envelope = _peak_envelope(out) if envelope is None else envelope
        if envelope.max() <= ceiling * FLOAT_MARGIN:
            break
        out = out * _gain_curve(envelope, ceiling, sample_rate, lookahead_s, hold_s)[:, None]
        envelope = None
    else:  # what the ramps' own inter-sample overshoot left after the passes: off the whole
        peak = true_peak(out)
        if peak > ceiling * FLOAT_MARGIN:
            out = out * (ceiling * FLOAT_MARGIN / peak)
    return out.astype(np.float32)


def _gain_curve(envelope: np.ndarray, ceiling: float, sample_rate: int, lookahead_s: float = LOOKAHEAD_S,
                hold_s: float = HOLD_S) -> np.ndarray:
    """Steps 1 to 3 of the module docstring: the smooth gain that is never above the need."""
    aim = ceiling * 10.0 ** (-SAFETY_DB / 20.0)
    ahead = max(1, int(round(lookahead_s * sample_rate)))
    need = np.minimum(1.0, aim / np.maximum(envelope, 1e-12))
    return _trailing_mean(_window_min(need, int(round(hold_s * sample_rate)), ahead), ahead)


@dataclass(frozen=True)
class Maximised:
    """The limited master: ``gain_db`` was applied before the limiter, which then took off up
    to ``reduction_db`` on the loudest peaks; ``lufs`` and ``true_peak_dbtp`` describe ``audio``."""

    audio: np.ndarray
    gain_db: float
    lufs: float | None
    true_peak_dbtp: float
    reduction_db: float


def limit_to_loudness(mix: np.ndarray, sample_rate: int, target_lufs: float,
                      ceiling_dbtp: float = CEILING_DBTP) -> Maximised:
    """Bring ``mix`` to ``target_lufs`` with the limiter holding its true peak under the ceiling.

    Limiting takes loudness away, so the gain in front of it is raised and the pass repeated
    until the result is within ``LOUDNESS_TOLERANCE`` of the target (a few secant steps), or
    until more gain no longer makes it louder (then ``lufs`` says how loud it got). Raises
    ExportError for a mix too short or too quiet to measure.
    """
    a = np.asarray(mix, dtype=np.float64)
    start = measure_lufs(a, sample_rate)
    if start is None:
        raise ExportError("cannot reach a loudness target: the mix is silent or shorter than 0.4 s")
    # The first limiter pass is worked out from one envelope, scaled to each trial gain (the
    # envelope of g*x is g times that of x), so finding the gain costs no new oversampling.
    envelope = _peak_envelope(a)
    ceiling = 10.0 ** (ceiling_dbtp / 20.0)

    def first_pass(gain_db: float) -> tuple[np.ndarray, float | None]:
        g = 10.0 ** (gain_db / 20.0)
        out = a * (g * _gain_curve(g * envelope, ceiling, sample_rate))[:, None]
        return out, measure_lufs(out, sample_rate)

    gain_db = target_lufs - start
    _, lufs = first_pass(gain_db)
    slope = 1.0  # LU of loudness per dB of gain: 1 until the limiter works, less as it works harder
    for _ in range(MAX_PASSES):
        if lufs is None or abs(lufs - target_lufs) <= LOUDNESS_TOLERANCE or slope < MIN_SLOPE:
            break
        step = min(MAX_STEP_DB, max(-MAX_STEP_DB, (target_lufs - lufs) / max(slope, MIN_SLOPE)))
        _, new_lufs = first_pass(gain_db + step)
        if new_lufs is None:
            break
        slope = (new_lufs - lufs) / step if step else 0.0
        gain_db, lufs = gain_db + step, new_lufs
    g = 10.0 ** (gain_db / 20.0)
    out = limit(a * g, sample_rate, ceiling_dbtp, envelope=g * envelope)
    lufs = measure_lufs(out, sample_rate)
    before = float(envelope.max()) * g
    after = true_peak(out)
    return Maximised(out, gain_db, lufs, to_db(after), max(0.0, to_db(before) - to_db(after)))
