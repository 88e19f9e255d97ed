"""Frozen long-lived objects are still freed when the process ends."""

import subprocess
import sys

CHILD = """
import gc, soxr
from resonant_studio.core.heap import freeze_long_lived
resampler = soxr.ResampleStream(44100, 22050, 1)
cycle = [resampler]; cycle.append(cycle); del resampler, cycle
freeze_long_lived()
assert gc.get_freeze_count() > 0
"""


def test_a_frozen_heap_is_given_back_at_exit_so_nothing_native_is_reported_leaked():
    result = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "leaked" not in result.stderr, result.stderr
