"""Errors the engine raises. Each carries one sentence a person can act on."""


class EngineError(Exception):
    """Base class for every error the engine reports to a person."""


class PromptError(EngineError):
    """The prompt cannot be turned into a musical context (empty, impossible tempo, ...)."""


class BackendError(EngineError):
    """A backend is unknown, unavailable or failed."""


class ModelError(BackendError):
    """A model folder is missing, incomplete or of an unknown architecture."""


class GenerationCancelled(EngineError):
    """The caller asked to stop; nothing was produced."""

    def __init__(self, message: str = "generation cancelled") -> None:
        super().__init__(message)


class MusicError(EngineError, ValueError):
    """A musical value is out of range or unknown (a tempo of 900 bpm, a pitch 'H#', a mode
    'klingon'). Also a ValueError, for code that validated with ValueError before."""
