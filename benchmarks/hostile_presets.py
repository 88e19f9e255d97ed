"""How long hostile user presets cost: ``resonant presets list`` in a fresh process and
``load_presets()`` in this one, with no user preset and with each hostile file; prints figures.

    .venv/bin/python benchmarks/hostile_presets.py
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from resonant_studio.presets.store import load_presets  # noqa: E402


def billion_laughs() -> str:
    lines = ["kind: style", 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    return "\n".join(lines + ["tags: *i"]) + "\n"


FILES = {
    "billion laughs": billion_laughs(),
    "5000-digit number": "kind: style\nenergy: 1" + "0" * 4999 + "\n",
    "400-digit number": "kind: style\nenergy: 1" + "0" * 399 + "\n",
    "20,000 levels deep": "kind: style\ntags: " + "[" * 20_000 + "]" * 20_000 + "\n",
    "200 kB": "kind: style\ndescription: " + "la " * 66_000 + "\n",
}


def cli_seconds(config: Path, rounds: int = 3) -> str:
    """Median wall and CPU seconds of the command (CPU time says more on a shared machine)."""
    env = {**os.environ, "RESONANT_CONFIG_DIR": str(config)}
    command = [sys.executable, "-c", "import sys; from resonant_studio.cli import main; sys.exit(main(sys.argv[1:]))",
               "presets", "list"]
    wall, cpu = [], []
    for _ in range(rounds):
        before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
        subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=120, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall.append(time.perf_counter() - started)
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return f"{statistics.median(wall):.3f} s wall, {statistics.median(cpu):.3f} s CPU"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config"
        folder = config / "presets"
        folder.mkdir(parents=True)
        os.environ["RESONANT_CONFIG_DIR"] = str(config)
        print(f"resonant presets list, no user preset: {cli_seconds(config)} (medians of 3)")
        for label, text in FILES.items():
            path = folder / "hostile.yaml"
            path.write_text(text, encoding="utf-8")
            started = time.perf_counter()
            library = load_presets()
            load_ms = (time.perf_counter() - started) * 1000
            assert len(library.problems) == 1, library.problems
            print(f"{label:>20}: load_presets {load_ms:6.1f} ms, resonant presets list {cli_seconds(config)}")
        path.unlink()


if __name__ == "__main__":
    main()
