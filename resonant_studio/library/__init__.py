"""The reference library ("Like This Song"): the Qdrant store, indexing a folder, search
results and filters.

May import: ``engine``, ``tracks``, ``resonant_studio.core``. Never Qt.
"""
