"""Give MLX a fast BLAS on Linux by restarting the process with Debian's OpenBLAS preloaded.

MLX's Linux CPU wheel bundles a slow reference BLAS (~3 GFLOP/s for a 1024² matmul here);
with ``libopenblas0-pthread`` preloaded it reaches ~145 GFLOP/s, which makes MusicGen
decoding and MiniLM text embedding tens of times faster. macOS builds use Accelerate and
Metal, so there this does nothing. Only entry points call it (never library code or tests):
it replaces the running process.
"""

from __future__ import annotations

import os
import sys

OPENBLAS = "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3"
DISABLE_ENV = "RESONANT_NO_OPENBLAS"
# Intel's MKL (the ``mkl`` wheel, in this environment's lib/): measured twice as fast as
# OpenBLAS for MusicGen's decode step at 1 thread (129 against 231 ms/step). Preferred when
# installed; sequential threading, since two shared cores got slower with more threads.
MKL_ENV = {"MKL_INTERFACE_LAYER": "LP64", "MKL_THREADING_LAYER": "SEQUENTIAL"}


def _mkl() -> str | None:
    import glob

    found = sorted(glob.glob(os.path.join(sys.prefix, "lib", "libmkl_rt.so.*")))
    return found[-1] if found else None


def describe() -> str:
    """Which BLAS MLX uses in this process, in words."""
    if sys.platform != "linux":
        return "the platform's own (Accelerate/Metal)"
    if "mkl" in os.environ.get("LD_PRELOAD", ""):
        return f"MKL via LD_PRELOAD ({os.environ['LD_PRELOAD']})"
    if "openblas" in os.environ.get("LD_PRELOAD", ""):
        return f"OpenBLAS via LD_PRELOAD ({os.environ['LD_PRELOAD']})"
    return "MLX's bundled reference BLAS (apt-get install libopenblas0-pthread for a faster one)"


def ensure_fast_blas() -> None:
    """Re-exec this command with OpenBLAS preloaded when that helps and is possible."""
    if sys.platform != "linux" or os.environ.get(DISABLE_ENV):
        return
    current = os.environ.get("LD_PRELOAD", "")
    if "openblas" in current or "mkl" in current:
        return
    mkl = _mkl()
    blas = mkl or (OPENBLAS if os.path.exists(OPENBLAS) else None)
    if blas is None:
        return
    preload = " ".join(p for p in (blas, current) if p)
    env = dict(os.environ, LD_PRELOAD=preload, **(MKL_ENV if mkl else {}))
    argv = list(getattr(sys, "orig_argv", [sys.executable, *sys.argv]))
    try:
        os.execve(sys.executable, [sys.executable, *argv[1:]], env)
    except OSError:
        return  # keep running with the bundled BLAS rather than fail to start
