"""Frozen-app entry point: the same launcher as ``resonant-studio``."""

from resonant_studio.qt.app import run

run()
