"""The composer's numpy synth: voices, wavetables, drum hits and note placement."""

from __future__ import annotations

import numpy as np
import pytest

from engine.composer.drum_voices import drum_hit, kick_hz
from engine.composer.render import render_drums, render_tonal
from engine.composer.synth import VOICE_FUNCTIONS, TABLE_SIZE, adsr, midi_hz, wavetable
from engine.context import MusicalContext
from engine.theory import Note

SR = 22050


def dominant_hz(x: np.ndarray, sr: int) -> float:
    x = x if x.ndim == 1 else x.mean(axis=1)
    n = 1 << 16
    spectrum = np.abs(np.fft.rfft(x[:n] * np.hanning(min(len(x), n)), n))
    return float(np.argmax(spectrum) * sr / n)


@pytest.mark.parametrize("voice", sorted(VOICE_FUNCTIONS))
def test_every_voice_sounds_for_the_held_time_then_releases_to_silence(voice):
    held = SR // 2
    wave = VOICE_FUNCTIONS[voice](57, held, SR)
    assert wave.dtype == np.float32 and np.isfinite(wave).all()
    assert held < len(wave) <= held + SR  # a release tail, under a second
    assert float(np.abs(wave[: held // 4]).max()) > 0.05
    assert float(np.abs(wave[-8:]).max()) < 0.02  # ends near silence: no click when it stops


@pytest.mark.parametrize("voice,pitch", [("sub_bass", 33), ("triangle_lead", 69), ("organ", 60), ("808", 40)])
def test_voices_play_the_pitch_they_are_given(voice, pitch):
    wave = VOICE_FUNCTIONS[voice](pitch, SR * 2, SR)
    assert abs(dominant_hz(wave, SR) - midi_hz(pitch)) < 0.03 * midi_hz(pitch)


def test_wavetables_hold_only_octaves_fifths_and_ninths_up_to_the_count_asked_for():
    spectrum = np.abs(np.fft.rfft(wavetable("saw", 10))) / (TABLE_SIZE / 2)
    present = {k for k in range(1, 40) if spectrum[k] > 1e-3}
    assert present == {1, 2, 3, 4, 6, 8, 9}  # no 5th (a major third above) or 7th partial
    square = np.abs(np.fft.rfft(wavetable("square", 16)))
    assert {k for k in range(1, 40) if square[k] > 1e-3 * square[1]} == {1, 3, 9}
    triangle = np.abs(np.fft.rfft(wavetable("triangle", 5)))
    assert {k for k in range(1, 40) if triangle[k] > 1e-3 * triangle[1]} == {1, 3, 5}


def test_high_notes_are_band_limited_below_nyquist():
    wave = VOICE_FUNCTIONS["saw_lead"](96, SR, SR)  # C7, 2093 Hz: only 4 partials fit under 11 kHz
    spectrum = np.abs(np.fft.rfft(wave[:16384] * np.hanning(16384)))
    freqs = np.fft.rfftfreq(16384, 1 / SR)
    fundamental = spectrum[np.abs(freqs - midi_hz(96)) < 30].max()
    # Aliased partials would land between the harmonics; there must be nothing loud there.
    between = spectrum[(freqs > midi_hz(96) * 1.3) & (freqs < midi_hz(96) * 1.7)]
    assert between.max() < 0.01 * fundamental


def test_adsr_holds_then_releases_linearly():
    env = adsr(1000, 1000, attack=0.1, decay=0.1, sustain=0.5, release=0.2)
    assert len(env) == 1200
    assert env[100] == pytest.approx(1.0, abs=0.02)
    assert env[999] == pytest.approx(0.5, abs=0.01)
    assert np.all(np.diff(env[1000:]) <= 0) and env[-1] < 0.01


def test_kick_is_tuned_to_the_tonic_between_g1_and_f_sharp_2():
    for tonic in range(12):
        hz = kick_hz(tonic)
        assert 48.0 <= hz < 94.0
        assert round(12 * np.log2(hz / 440.0) + 69) % 12 == tonic
    assert kick_hz(9) == pytest.approx(55.0)  # A minor: the tonic itself
    for tonic in (9, 2, 4):
        hit = drum_hit(36, SR, "kit", tonic)
        body = hit[int(0.08 * SR):]  # after the pitch sweep
        assert abs(dominant_hz(body, SR) - kick_hz(tonic)) < 3.0


def test_drum_hits_are_cached_read_only_and_the_same_every_time():
    a = drum_hit(38, SR)
    assert drum_hit(38, SR) is a
    assert not a.flags.writeable
    drum_hit.cache_clear()
    assert np.array_equal(drum_hit(38, SR), a)


def test_notes_start_on_the_exact_sample_of_their_beat():
    ctx = MusicalContext(tempo=120.0, bars=1)
    for beat in (1.0, 2.5, 1.0 / 3.0):
        audio = render_drums([Note(36, beat, 0.25, 127)], ctx, SR, "kit")
        first = int(np.flatnonzero(np.abs(audio).max(axis=1) > 0)[0])
        assert first == round(beat * 0.5 * SR)  # 0.5 s per beat at 120 bpm
        tonal = render_tonal([Note(45, beat, 0.5, 100)], ctx, SR, "pluck_bass")
        assert int(np.flatnonzero(np.abs(tonal).max(axis=1) > 0)[0]) in (first, first + 1)


def test_a_new_hit_cuts_the_previous_one_of_the_same_drum():
    ctx = MusicalContext(tempo=120.0, bars=1)
    alone = render_drums([Note(36, 0.0, 0.25, 127)], ctx, SR, "kit")
    pair = render_drums([Note(36, 0.0, 0.25, 127), Note(36, 0.25, 0.25, 127)], ctx, SR, "kit")
    cut = int(0.125 * SR)
    assert np.array_equal(pair[: cut - SR // 500], alone[: cut - SR // 500])
    later = pair[cut: cut + 2000]
    assert np.allclose(later, alone[:2000], atol=1e-6)  # the second hit alone, no tail of the first


def test_tonal_render_reuses_one_waveform_per_pitch_and_length_scaled_by_velocity():
    ctx = MusicalContext(tempo=120.0, bars=2)
    loud = render_tonal([Note(45, 0.0, 1.0, 127)], ctx, SR, "sub_bass")
    soft = render_tonal([Note(45, 4.0, 1.0, 64)], ctx, SR, "sub_bass")
    start = 2 * SR  # beat 4 at 120 bpm
    ratio = np.abs(soft[start: start + 5000]).max() / np.abs(loud[:5000]).max()
    assert ratio == pytest.approx((64 / 127) ** 1.5, rel=1e-3)
    assert loud.shape == (ctx.num_samples(SR), 2)
