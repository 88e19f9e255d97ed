"""What MusicGen continues: audio handed in with a request, as a typed value.

Two sources reach the backend:

- ``GenerationRequest.params["continue_from"] = AudioContinuation(audio, sample_rate)``: the
  music before a selection. The generated part starts where that audio ends and is not moved
  to the grid again: it is already in time with what precedes it. A tuple of them, one per
  part, continues each part from its own audio (regenerating a section of several tracks:
  each track's take up to the section's first bar; all of the same length).
- ``GenerationRequest.reference`` with ``continue_audio=True`` (an ``engine.analysis``
  ``ReferenceAnalysis`` from "Use as reference"): the reference's opening seconds are the
  prompt; the new part is what follows, fitted to the session grid as usual.

Either way only the last ``seconds`` (default 10 s) are used: MusicGen's context is 30 s, and
the prompt's frames are re-read by every window that follows. The backend shortens a
selection's prompt further (not below ``MIN_PROMPT_SECONDS``) so that prompt and new part fit
one window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.errors import BackendError

DEFAULT_PROMPT_SECONDS = 10.0
MIN_PROMPT_SECONDS = 1.0


@dataclass(frozen=True, eq=False)
class AudioContinuation:
    """Audio ``[N]`` or ``[N, C]`` float at ``sample_rate`` for the new part to continue."""

    audio: np.ndarray
    sample_rate: int
    seconds: float = DEFAULT_PROMPT_SECONDS

    def __post_init__(self) -> None:
        audio = np.asarray(self.audio)
        if audio.ndim not in (1, 2) or audio.size == 0 or not np.issubdtype(audio.dtype, np.floating):
            raise BackendError("audio to continue must be a non-empty float array of samples ([N] or [N, channels])")
        if not np.isfinite(audio).all():
            raise BackendError("audio to continue holds NaN or infinite samples: render it again")
        if isinstance(self.sample_rate, bool) or not (isinstance(self.sample_rate, (int, np.integer)) and 1000 <= self.sample_rate <= 384000):
            raise BackendError(f"audio to continue has an unusable sample rate ({self.sample_rate!r})")
        if not (0.1 <= float(self.seconds) <= 25.0):
            raise BackendError(f"continue from 0.1 to 25 seconds of audio (got {self.seconds})")

    def tail(self, sample_rate: int, channels: int, seconds: float | None = None) -> np.ndarray:
        """The last ``seconds`` (default: ``self.seconds``) as float32 ``[N, channels]`` at ``sample_rate``."""
        audio = np.asarray(self.audio, np.float32)
        audio = audio[:, None] if audio.ndim == 1 else audio
        audio = audio[-max(1, int((self.seconds if seconds is None else seconds) * self.sample_rate)):]
        if channels == 1:
            audio = audio.mean(axis=1, keepdims=True)
        elif audio.shape[1] == 1:
            audio = np.repeat(audio, channels, axis=1)
        else:
            audio = audio[:, :channels]
        if int(self.sample_rate) != sample_rate:
            import soxr

            audio = soxr.resample(audio, int(self.sample_rate), sample_rate, quality="HQ")
        return np.ascontiguousarray(audio, dtype=np.float32)
