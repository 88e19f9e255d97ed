"""Compute layer: prompt analysis, music theory, generation backends, audio analysis.

Never imports Qt, ``widgets`` or ``resonant_studio``; it works on plain data it is handed.
"""
