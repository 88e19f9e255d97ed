"""The master limiter: a -9 LUFS export never exceeds -1 dBTP, measured independently."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.signal import resample, resample_poly

from tracks.errors import ExportError
from tracks.limiter import _trailing_mean, _window_min, limit, limit_to_loudness, measure_lufs, true_peak

SR = 44100


def beat(seconds: float = 8.0, seed: int = 0) -> np.ndarray:
    """A loud, punchy loop: kick on every beat at 124 bpm, noisy hats, a saw bass, stereo."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    out = np.zeros((n, 2))
    beat_len = 60.0 / 124
    for start in np.arange(0.0, seconds, beat_len):
        i = int(start * SR)
        k = np.arange(min(int(0.25 * SR), n - i)) / SR
        kick = np.sin(2 * np.pi * (50 + 120 * np.exp(-k * 30)) * k) * np.exp(-k * 12)
        out[i:i + k.size] += 0.9 * kick[:, None]
        j = int((start + beat_len / 2) * SR)
        if j < n:
            m = min(int(0.05 * SR), n - j)
            hat = rng.standard_normal((m, 2)) * np.exp(-np.arange(m) / SR * 80)[:, None]
            out[j:j + m] += 0.3 * hat
    saw = 2 * ((t * 55.0) % 1.0) - 1
    out += 0.25 * np.stack([saw, np.roll(saw, 37)], axis=1)
    return out.astype(np.float32)


def independent_true_peak_dbtp(audio: np.ndarray) -> float:
    """True peak at 4x (BS.1770-4's oversampling) by ideal band-limited interpolation over the
    whole signal in one FFT (zero-padded ends), and by scipy's polyphase filter (the higher
    reading counts): not the limiter's own blockwise reading.

    Not soxr: its steep low-pass is not an interpolating filter (an impulse comes back at
    0.956), so it reads a different signal; on this beat it read up to 0.3 dB above ideal.
    """
    a = np.pad(np.asarray(audio, dtype=np.float64), ((4096, 4096), (0, 0)))
    ideal = np.max(np.abs(resample(a, 4 * a.shape[0], axis=0)))
    polyphase = np.max(np.abs(resample_poly(a, 4, 1, axis=0)))
    return 20 * math.log10(max(ideal, polyphase, np.max(np.abs(audio))))


def test_windowed_minimum_and_trailing_mean_cover_the_right_samples() -> None:
    x = np.ones(30)
    x[10] = 0.2
    held = _window_min(x, back=3, ahead=4)  # out[n] = min x[n-3 .. n+3]
    assert np.flatnonzero(held < 1).tolist() == list(range(7, 14))
    ramp = _trailing_mean(held, 4)
    assert np.all(ramp <= x + 1e-12)  # never above what each sample needs


@pytest.mark.parametrize("target", [-9.0, -12.0])
def test_an_export_at_loud_targets_never_exceeds_minus_1_dbtp(target: float) -> None:
    mix = beat()
    result = limit_to_loudness(mix, SR, target)
    assert result.audio.shape == mix.shape and result.audio.dtype == np.float32
    assert independent_true_peak_dbtp(result.audio) <= -1.0
    assert result.true_peak_dbtp <= -1.0
    assert measure_lufs(result.audio, SR) == pytest.approx(target, abs=0.15)
    assert result.reduction_db > 1.0  # it did have to limit: without it the peak would be far above


def test_a_target_louder_than_the_ceiling_allows_stops_short_and_says_how_loud() -> None:
    result = limit_to_loudness(beat(), SR, -4.0)
    assert independent_true_peak_dbtp(result.audio) <= -1.0
    assert -9.5 < result.lufs < -4.0 and result.lufs == pytest.approx(measure_lufs(result.audio, SR))


def test_without_a_limiter_the_same_target_would_clip() -> None:
    """The situation the limiter exists for: plain gain to -9 LUFS puts the peak above 0 dBTP."""
    mix = beat()
    gain = 10 ** ((-9.0 - measure_lufs(mix, SR)) / 20)
    assert independent_true_peak_dbtp(mix * gain) > 0.0


def test_inter_sample_peaks_are_caught() -> None:
    """A sine at a quarter of the rate, phased so every sample misses the crest by 45 degrees:
    sample peaks read -3 dB under the true peak."""
    t = np.arange(SR) / SR
    x = np.sin(2 * np.pi * SR / 4 * t + np.pi / 4)
    mix = np.stack([x, x], axis=1) * 0.95
    assert np.max(np.abs(mix)) < 0.7 and true_peak(mix) > 0.9
    out = limit(mix, SR, -1.0)
    assert independent_true_peak_dbtp(out) <= -1.0


def test_quiet_audio_passes_unchanged_and_bad_input_is_refused() -> None:
    quiet = beat() * 0.1
    np.testing.assert_array_equal(limit(quiet, SR), quiet)
    with pytest.raises(ExportError, match="silent or shorter"):
        limit_to_loudness(np.zeros((SR, 2), dtype=np.float32), SR, -9.0)
    with pytest.raises(ExportError, match="shaped"):
        limit(np.zeros(100), SR)
