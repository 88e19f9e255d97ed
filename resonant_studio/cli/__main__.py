"""``python -m resonant_studio.cli``: the ``resonant`` command."""

from resonant_studio.cli import run

run()
