"""Length handling, loop seams, fades and loudness of generated audio (engine/postprocess.py)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.postprocess import (
    PostprocessError,
    PostprocessSettings,
    apply_fades,
    fit_duration,
    make_loop,
    measure_loudness,
    normalize_loudness,
    peak_db,
    postprocess_parts,
)

SR = 32000


def tone(seconds: float, freq: float = 441.3, amp: float = 0.5, sr: int = SR) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    mono = amp * np.sin(2 * np.pi * freq * t)
    return np.stack([mono, 0.8 * mono], axis=1).astype(np.float32)


def max_step(audio: np.ndarray) -> float:
    """The largest jump between neighbouring samples: what a listener hears as a click."""
    return float(np.max(np.abs(np.diff(audio, axis=0))))


# --- duration ---------------------------------------------------------------------------------
def test_crop_cuts_to_exact_length_and_fades_the_cut():
    audio = tone(3.0)
    out = fit_duration(audio, SR * 2, "crop", SR)
    assert out.shape == (SR * 2, 2)
    assert abs(out[-1, 0]) < 1e-3  # faded to silence where it was cut
    np.testing.assert_array_equal(out[: SR], audio[: SR])  # the body is untouched


def test_crop_fills_short_audio_with_silence():
    out = fit_duration(tone(1.0), SR * 2, "crop", SR)
    assert out.shape == (SR * 2, 2)
    assert not np.any(out[SR:])


def test_pad_never_cuts_generated_audio():
    long = tone(3.0)
    np.testing.assert_array_equal(fit_duration(long, SR * 2, "pad", SR), long)
    short = fit_duration(tone(1.0), SR * 2, "pad", SR)
    assert short.shape[0] == SR * 2 and not np.any(short[SR:])


def test_strict_refuses_a_length_it_did_not_get():
    with pytest.raises(PostprocessError, match="strict duration"):
        fit_duration(tone(2.5), SR * 2, "strict", SR)
    assert fit_duration(tone(2.0), SR * 2, "strict", SR).shape == (SR * 2, 2)


def test_unknown_duration_mode_is_named():
    with pytest.raises(PostprocessError, match="crop, pad, strict"):
        fit_duration(tone(1.0), SR, "stretch", SR)
    with pytest.raises(PostprocessError, match="crop, pad, strict"):
        PostprocessSettings(duration_seconds=1.0, duration_mode="stretch")


# --- loops ------------------------------------------------------------------------------------
def test_loop_seam_is_no_bigger_than_the_audio_own_steps():
    # 441.3 Hz does not fit a whole number of cycles into 4 s: a plain cut clicks.
    audio = tone(4.5)
    n, x = SR * 4, SR // 2
    naive_seam = abs(audio[n - 1, 0] - audio[0, 0])
    loop = make_loop(audio, n, x)
    seam = float(np.max(np.abs(loop[0] - loop[-1])))
    assert loop.shape == (n, 2)
    assert naive_seam > 5 * max_step(audio)  # the test material really would click
    assert seam <= max_step(audio) * 1.001
    # Played twice in a row, no step is out of scale with the audio's own (an equal-power
    # crossfade of out-of-phase material can swell by up to sqrt(2), never jump).
    assert max_step(np.concatenate([loop, loop])) <= max_step(audio) * np.sqrt(2) * 1.001


def test_loop_needs_material_past_its_end():
    with pytest.raises(PostprocessError, match="needs"):
        make_loop(tone(4.0), SR * 4, SR // 2)


def test_loop_of_noise_has_no_click_at_the_seam():
    rng = np.random.default_rng(3)
    # Low-passed noise: smooth enough that a jump at the seam would stand out.
    noise = np.cumsum(rng.standard_normal((SR * 3, 2)), axis=0)
    noise = (noise - noise.mean(axis=0)) / np.abs(noise).max() * 0.5
    loop = make_loop(noise.astype(np.float32), SR * 2, SR // 4)
    assert np.max(np.abs(loop[0] - loop[-1])) <= max_step(noise) * 1.001


# --- fades and loudness -----------------------------------------------------------------------
def test_fades_start_and_end_in_silence():
    out = apply_fades(tone(1.0), SR, 0.1, 0.2)
    assert abs(out[0, 0]) < 1e-3 and abs(out[-1, 0]) < 1e-3
    np.testing.assert_array_equal(out[SR // 2], tone(1.0)[SR // 2])


def test_normalise_reaches_target_loudness():
    quiet = tone(3.0, amp=0.05)
    out = normalize_loudness(quiet, SR, -20.0, ceiling_db=-1.0)
    assert measure_loudness(out, SR) == pytest.approx(-20.0, abs=0.1)


def test_normalise_never_clips_even_when_the_target_asks_for_it():
    # A sparse click track: very loud peaks, low loudness. -5 LUFS would need far more than 0 dBFS.
    audio = np.zeros((SR * 3, 2), dtype=np.float32)
    audio[:: SR // 2] = 0.3
    out = normalize_loudness(audio, SR, -5.0, ceiling_db=-1.0)
    assert peak_db(out) <= -1.0 + 1e-4
    assert peak_db(out) == pytest.approx(-1.0, abs=1e-3)  # it went as far as it could


def test_silence_is_left_alone():
    silence = np.zeros((SR, 2), dtype=np.float32)
    assert measure_loudness(silence, SR) == float("-inf")
    assert not np.any(normalize_loudness(silence, SR, -14.0))


def test_very_short_sounds_can_be_measured():
    assert np.isfinite(measure_loudness(tone(0.1), SR))


def test_parts_share_one_gain_so_the_balance_stays():
    loud, soft = tone(3.0, amp=0.04), tone(3.0, freq=220.0, amp=0.01)
    settings = PostprocessSettings(duration_seconds=2.0, loudness_lufs=-16.0)
    (a, b), report = postprocess_parts([loud, soft], SR, settings)
    ratio_before = np.max(np.abs(loud)) / np.max(np.abs(soft))
    assert np.max(np.abs(a)) / np.max(np.abs(b)) == pytest.approx(ratio_before, rel=1e-3)
    assert measure_loudness(a + b, SR) == pytest.approx(-16.0, abs=0.2)
    assert report["seconds"] == pytest.approx(2.0)
    assert report["gain_db"] > 0
    assert peak_db(a + b) <= -1.0 + 1e-4


def test_a_loop_in_postprocess_skips_fades_and_keeps_its_length():
    settings = PostprocessSettings(duration_seconds=2.0, loop=True, loop_crossfade_seconds=0.25,
                                   fade_out_seconds=0.5)
    assert settings.render_seconds == pytest.approx(2.25)
    (out,), _ = postprocess_parts([tone(2.5)], SR, settings)
    assert out.shape[0] == 2 * SR
    assert abs(out[-1, 0]) > 0.01  # no fade-out: a faded loop would dip every time round


def test_postprocess_is_deterministic():
    settings = PostprocessSettings(duration_seconds=1.5, loudness_lufs=-18.0, fade_in_seconds=0.05)
    a, _ = postprocess_parts([tone(2.0)], SR, settings)
    b, _ = postprocess_parts([tone(2.0)], SR, settings)
    assert a[0].tobytes() == b[0].tobytes()


def test_settings_round_trip_through_plain_data():
    s = PostprocessSettings(duration_seconds=3.0, duration_mode="pad", loudness_lufs=-14.0)
    assert PostprocessSettings.from_dict(s.to_dict()) == s
