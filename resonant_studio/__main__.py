"""``python -m resonant_studio`` opens the studio window."""

from resonant_studio.app import run

run()
