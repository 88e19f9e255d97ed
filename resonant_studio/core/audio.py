"""Reading an audio file someone dropped in: any format libsndfile reads, resampled with soxr."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from resonant_studio.core.errors import AppError

MAX_SECONDS = 20 * 60


def read_audio(path: str | Path, sample_rate: int) -> np.ndarray:
    """The file as float32 stereo ``[N, 2]`` at ``sample_rate``; AppError with a sentence if not."""
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise AppError(f"cannot import {name}: it is not a file")
    try:
        info = sf.info(str(path))
        if info.frames > MAX_SECONDS * info.samplerate:
            raise AppError(f"cannot import {name}: it is longer than {MAX_SECONDS // 60} minutes")
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except AppError:
        raise
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AppError(f"cannot import {name}: it is not an audio file this app can read "
                       f"(WAV, FLAC, OGG, AIFF or MP3), or it is damaged") from exc
    except OSError as exc:
        raise AppError(f"cannot import {name}: {exc.strerror or exc}") from exc
    if data.shape[0] == 0:
        raise AppError(f"cannot import {name}: the file holds no audio")
    if data.shape[1] == 1:
        data = np.repeat(data, 2, axis=1)
    elif data.shape[1] > 2:
        data = data[:, :2]
    if not np.all(np.isfinite(data)):
        raise AppError(f"cannot import {name}: the file holds invalid samples (NaN or infinity)")
    if rate != sample_rate:
        data = soxr.resample(data, rate, sample_rate, quality="HQ")
    return np.ascontiguousarray(data, dtype=np.float32)
