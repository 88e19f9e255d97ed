"""One thread at a time in librosa.

librosa compiles its numba kernels (and ``guvectorize`` gufuncs such as the pitch tracker's
parabolic interpolation) on first use. Two threads reaching a not-yet-compiled kernel at once
(the library indexing a take while an import listens to a dropped file) crashed the process
with a segfault inside numba, seen in a fresh environment with a cold numba cache. Every entry
into librosa from this package goes through ``serialized``; the work is seconds long, so the
cost is only that two analyses queue instead of interleaving.
"""

from __future__ import annotations

import functools
import threading
from typing import Callable, TypeVar

F = TypeVar("F", bound=Callable)
LIBROSA = threading.RLock()


def serialized(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with LIBROSA:
            return fn(*args, **kwargs)
    return wrapper  # type: ignore[return-value]
