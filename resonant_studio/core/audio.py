"""Reading an audio file someone dropped in, through the one audio reader.

``engine.analysis.audio_io`` reads in blocks, downmixes and resamples while streaming, and
refuses what is not an audio file (pipes, devices, NaN samples, absurd rates) with a
sentence; import, analysis, references, previews and the library all read through it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.analysis.audio_io import read_for_import
from engine.errors import EngineError
from resonant_studio.core.errors import AppError

MAX_SECONDS = 20 * 60


def read_audio(path: str | Path, sample_rate: int) -> np.ndarray:
    """The file as float32 stereo ``[N, 2]`` at ``sample_rate``; AppError with a sentence if not."""
    name = Path(path).name
    try:
        loaded = read_for_import(path, sample_rate, MAX_SECONDS)
    except EngineError as exc:
        raise AppError(str(exc)) from exc  # the reader's sentence names the file and what is wrong
    if loaded.audio.shape[0] == 0:
        raise AppError(f"cannot import {name}: the file holds no audio")
    return np.ascontiguousarray(loaded.audio, dtype=np.float32)
