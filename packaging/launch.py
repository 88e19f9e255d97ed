"""Frozen-app entry point: the same launcher as ``resonant-studio``."""

from resonant_studio.app import run

run()
