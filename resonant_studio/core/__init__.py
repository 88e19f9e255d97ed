"""The application's plain core: errors, settings, the model catalogue, the one audio reader,
"Use as reference" steering, export orchestration, playback through sounddevice, the fast-BLAS
re-exec.

May import: ``engine``, ``tracks`` and third-party libraries. Never PySide6/pyqtgraph, never
another room of ``resonant_studio``.
"""
