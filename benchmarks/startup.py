"""How fast the two front doors open: `resonant --help` and the studio window.

Each is run as a new process, several times; the median and range of the wall time from
launch to answer (for the window: to a shown window, reported by the app itself when
RESONANT_STARTUP_PROBE is set) are printed. Targets on an idle machine: --help < 0.5 s,
window < 2 s. The window runs offscreen, with a throwaway HOME so no recent project opens.

    .venv/bin/python benchmarks/startup.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def timed(argv: list[str], env: dict[str, str], until: str | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    if until is None:
        proc.communicate(timeout=120)
    else:
        for line in proc.stdout:
            if until in line:
                break
        else:
            raise SystemExit(f"{argv} ended without saying {until!r}")
    elapsed = time.perf_counter() - start
    proc.wait(timeout=120)
    if proc.returncode != 0:
        raise SystemExit(f"{argv} exited {proc.returncode}")
    return elapsed


def report(label: str, times: list[float], target: float) -> None:
    med = statistics.median(times)
    print(f"{label:<28} median {med:6.3f} s  (min {min(times):.3f}, max {max(times):.3f}, "
          f"{len(times)} runs; target < {target:g} s: {'ok' if med < target else 'MISSED'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    resonant = str(BIN / "resonant")
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=f"{home}/.config", XDG_DATA_HOME=f"{home}/.local/share",
                   QT_QPA_PLATFORM="offscreen", RESONANT_STARTUP_PROBE="1")
        timed([resonant, "--help"], env)  # warm the file cache once
        timed([sys.executable, "-m", "resonant_studio"], env, until="window shown")
        helps = [timed([resonant, "--help"], env) for _ in range(args.rounds)]
        windows = [timed([sys.executable, "-m", "resonant_studio"], env, until="window shown")
                   for _ in range(args.rounds)]
    report("resonant --help", helps, 0.5)
    report("studio window shown", windows, 2.0)


if __name__ == "__main__":
    main()
