"""Style, role and quality presets: the files (built-in and the user's, read within bounds),
their schema, the layers a configuration is resolved from, and ``--explain``.

May import: ``engine``, ``tracks``, ``resonant_studio.core``. Never Qt.
"""
