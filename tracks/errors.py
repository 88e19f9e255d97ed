"""Errors the document layer reports; each message is one sentence a person can act on."""


class TracksError(Exception):
    """Base class for document errors."""


class LockedTrackError(TracksError):
    """An operation would change a locked track."""


class ProjectError(TracksError):
    """A project folder cannot be read or written."""


class ExportError(TracksError):
    """An export cannot be written."""


class ProjectLockedError(ProjectError):
    """Another process is changing the project (holds its lock); the message names it."""
