"""Resonant Studio's application layer, in rooms (each room's docstring says what it may import):

- ``core``: no Qt; errors, settings, model catalogue, audio reader, steering, export, playback.
- ``presets``: no Qt; preset files, schema, resolution.
- ``library``: no Qt; the reference library store, indexing, results.
- ``generation``: no Qt; sessions and the generation plan shared by the CLI and the window.
- ``cli``: no Qt; the ``resonant`` command.
- ``qt``: the window; the only room that imports PySide6.
"""

__version__ = "0.1.0"
