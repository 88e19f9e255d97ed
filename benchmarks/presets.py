"""Time to resolve and render every built-in style x role with the composer; prints figures.

    .venv/bin/python benchmarks/presets.py
"""

from __future__ import annotations

import itertools
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from resonant_studio.generation.preset_render import generate_with_config, new_session_from_config  # noqa: E402
from resonant_studio.presets.resolve import resolve  # noqa: E402
from resonant_studio.presets.store import load_presets  # noqa: E402


def main() -> None:
    t0 = time.perf_counter()
    library = load_presets()
    print(f"load presets: {(time.perf_counter() - t0) * 1000:.1f} ms ({len(list(library))} presets)")
    resolve_ms, render_s, ratio = [], {}, []
    for style, role in itertools.product(library.names("style"), library.names("role")):
        t = time.perf_counter()
        config = resolve(library, user_prompt="", style=style, role=role, seed=1)
        resolve_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        session = new_session_from_config(config)
        generate_with_config(session, config)
        elapsed = time.perf_counter() - t
        render_s.setdefault(role, []).append(elapsed)
        ratio.append(session.duration / elapsed)
    print(f"resolve: median {statistics.median(resolve_ms):.1f} ms, max {max(resolve_ms):.1f} ms")
    for role, times in render_s.items():
        print(f"render {role:<20} median {statistics.median(times):.3f} s, max {max(times):.3f} s")
    print(f"audio seconds per wall second: median {statistics.median(ratio):.0f}x")


if __name__ == "__main__":
    main()
