"""The application layer: entry points, controller, engine thread, playback, library, settings."""

__version__ = "0.1.0"
