"""The contract between the controller and every backend.

A request carries the session's musical context, the parts to produce, and the content of
every locked part (audio always, symbolic notes where the part has them) so that the new
parts fit them. A backend returns one ``GeneratedPart`` per requested part. Audio is float32
stereo, shape ``[N, 2]``, at ``request.sample_rate`` and exactly ``context.num_samples(sr)``
long.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol, Sequence

import numpy as np

from engine.context import MusicalContext
from engine.theory import Note

ProgressCallback = Callable[[float, str], None]
"""Called with a fraction in [0, 1] and a short message."""

CancelCallback = Callable[[], bool]
"""Returns True when the caller wants the generation stopped (checked between steps)."""


@dataclass(frozen=True)
class PartSpec:
    """A part to generate: the track's name and role (drums | bass | harmony | melody | other)."""

    name: str
    role: str
    prompt: str = ""


@dataclass(frozen=True)
class LockedPart:
    """A part that must not change and that new parts must fit."""

    name: str
    role: str
    audio: np.ndarray
    notes: tuple[Note, ...] | None = None
    features: Any = None
    """What was heard in ``audio`` (an ``engine.locked.LockedFeatures``), in session time; None
    until measured. Backends read kicks and chords from it when the part has no notes."""


@dataclass(frozen=True)
class GenerationRequest:
    context: MusicalContext
    parts: tuple[PartSpec, ...]
    seed: int
    sample_rate: int = 44100
    locked: tuple[LockedPart, ...] = ()
    prompt: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    reference: Any = None
    """Optional steering material (e.g. reference-track analysis); backends may ignore it."""


@dataclass(frozen=True)
class GeneratedPart:
    name: str
    role: str
    audio: np.ndarray
    notes: tuple[Note, ...] | None
    params: Mapping[str, Any]
    """The resolved parameters that reproduce this part exactly."""


class Backend(Protocol):
    name: str

    def generate(
        self,
        request: GenerationRequest,
        progress: ProgressCallback | None = None,
        cancel: CancelCallback | None = None,
    ) -> Sequence[GeneratedPart]:
        """Produce one part per ``request.parts``; raise ``GenerationCancelled`` on cancel."""
        ...
