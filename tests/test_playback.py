"""The Player without a device: the callback driven directly, as PortAudio would."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from resonant_studio.core.playback import Player

SR = 1000


def ramp(n: int) -> np.ndarray:
    x = np.arange(n, dtype=np.float32) / n
    return np.stack([x, -x], axis=1)


def pull(player: Player, frames: int) -> np.ndarray:
    out = np.full((frames, 2), 7.0, dtype=np.float32)  # garbage the callback must overwrite
    player.callback(out, frames, None, None)
    return out


def test_silence_until_play_then_copies_and_advances() -> None:
    p = Player(SR, open_device=False)
    p.set_mix(ramp(100))
    assert np.all(pull(p, 10) == 0.0)
    assert p.position == 0
    p.play()
    out = pull(p, 10)
    np.testing.assert_array_equal(out, ramp(100)[:10])
    assert p.position == 10
    np.testing.assert_array_equal(pull(p, 5), ramp(100)[10:15])


def test_end_without_loop_pads_silence_and_stops() -> None:
    p = Player(SR, open_device=False)
    p.set_mix(ramp(20))
    p.seek(15)
    p.play()
    out = pull(p, 10)
    np.testing.assert_array_equal(out[:5], ramp(20)[15:])
    assert np.all(out[5:] == 0.0)
    assert not p.playing
    p.play()  # playing again from the end starts over
    assert p.position == 0 and p.playing


def test_loop_wraps_around() -> None:
    p = Player(SR, open_device=False)
    p.set_mix(ramp(20))
    p.loop = True
    p.seek(15)
    p.play()
    out = pull(p, 10)
    np.testing.assert_array_equal(out[:5], ramp(20)[15:])
    np.testing.assert_array_equal(out[5:], ramp(20)[:5])
    assert p.playing and p.position == 5


def test_swapping_the_mix_keeps_playing_at_the_same_position() -> None:
    p = Player(SR, open_device=False)
    p.set_mix(ramp(100))
    p.play()
    pull(p, 30)
    p.set_mix(ramp(100) * 0.5)
    np.testing.assert_allclose(pull(p, 10), ramp(100)[30:40] * 0.5)
    assert p.playing and p.position == 40


def test_pause_keeps_position_stop_rewinds() -> None:
    p = Player(SR, open_device=False)
    p.set_mix(ramp(100))
    p.play()
    pull(p, 30)
    p.pause()
    assert np.all(pull(p, 10) == 0.0) and p.position == 30
    p.stop()
    assert p.position == 0 and not p.playing


def test_mix_is_clipped_and_checked() -> None:
    p = Player(SR, open_device=False)
    p.set_mix(np.full((4, 2), 3.0))
    assert p._buffer.max() == 1.0
    with pytest.raises(ValueError, match="stereo"):
        p.set_mix(np.zeros(10))


def test_callback_allocates_no_sample_memory() -> None:
    """A 512-frame block is 4 KiB of samples; the callback must not allocate anything like it."""
    p = Player(SR, open_device=False)
    p.set_mix(np.random.default_rng(0).standard_normal((SR * 60, 2)).astype(np.float32) * 0.1)
    p.loop = True
    p.play()
    out = np.zeros((512, 2), dtype=np.float32)
    p.callback(out, 512)  # warm up
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for _ in range(500):
            p.callback(out, 512)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - base < 2048, f"callback allocated {peak - base} bytes at peak"


def test_without_portaudio_or_device_says_why() -> None:
    p = Player(SR)
    if p.available:
        pytest.skip("this machine has a working audio output")
    assert p.unavailable_reason and p.unavailable_reason.startswith("cannot play:")
    p.set_mix(ramp(100))
    p.play()
    p.seek(50)
    assert p.position == 50
    p.close()


def test_real_device_plays_in_real_time_and_swaps_without_stopping() -> None:
    """Runs where an output device exists (e.g. `jackd --no-realtime -d dummy -r 44100`)."""
    import time

    p = Player(44100)
    if not p.available:
        pytest.skip(p.unavailable_reason or "no audio device")
    try:
        p.set_mix(np.zeros((44100 * 5, 2), dtype=np.float32))
        p.play()
        start = time.monotonic()
        deadline = start + 5.0
        while p.position < 22050 and time.monotonic() < deadline:
            time.sleep(0.01)
        elapsed = time.monotonic() - start
        assert p.position >= 22050, "the device did not pull audio"
        assert 0.25 < elapsed < 1.5, f"half a second of audio took {elapsed:.2f} s"
        p.set_mix(np.full((44100 * 5, 2), 0.1, dtype=np.float32))
        before = p.position
        while p.position < before + 4410 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert p.playing and p.position >= before + 4410
    finally:
        p.close()
