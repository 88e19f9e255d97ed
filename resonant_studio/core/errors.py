"""Errors the application layer reports to a person."""


class AppError(Exception):
    """One sentence a person can act on; the CLI prints it and exits non-zero."""
