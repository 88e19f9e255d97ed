"""The error audio analysis reports to a person."""

from engine.errors import EngineError


class AnalysisError(EngineError):
    """A file cannot be analysed (unreadable, empty, not audio); the message says which and why."""
