"""A take's audio in a project: 24-bit FLAC, written and read through integers so it is stable.

Takes live in memory as float32; FLAC stores integers, so saving quantises each sample to
24 bits (about 146 dB of range; the error is below 2**-23 of the take's scale). After a
save the file, not the float buffer, is the take of record: loading gives back the
quantised audio, and saving that again reproduces the same integers exactly.

Two details make that exact:

* We quantise ourselves (``round(x * 2**23)``) and hand libsndfile int32 samples. Its own
  float path scales by 2**23 - 1 on write and 2**23 on read, so a float round trip drifts by
  one step on loud samples every time it is repeated.
* A take that peaks at or above full scale (a hot synth part, a summed import) would clip.
  Instead it is divided by the smallest power of two that brings its peak below 1 and the
  factor is stored beside it (``audio_scale``); powers of two multiply back exactly. The
  integer range is kept symmetric (±(2**23 - 1)), so a reloaded take never needs a larger
  scale than the one it was saved with.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import soundfile as sf

from tracks.audio_write import write_audio

FULL_SCALE = 2 ** 23
_MAX_CODE = FULL_SCALE - 1


class TakeFileError(ValueError):
    """A take file cannot be decoded into the take it should hold; the message says why."""


def audio_scale(audio: np.ndarray) -> float:
    """The smallest power of two (at least 1) that brings the take's peak below full scale."""
    if not audio.size:
        return 1.0
    peak = max(float(np.max(audio)), -float(np.min(audio)))  # no temporary copy of the audio
    if not np.isfinite(peak):  # non-finite samples are stored as silence; measure the rest
        clean = np.nan_to_num(np.asarray(audio, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        peak = float(np.max(np.abs(clean)))
    scale = 1.0
    while peak / scale >= 1.0:
        scale *= 2.0
    return scale


def quantise(audio: np.ndarray, scale: float) -> np.ndarray:
    """Float audio -> 24-bit codes held in the top of int32 (what libsndfile expects for PCM_24).

    Non-finite samples (which no take should hold) are stored as silence.
    """
    clean = np.nan_to_num(np.asarray(audio, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    codes = np.clip(np.rint(clean / scale * FULL_SCALE), -_MAX_CODE, _MAX_CODE).astype(np.int32)
    return codes << 8


def dequantise(data: np.ndarray, scale: float) -> np.ndarray:
    return ((data >> 8).astype(np.float64) * (scale / FULL_SCALE)).astype(np.float32)


def write_take_file(path: Path, audio: np.ndarray, sample_rate: int, scale: float) -> None:
    """Write ``audio`` as 24-bit stereo FLAC at ``path``, divided by ``scale`` (see audio_scale)."""
    write_audio(path, audio, sample_rate, format="FLAC", subtype="PCM_24", transform=lambda block: quantise(block, scale))


def read_take_file(path: Path, *, sample_rate: int, num_samples: int, scale: float) -> np.ndarray:
    """Read a take file back; raises TakeFileError when it is not the take the document describes.

    The file is opened without following a symbolic link (a crafted project cannot point a
    take at a file elsewhere) and must be a regular file; OSError passes through.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
                 | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise TakeFileError("it is not a regular file")
        try:
            with sf.SoundFile(f) as snd:
                if snd.format != "FLAC":
                    raise TakeFileError(f"it is {snd.format}, not FLAC")
                if snd.samplerate != sample_rate:
                    raise TakeFileError(f"it is at {snd.samplerate} Hz but the project is at {sample_rate} Hz")
                if snd.channels != 2:
                    raise TakeFileError(f"it has {snd.channels} channels, not 2")
                if snd.frames != num_samples:
                    raise TakeFileError(f"it holds {snd.frames} samples where {num_samples} were saved")
                data = snd.read(dtype="int32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as err:
            raise TakeFileError(f"it is not readable audio ({_first_line(err)})") from err
    if data.shape[0] != num_samples:
        raise TakeFileError(f"it holds {data.shape[0]} samples where {num_samples} were saved")
    return dequantise(data, scale)


def _first_line(err: Exception) -> str:
    # LibsndfileError carries libsndfile's own phrase without the file name repeated.
    text = getattr(err, "error_string", None) or str(err).strip()
    return text.splitlines()[-1].strip().rstrip(".").lower() if text else type(err).__name__
