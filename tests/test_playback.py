"""The Player without a device: the callback driven directly, as PortAudio would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

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


def assert_callback_allocates_under_2_kib(p: Player, blocks: int) -> None:
    """After one warm-up block, `blocks` more 512-frame callbacks allocate under 2 KiB at peak."""
    out = np.zeros((512, 2), dtype=np.float32)
    p.callback(out, 512)  # warm up
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for _ in range(blocks):
            p.callback(out, 512)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - base < 2048, f"callback allocated {peak - base} bytes at peak"


def test_callback_allocates_no_sample_memory() -> None:
    """A 512-frame block is 4 KiB of samples; the callback must not allocate anything like it."""
    p = Player(SR, open_device=False)
    p.set_mix(np.random.default_rng(0).standard_normal((SR * 60, 2)).astype(np.float32) * 0.1)
    p.loop = True
    p.play()
    assert_callback_allocates_under_2_kib(p, blocks=500)


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


# --- loop region ------------------------------------------------------------------------------
def looping_from(start: int, end: int, seek: int, *, loop: bool = True) -> Player:
    """A player on ramp(100) with a loop region start..end, sought to `seek` and playing."""
    p = Player(SR, open_device=False)
    p.set_mix(ramp(100))
    p.loop = loop
    p.set_loop_region(start, end)
    p.seek(seek)
    p.play()
    return p


def test_loop_region_wraps_at_its_end_to_its_start() -> None:
    p = looping_from(40, 60, 55)
    out = pull(p, 30)
    np.testing.assert_array_equal(out[:5], ramp(100)[55:60])
    np.testing.assert_array_equal(out[5:25], ramp(100)[40:60])
    np.testing.assert_array_equal(out[25:], ramp(100)[40:45])
    assert p.playing and p.position == 45


def test_loop_region_is_ignored_with_loop_off_and_cleared_by_an_empty_range() -> None:
    p = looping_from(40, 60, 55, loop=False)
    np.testing.assert_array_equal(pull(p, 10), ramp(100)[55:65])  # loop off: plays through
    p.set_loop_region(70, 70)
    assert p.loop_region is None


def test_a_region_past_a_shorter_mix_loops_the_whole_piece_instead_of_hanging() -> None:
    p = looping_from(150, 200, 95)
    out = pull(p, 10)
    np.testing.assert_array_equal(out[5:], ramp(100)[:5])


# --- metronome and count-in -------------------------------------------------------------------
def clicks_at(out: np.ndarray) -> list[int]:
    """Where each click starts, to the beat: sound after more than 50 ms of silence."""
    loud = np.flatnonzero(np.abs(out[:, 0]) > 1e-3)
    starts = [int(i) for k, i in enumerate(loud) if k == 0 or i - loud[k - 1] > SR_CLICK // 20]
    return [s - s % 4 for s in starts]  # the sine starts at 0: its first loud sample is a few in


SR_CLICK = 8000


def test_metronome_clicks_on_every_beat_with_an_accented_downbeat() -> None:
    p = Player(SR_CLICK, open_device=False)
    p.set_mix(np.zeros((SR_CLICK * 4, 2), dtype=np.float32))
    p.set_metronome(True, tempo=120, beats_per_bar=4)  # a beat every 4000 samples
    p.play()
    out = np.zeros((SR_CLICK * 3, 2), dtype=np.float32)
    for i in range(0, out.shape[0], 512):  # in blocks, as a device pulls it
        block = out[i:i + 512]
        p.callback(block, block.shape[0])
    assert clicks_at(out) == [0, 4000, 8000, 12000, 16000, 20000]
    # the downbeat's click has another pitch: count its zero crossings over the first 10 ms
    def crossings(at: int) -> int:
        x = out[at:at + 80, 0]
        return int(np.sum(np.signbit(x[1:]) != np.signbit(x[:-1])))
    assert crossings(0) > crossings(4000) and crossings(16000) == crossings(0)


def test_count_in_clicks_a_bar_before_the_piece_moves() -> None:
    p = Player(SR_CLICK, open_device=False)
    mix = np.full((SR_CLICK * 4, 2), 0.01, dtype=np.float32)
    p.set_mix(mix)
    p.set_metronome(False, tempo=120, beats_per_bar=4, count_in_bars=1)  # one bar = 16000 samples
    p.play()
    assert p.counting_in
    out = np.zeros((20000, 2), dtype=np.float32)
    for i in range(0, out.shape[0], 500):
        p.callback(out[i:i + 500], 500)
    assert clicks_at(out[:16000] * (np.abs(out[:16000]) > 0.02)) == [0, 4000, 8000, 12000]
    np.testing.assert_array_equal(out[16000:], mix[:4000])  # then the piece, with no click
    assert p.position == 4000 and not p.counting_in


def test_callback_with_clicks_and_a_region_allocates_no_sample_memory() -> None:
    p = Player(44100, open_device=False)
    p.set_mix(np.random.default_rng(0).standard_normal((44100 * 20, 2)).astype(np.float32) * 0.1)
    p.loop = True
    p.set_loop_region(44100, 44100 * 3)
    p.set_metronome(True, tempo=137, beats_per_bar=4, count_in_bars=1)
    p.play()
    assert_callback_allocates_under_2_kib(p, blocks=1000)  # through the count-in, the region's end and wraps


def test_metronome_settings_are_checked() -> None:
    p = Player(SR, open_device=False)
    with pytest.raises(ValueError, match="tempo"):
        p.set_metronome(True, tempo=0)
    with pytest.raises(ValueError, match="count-in"):
        p.set_metronome(True, count_in_bars=-1)
    assert not p.metronome


# --- devices, with a stand-in for sounddevice -------------------------------------------------
class FakeStream:
    """``hang``: "stop" (stop() blocks forever, abort() works) or "both" (abort() blocks too)."""

    def __init__(self, *, hang: str | None = None, **kwargs) -> None:
        self.kwargs = kwargs
        self.active = False
        self.hang = hang
        self.closed = False
        self._forever = threading.Event()

    def start(self) -> None:
        self.active = True

    def stop(self) -> None:
        if self.hang:
            self._forever.wait()  # what sounddevice's stop() does when the device has vanished
        self.active = False

    def abort(self) -> None:
        if self.hang == "both":
            self._forever.wait()
        self.active = False

    def close(self) -> None:
        self.closed = True


class FakeSoundDevice:
    def __init__(self, names: list[str], *, hang: str | None = None) -> None:
        self.names = list(names)
        self.hang = hang
        self.rescans = 0
        self.streams: list[FakeStream] = []
        self._listed = list(names)  # what PortAudio saw at its last initialisation

    def query_devices(self, device=None, kind=None):
        devices = [{"name": n, "max_output_channels": 2} for n in self._listed]
        if kind != "output":
            return devices
        if device is None:
            if not devices:
                raise RuntimeError("Error querying device -1")
            return devices[0]
        for d in devices:
            if d["name"] == device:
                return d
        raise ValueError(f"No output device matching {device!r}")

    def OutputStream(self, **kwargs) -> FakeStream:  # noqa: N802 (sounddevice's name)
        stream = FakeStream(hang=self.hang, **kwargs)
        self.streams.append(stream)
        return stream

    def _terminate(self) -> None:
        self.rescans += 1

    def _initialize(self) -> None:
        self._listed = list(self.names)


@pytest.fixture(autouse=True)
def portaudio_answers():
    """PortAudio is one per process: a test that wedges it must not wedge the next one."""
    yield
    Player._wedged = False


@pytest.mark.parametrize("hang", ["stop", "both"])
def test_close_returns_within_two_seconds_when_stop_blocks_forever(hang: str) -> None:
    sd = FakeSoundDevice(["JACK"], hang=hang)
    p = Player(SR, backend=sd)
    assert p.available
    p.set_mix(ramp(100))
    p.play()
    start = time.monotonic()
    p.close()
    assert time.monotonic() - start < 2.0
    assert not p.available and not p.playing
    assert p.last_close == ("aborted" if hang == "stop" else "abandoned")


def test_once_portaudio_is_stuck_play_says_so_instead_of_hanging() -> None:
    """Seen with JACK killed mid-playback: stop and abort hang, and so would a re-scan."""
    sd = FakeSoundDevice(["JACK"], hang="both")
    p = Player(SR, backend=sd)
    p.set_mix(ramp(100))
    p.play()
    sd.streams[0].active = False
    assert "went away" in p.check_device()
    rescans = sd.rescans
    start = time.monotonic()
    p.play()
    assert time.monotonic() - start < 1.0
    assert not p.available and "restart the app" in p.unavailable_reason
    assert sd.rescans == rescans and p.output_devices() == []


def test_a_vanished_device_stops_playback_and_says_why() -> None:
    sd = FakeSoundDevice(["USB Audio"], hang="stop")
    p = Player(SR, backend=sd, device="USB Audio")
    p.set_mix(ramp(1000))
    p.play()
    p.callback(np.zeros((10, 2), dtype=np.float32), 10)
    assert p.check_device() is None and p.playing
    sd.streams[0].active = False  # PortAudio reports the stream gone
    start = time.monotonic()
    reason = p.check_device()
    assert time.monotonic() - start < 2.0  # closing the dead stream did not hang
    assert reason and "went away" in reason and "USB Audio" in reason
    assert not p.playing and not p.available and p.unavailable_reason == reason
    assert p.check_device() is None  # said once


def test_a_stream_whose_callback_stops_coming_counts_as_lost(monkeypatch) -> None:
    from resonant_studio.core import playback

    monkeypatch.setattr(playback, "STALL_SECONDS", 0.05)
    p = Player(SR, backend=FakeSoundDevice(["JACK"]))
    p.set_mix(ramp(1000))
    p.play()
    deadline = time.monotonic() + 5.0
    reason = None
    while reason is None and time.monotonic() < deadline:
        reason = p.check_device()  # no callback comes: the device stopped pulling audio
    assert reason and "went away" in reason


def test_play_rescans_and_finds_a_device_plugged_in_after_launch() -> None:
    sd = FakeSoundDevice([])
    p = Player(SR, backend=sd)
    assert not p.available and "no audio output device" in p.unavailable_reason
    sd.names = ["Headphones"]
    assert p.output_devices() == ["Headphones"]  # the picker re-scans too
    p.set_mix(ramp(100))
    p.play()
    assert p.available and p.unavailable_reason is None and sd.rescans >= 1
    rescans = sd.rescans
    p.play()  # with a stream open PortAudio is left alone
    assert sd.rescans == rescans
    p.close()


def test_choosing_an_output_device_reopens_on_it() -> None:
    sd = FakeSoundDevice(["Speakers", "Headphones"])
    p = Player(SR, backend=sd)
    assert sd.streams[-1].kwargs["device"] is None
    assert p.set_device("Headphones") is None
    assert sd.streams[-1].kwargs["device"] == "Headphones" and sd.streams[0].closed
    assert "was not found" in p.set_device("Nope")
    p.close()


VANISH_SCRIPT = r"""
import os, sys, time, signal
import numpy as np
from pathlib import Path
from resonant_studio.core.playback import Player
p = Player(44100)
if not p.available:
    print("NODEVICE", p.unavailable_reason); sys.exit(0)
p.set_mix(np.zeros((44100 * 60, 2), dtype=np.float32))
p.play()
t0 = time.monotonic()
while p.position < 4410 and time.monotonic() - t0 < 10: time.sleep(0.01)
os.kill(int(sys.argv[1]), signal.SIGKILL)  # the server this test started, by its pid
t0 = time.monotonic(); reason = None
while reason is None and time.monotonic() - t0 < 10:
    reason = p.check_device(); time.sleep(0.02)
print("NOTICED", round(time.monotonic() - t0, 2), reason)
t0 = time.monotonic(); p.play(); p.close()
print("REPLAY", round(time.monotonic() - t0, 2), p.unavailable_reason)
"""


@pytest.mark.skipif(not shutil.which("jackd"), reason="needs jackd (apt-get install --no-install-recommends jackd2)")
def test_killing_a_real_jack_server_mid_playback_is_noticed_and_exit_does_not_hang(tmp_path) -> None:
    """The issue's case on a real device: the JACK server dies while playing. In a child
    process, so a PortAudio stuck in the dead server cannot touch this one."""
    name = f"resonant-test-{os.getpid()}"
    server = subprocess.Popen(["jackd", "--no-realtime", "-n", name, "-d", "dummy", "-r", "44100", "-p", "512"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        env = {**os.environ, "JACK_DEFAULT_SERVER": name, "JACK_NO_START_SERVER": "1"}
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # wait for the server to take clients
            probe = subprocess.run(["jack_lsp"], env=env, capture_output=True) if shutil.which("jack_lsp") else None
            if probe is None or probe.returncode == 0:
                break
            time.sleep(0.1)
        start = time.monotonic()
        child = subprocess.run([sys.executable, "-c", VANISH_SCRIPT, str(server.pid)], env=env, capture_output=True,
                               text=True, timeout=60, cwd=Path(__file__).resolve().parents[1])
        elapsed = time.monotonic() - start
    finally:
        server.kill()
        server.wait()
    out = child.stdout
    if "NODEVICE" in out:
        pytest.skip("PortAudio did not list the JACK server: " + out)
    assert child.returncode == 0, child.stderr[-2000:]
    noticed = float(out.split("NOTICED ")[1].split()[0])
    assert "went away" in out and noticed < 5.0
    replay = float(out.split("REPLAY ")[1].split()[0])
    assert replay < 2.0  # Play after the loss re-scans (or says PortAudio is stuck) without hanging
    assert elapsed < 30.0  # and the process exits: sounddevice's exit handler no longer blocks it
