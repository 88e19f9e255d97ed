"""Playback of the session mix through sounddevice, from a preallocated buffer.

The audio callback only copies a slice of the current buffer into ``outdata`` and advances
an integer index: no allocation of sample memory, no locks, no logging, no Qt. A new mix is
prepared off the callback (``set_mix``) and swapped in by assigning one reference, which is
atomic in CPython, so playback never stops when a track changes. The UI polls ``position``.

Without PortAudio, or without an output device, the player still keeps its state (the
transport works and seeking moves the playhead) and ``unavailable_reason`` says why it
cannot be heard.
"""

from __future__ import annotations

import numpy as np

CHANNELS = 2


class Player:
    """Play, pause, stop, seek and loop over a stereo float32 buffer.

    ``open_device=False`` builds a player with no stream, for tests that drive ``callback``
    directly as PortAudio would.
    """

    def __init__(self, sample_rate: int = 44100, *, open_device: bool = True, blocksize: int = 0) -> None:
        self.sample_rate = int(sample_rate)
        self._buffer = np.zeros((0, CHANNELS), dtype=np.float32)
        self._pos = 0
        self._seek_to = -1  # set by the UI, consumed by the callback: the callback owns _pos
        self._playing = False
        self._loop = False
        self._stream = None
        self.unavailable_reason: str | None = "audio output was not opened"
        if open_device:
            self.unavailable_reason = self._open_stream(blocksize)

    # --- device ---------------------------------------------------------------------------------
    def _open_stream(self, blocksize: int) -> str | None:
        """Open and start an output stream; return a sentence saying why not, or None."""
        try:
            import sounddevice as sd
        except OSError:
            return "cannot play: the PortAudio library is not installed (on Debian/Ubuntu: apt-get install libportaudio2)"
        except ImportError:
            return "cannot play: the sounddevice package is not installed"
        try:
            device = sd.query_devices(kind="output")
        except Exception:  # PortAudio raises its own error types; any of them means no device
            return "cannot play: no audio output device was found"
        if not device:
            return "cannot play: no audio output device was found"
        try:
            stream = sd.OutputStream(samplerate=self.sample_rate, channels=CHANNELS, dtype="float32",
                                     blocksize=blocksize, callback=self.callback)
            stream.start()
        except Exception as exc:
            return f"cannot play: the audio device {device.get('name', '')!r} could not be opened ({exc})"
        self._stream = stream
        return None

    @property
    def available(self) -> bool:
        return self._stream is not None

    def close(self) -> None:
        self._playing = False
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.stop()
                stream.close()
            except Exception:  # closing a stream whose device vanished must not stop the app quitting
                pass

    # --- the real-time part -------------------------------------------------------------------
    def callback(self, outdata: np.ndarray, frames: int, time: object = None, status: object = None) -> None:
        """PortAudio's callback: copy ``frames`` samples from the buffer, advance the index."""
        buf = self._buffer  # one reference read; set_mix may replace it at any time
        seek = self._seek_to
        if seek >= 0:
            self._seek_to = -1
            self._pos = seek
        if not self._playing:
            outdata.fill(0.0)
            return
        pos = self._pos
        total = buf.shape[0]
        written = 0
        while written < frames:
            if pos >= total:
                if self._loop and total > 0:
                    pos = 0
                else:
                    self._playing = False
                    pos = total
                    break
            k = min(frames - written, total - pos)
            outdata[written:written + k] = buf[pos:pos + k]
            written += k
            pos += k
        if written < frames:
            outdata[written:].fill(0.0)
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
    def length(self) -> int:
        return int(self._buffer.shape[0])

    @property
    def duration(self) -> float:
        return self.length / self.sample_rate

    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def loop(self) -> bool:
        return self._loop

    @loop.setter
    def loop(self, value: bool) -> None:
        self._loop = bool(value)

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
        if self.position >= self.length:
            self.seek(0)
        self._playing = True

    def pause(self) -> None:
        self._playing = False

    def toggle(self) -> None:
        if self._playing:
            self.pause()
        else:
            self.play()

    def stop(self) -> None:
        self._playing = False
        self.seek(0)
