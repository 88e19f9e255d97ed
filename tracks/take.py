"""One generated (or imported) version of a track's content. Immutable once made."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

import numpy as np

NoteTuple = tuple[int, float, float, int]
"""(pitch, start in beats, duration in beats, velocity) — plain data, no engine types."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True, eq=False)
class Take:
    """Audio is float32 stereo ``[N, 2]`` at the session's sample rate."""

    audio: np.ndarray
    notes: tuple[NoteTuple, ...] | None = None
    prompt: str = ""
    seed: int | None = None
    backend: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    created: str = field(default_factory=_now)
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def __post_init__(self) -> None:
        audio = np.asarray(self.audio, dtype=np.float32)
        if audio.ndim == 1:
            audio = np.stack([audio, audio], axis=1)
        if audio.ndim != 2 or audio.shape[1] != 2:
            raise ValueError(f"take audio must be stereo [N, 2], got shape {audio.shape}")
        audio = np.ascontiguousarray(audio)
        audio.flags.writeable = False  # a take never changes after it is made
        object.__setattr__(self, "audio", audio)
        if self.notes is not None:
            notes = tuple((int(p), float(s), float(d), int(v)) for p, s, d, v in self.notes)
            object.__setattr__(self, "notes", notes)
        object.__setattr__(self, "params", dict(self.params))

    @property
    def num_samples(self) -> int:
        return int(self.audio.shape[0])

    @property
    def is_symbolic(self) -> bool:
        return self.notes is not None

    def metadata(self) -> dict:
        """Everything but the audio, as JSON-ready plain data."""
        return {
            "id": self.id,
            "prompt": self.prompt,
            "seed": self.seed,
            "backend": self.backend,
            "params": dict(self.params),
            "created": self.created,
            "notes": [list(n) for n in self.notes] if self.notes is not None else None,
        }
