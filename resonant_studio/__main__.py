"""``python -m resonant_studio`` opens the studio window."""

from resonant_studio.qt.app import run

run()
