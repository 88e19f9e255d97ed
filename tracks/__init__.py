"""The document: Session, Track, Take, history, mixer, project files, export, MIDI.

Pure Python + numpy. Never imports Qt or ``resonant_studio``, nor ``engine`` but its
standard-library loader ``engine.safe_load``.
"""

from tracks.errors import ExportError, LockedTrackError, ProjectError, ProjectLockedError, TracksError
from tracks.session import Session
from tracks.take import Take
from tracks.track import ROLES, Track

__all__ = [
    "ExportError",
    "LockedTrackError",
    "ProjectError",
    "ProjectLockedError",
    "ROLES",
    "Session",
    "Take",
    "Track",
    "TracksError",
]
