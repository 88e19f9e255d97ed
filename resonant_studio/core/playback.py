"""Playback of the session mix through sounddevice, from a preallocated buffer.

The audio callback only copies a slice of the current buffer into ``outdata``, adds slices
of the preallocated metronome clicks, and advances an integer index: no allocation of sample
memory, no locks, no logging, no Qt. A new mix is prepared off the callback (``set_mix``)
and swapped in by assigning one reference, which is atomic in CPython, so playback never
stops when a track changes. The loop region is one (start, end) tuple, also swapped whole.
The UI polls ``position`` and ``check_device``.

Without PortAudio, or without an output device, the player still keeps its state (the
transport works and seeking moves the playhead) and ``unavailable_reason`` says why it
cannot be heard. Pressing Play re-scans the devices, so one plugged in later is found; a
device that vanishes mid-playback is noticed by ``check_device`` (the stream went inactive,
or its callback stopped coming), which stops playback and says why. ``close`` never hangs.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from resonant_studio.core.audio_device import close_stream, forget_on_exit, load_backend, output_devices, rescan
from resonant_studio.core.click import Clicks, mix_clicks

CHANNELS = 2
STALL_SECONDS = 1.0  # a running stream whose callback has not come for this long has lost its device


class Player:
    """Play, pause, stop, seek, loop (whole piece or a region) and click over a stereo buffer.

    ``open_device=False`` builds a player with no stream, for tests that drive ``callback``
    directly as PortAudio would. ``backend`` stands in for the sounddevice module in tests.
    """

    _streams_open = 0  # streams open in this process (the main player, a preview player...)
    _wedged = False    # PortAudio stopped answering (a close or a re-scan hung): never call it again
    WEDGED = ("cannot play: the audio system stopped responding when the device went away; "
              "save your work and restart the app to play again")

    def __init__(self, sample_rate: int = 44100, *, open_device: bool = True, blocksize: int = 0,
                 backend: Any | None = None, device: str | None = None) -> None:
        self.sample_rate = int(sample_rate)
        self._buffer = np.zeros((0, CHANNELS), dtype=np.float32)
        self._pos = 0
        self._seek_to = -1  # set by the UI, consumed by the callback: the callback owns _pos
        self._playing = False
        self._loop = False
        self._region: tuple[int, int] | None = None
        self._clicks = Clicks(self.sample_rate)
        self._metronome = False
        self._grid = (0.0, 4)  # (samples per beat, beats per bar), swapped whole
        self._count_in_left = 0   # samples of count-in still to play before the piece moves
        self._count_in_total = 0
        self.count_in_bars = 0
        self._callbacks = 0       # advanced by the callback, read by check_device
        self._stream = None
        self._blocksize = blocksize
        self._backend = backend
        self.device = device
        self._seen = (0, 0.0)     # (callback count, when check_device saw it change)
        self.last_close = "none"  # how the last stream was closed: stopped, aborted or abandoned
        self.unavailable_reason: str | None = "audio output was not opened"
        self._open_device = open_device
        if open_device:
            self.unavailable_reason = self._open_stream()

    # --- device ---------------------------------------------------------------------------------
    def _sd(self) -> tuple[Any | None, str | None]:
        if self._backend is not None:
            return self._backend, None
        return load_backend()

    def _open_stream(self) -> str | None:
        """Open and start an output stream; return a sentence saying why not, or None."""
        sd, problem = self._sd()
        if sd is None:
            return problem
        if Player._wedged:
            return self.WEDGED
        try:
            device = sd.query_devices(self.device, kind="output") if self.device else sd.query_devices(kind="output")
        except Exception:  # PortAudio raises its own error types; any of them means no device
            return ("cannot play: the audio device " f"{self.device!r} was not found" if self.device
                    else "cannot play: no audio output device was found")
        if not device:
            return "cannot play: no audio output device was found"
        try:
            stream = sd.OutputStream(samplerate=self.sample_rate, channels=CHANNELS, dtype="float32",
                                     blocksize=self._blocksize, callback=self.callback, device=self.device)
            stream.start()
        except Exception as exc:
            return f"cannot play: the audio device {device.get('name', '')!r} could not be opened ({exc})"
        self._stream = stream
        Player._streams_open += 1
        self._seen = (self._callbacks, time.monotonic())
        return None

    @property
    def available(self) -> bool:
        return self._stream is not None

    def output_devices(self) -> list[str]:
        """Names of the output devices, for a picker (re-scanned when no stream is open)."""
        sd, _ = self._sd()
        if sd is None:
            return []
        if Player._wedged:
            return []
        if self._stream is None:
            self._rescan(sd)
        return output_devices(sd)

    def set_device(self, name: str | None) -> str | None:
        """Play through the device called ``name`` (None: the system default); returns why not, or None."""
        self.device = name
        self._drop_stream()
        return self.reopen()

    def reopen(self) -> str | None:
        """Re-scan the devices and open a stream if none is open; the reason it cannot play, or None."""
        if self._stream is not None or not self._open_device:
            return self.unavailable_reason
        sd, problem = self._sd()
        if sd is None:
            self.unavailable_reason = problem
            return problem
        self._rescan(sd)
        self.unavailable_reason = self._open_stream()
        return self.unavailable_reason

    @classmethod
    def _rescan(cls, sd: Any) -> None:
        if cls._streams_open or cls._wedged:  # re-initialising would pull the device from another player
            return
        try:
            finished = rescan(sd)
        except Exception:  # a failed re-scan leaves the old list; opening will say what is wrong
            return
        if not finished:
            cls._mark_wedged(sd)

    @classmethod
    def _mark_wedged(cls, sd: Any) -> None:
        cls._wedged = True
        forget_on_exit(sd)

    def check_device(self) -> str | None:
        """Called on a UI timer: if the device went away, stop, close the stream and say why.

        A stream is lost when PortAudio reports it inactive, or when it is running but its
        callback has not come for ``STALL_SECONDS``. Returns the sentence once, when noticed.
        """
        stream = self._stream
        if stream is None:
            return None
        count, since = self._seen
        now = time.monotonic()
        if self._callbacks != count:
            self._seen = (self._callbacks, now)
            lost = False
        else:
            lost = now - since > STALL_SECONDS
        try:
            lost = lost or not stream.active
        except Exception:  # asking a stream whose device vanished can raise too
            lost = True
        if not lost:
            return None
        self._playing = False
        self._drop_stream()
        name = f" ({self.device})" if self.device else ""
        self.unavailable_reason = (f"playback stopped: the audio device{name} went away; reconnect it or pick "
                                   "another output and press Play")
        return self.unavailable_reason

    def _drop_stream(self) -> str:
        stream, self._stream = self._stream, None
        if stream is None:
            return "none"
        Player._streams_open -= 1
        outcome = close_stream(stream)
        self.last_close = outcome
        if outcome == "abandoned":  # stop and abort both hung: PortAudio is stuck in the dead device
            sd, _ = self._sd()
            if sd is not None:
                Player._mark_wedged(sd)
        return outcome

    def close(self) -> None:
        """Stop playback and close the stream; returns within about 1.5 s even if PortAudio hangs."""
        self._playing = False
        self._drop_stream()

    # --- the real-time part -------------------------------------------------------------------
    def callback(self, outdata: np.ndarray, frames: int, time: object = None, status: object = None) -> None:
        """PortAudio's callback: copy ``frames`` samples from the buffer, add clicks, advance the index."""
        self._callbacks += 1
        buf = self._buffer  # one reference read; set_mix may replace it at any time
        seek = self._seek_to
        if seek >= 0:
            self._seek_to = -1
            self._pos = seek
        outdata.fill(0.0)
        if not self._playing:
            return
        beat_samples, beats_per_bar = self._grid
        written = 0
        left = self._count_in_left
        if left > 0:  # the count-in: clicks only, the piece waits
            k = frames if frames < left else left
            mix_clicks(outdata, 0, k, self._count_in_total - left, beat_samples, beats_per_bar, self._clicks)
            self._count_in_left = left - k
            written = k
        pos = self._pos
        total = buf.shape[0]
        region = self._region
        loop_start, loop_end = (0, total) if region is None else region
        if loop_end > total:
            loop_end = total
        if loop_start >= loop_end:  # a region past the end of a shorter mix: loop the whole piece
            loop_start, loop_end = 0, total
        metronome = self._metronome
        while written < frames:
            if self._loop and pos == loop_end:
                pos = loop_start
            end = loop_end if self._loop and pos < loop_end else total
            if pos >= end:  # the end of the piece (a playhead past the region plays on to it)
                if self._loop and total > 0:
                    pos = loop_start
                    continue
                self._playing = False
                pos = total
                break
            k = min(frames - written, end - pos)
            outdata[written:written + k] = buf[pos:pos + k]
            if metronome:
                mix_clicks(outdata, written, k, pos, beat_samples, beats_per_bar, self._clicks)
            written += k
            pos += k
        self._pos = pos

    # --- control (UI thread) --------------------------------------------------------------------
    @staticmethod
    def prepare(mix: np.ndarray) -> np.ndarray:
        """A buffer the callback can copy from: stereo float32, clipped to [-1, 1], contiguous."""
        buf = np.ascontiguousarray(np.clip(np.asarray(mix, dtype=np.float32), -1.0, 1.0))
        if buf.ndim != 2 or buf.shape[1] != CHANNELS:
            raise ValueError(f"the mix must be stereo [N, 2], got shape {buf.shape}")
        return buf

    def swap(self, buffer: np.ndarray) -> None:
        """Swap in a buffer made by ``prepare``: one reference assignment, playback goes on."""
        if buffer.dtype != np.float32 or buffer.ndim != 2 or buffer.shape[1] != CHANNELS \
                or not buffer.flags.c_contiguous:
            raise ValueError("swap() takes a buffer made by Player.prepare()")
        self._buffer = buffer

    def set_mix(self, mix: np.ndarray) -> None:
        """Prepare ``mix`` here (off the callback), then swap it in without stopping."""
        self.swap(self.prepare(mix))

    @property
    def buffer(self) -> np.ndarray:
        """The mix being played (read-only use: meters measure the slice at ``position``)."""
        return self._buffer

    @property
    def length(self) -> int:
        return int(self._buffer.shape[0])

    @property
    def duration(self) -> float:
        return self.length / self.sample_rate

    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def counting_in(self) -> bool:
        return self._playing and self._count_in_left > 0

    @property
    def loop(self) -> bool:
        return self._loop

    @loop.setter
    def loop(self, value: bool) -> None:
        self._loop = bool(value)

    @property
    def loop_region(self) -> tuple[int, int] | None:
        return self._region

    def set_loop_region(self, start: int | None, end: int | None = None) -> None:
        """Loop ``start .. end`` (samples) instead of the whole piece; None (or an empty range) clears it."""
        if start is None or end is None or int(end) <= int(start):
            self._region = None
            return
        start, end = max(0, int(start)), int(end)
        self._region = (start, end)

    def set_metronome(self, on: bool, *, tempo: float | None = None, beats_per_bar: float | None = None,
                      count_in_bars: int | None = None) -> None:
        """Click on every beat (accent on the downbeat); ``count_in_bars`` of clicks before Play starts."""
        if tempo is not None:
            if not tempo > 0:
                raise ValueError(f"tempo must be positive, not {tempo}")
            per_bar = self._grid[1] if beats_per_bar is None else max(1, int(round(beats_per_bar)))
            self._grid = (60.0 / float(tempo) * self.sample_rate, per_bar)
        if count_in_bars is not None:
            if count_in_bars < 0:
                raise ValueError(f"a count-in is 0 or more bars, not {count_in_bars}")
            self.count_in_bars = int(count_in_bars)
        self._metronome = bool(on)

    @property
    def metronome(self) -> bool:
        return self._metronome

    @property
    def position(self) -> int:
        """The playhead in samples (a pending seek counts as done)."""
        seek = self._seek_to
        return seek if seek >= 0 else self._pos

    @property
    def seconds(self) -> float:
        return self.position / self.sample_rate

    def seek(self, sample: int) -> None:
        sample = max(0, min(int(sample), self.length))
        if self._stream is None:
            self._pos = sample  # no callback will run to consume a pending seek
        else:
            self._seek_to = sample

    def play(self) -> None:
        """Start playing (after the count-in, if one is set); re-scans the devices when none is open."""
        if self._stream is None and self._open_device:
            self.reopen()
        if self.position >= self.length:
            self.seek(0)
        beat_samples, beats_per_bar = self._grid
        count_in = int(round(self.count_in_bars * beats_per_bar * beat_samples)) if self.count_in_bars else 0
        self._count_in_total = count_in
        self._count_in_left = count_in
        self._playing = True

    def pause(self) -> None:
        self._playing = False
        self._count_in_left = 0

    def toggle(self) -> None:
        if self._playing:
            self.pause()
        else:
            self.play()

    def stop(self) -> None:
        self.pause()
        self.seek(0)
