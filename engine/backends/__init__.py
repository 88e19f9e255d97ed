"""Generation backends behind one interface, found by name in a registry."""

from engine.backends.base import (
    Backend,
    GeneratedPart,
    GenerationRequest,
    LockedPart,
    PartSpec,
    ProgressCallback,
    CancelCallback,
)
from engine.backends.registry import available_backends, get_backend, register_backend

__all__ = [
    "Backend",
    "CancelCallback",
    "GeneratedPart",
    "GenerationRequest",
    "LockedPart",
    "PartSpec",
    "ProgressCallback",
    "available_backends",
    "get_backend",
    "register_backend",
]
