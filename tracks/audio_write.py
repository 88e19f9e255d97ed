"""Write an audio file so that a failing disk is reported as the OSError it is.

Handed a path, libsndfile reports a full disk as "System error." and nothing more. Handed a
Python file object instead (soundfile's virtual I/O), every byte goes through our own
``write``: the first OSError (ENOSPC, EIO, EDQUOT...) is kept, libsndfile is told nothing
was written, and the kept error is raised once libsndfile gives up, so the caller can say
"no space left on device". An exception must not escape the C callback itself: cffi would
print a traceback and carry on.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO, Callable

import numpy as np
import soundfile as sf


def write_chunk(f: BinaryIO, data: bytes) -> int:
    """One write to the real file; a seam for tests that simulate a full disk."""
    return f.write(data)


class _Sink:
    """The file object libsndfile writes through; remembers the first OSError."""

    def __init__(self, f: BinaryIO) -> None:
        self._f = f
        self.error: OSError | None = None

    def write(self, data: bytes) -> int:
        if self.error is not None:
            return 0
        try:
            written = write_chunk(self._f, data)
        except OSError as err:
            self.error = err
            return 0
        return len(data) if written is None else written

    def read(self, n: int = -1) -> bytes:
        return self._f.read(n)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._f.seek(offset, whence)

    def tell(self) -> int:
        return self._f.tell()


BLOCK_FRAMES = 1 << 16


def write_audio(path: Path, data: np.ndarray, sample_rate: int, *, format: str, subtype: str,
                transform: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
    """Write ``data`` ``[N, C]`` to ``path`` (an existing temp file is truncated first).

    ``transform`` (gain, quantising) is applied to one block of ``BLOCK_FRAMES`` frames at a
    time as it is written: no whole-length temporary, and no single numpy call long enough to
    hold the GIL from the UI thread while a worker writes a long file.

    Raises the disk's own OSError when a write fails, RuntimeError for anything libsndfile
    refuses on its own account.
    """
    with open(path, "r+b" if Path(path).exists() else "wb") as f:
        f.truncate(0)
        sink = _Sink(f)
        try:
            with sf.SoundFile(sink, "w", samplerate=sample_rate, channels=data.shape[1] if data.ndim == 2 else 1,
                              format=format, subtype=subtype) as out:
                for start in range(0, data.shape[0], BLOCK_FRAMES):
                    block = data[start:start + BLOCK_FRAMES]
                    out.write(block if transform is None else transform(block))
                    if sink.error is not None:
                        break
        except Exception as err:  # soundfile asserts on a short write; libsndfile raises its own
            if sink.error is not None:
                raise sink.error from err
            raise
        if sink.error is not None:  # libsndfile shrugged a short write off: the file is not whole
            raise sink.error
        f.flush()
        os.fsync(f.fileno())
