"""Project save / autosave / load and export times for a session of many takes; prints figures.

    .venv/bin/python benchmarks/project_io.py [--tracks 5] [--takes 8] [--bars 16]

Noise is the worst case for FLAC, so the save figures are an upper bound for real music.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from tracks import Session, Take, Track
from tracks.export import export_mix, export_stems
from tracks.project import load_project, save_autosave, save_project


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=5)
    parser.add_argument("--takes", type=int, default=8)
    parser.add_argument("--bars", type=int, default=16)
    args = parser.parse_args()

    session = Session({"tempo": 120.0, "meter": [4, 4], "bars": args.bars}, sample_rate=44100)
    rng = np.random.default_rng(0)
    n = session.num_samples
    for i in range(args.tracks):
        track = session.add_track(Track(f"Track {i}", "other"))
        for _ in range(args.takes):
            track.add_take(Take(rng.uniform(-0.3, 0.3, (n, 2)).astype(np.float32)))
    print(f"{args.tracks} tracks x {args.takes} takes of {n / 44100:.1f} s at 44.1 kHz")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "bench.resonant"
        for label, action in (
            ("first save (all take files)", lambda: save_project(session, folder)),
            ("autosave, no new takes", lambda: save_autosave(session, folder)),
            ("save again, no new takes", lambda: save_project(session, folder)),
            ("load", lambda: load_project(folder)),
            ("export mix, 24-bit WAV, -14 LUFS", lambda: export_mix(session, Path(tmp) / "mix.wav", target_lufs=-14)),
            ("export stems, 24-bit FLAC", lambda: export_stems(session, tmp, format="flac")),
        ):
            start = time.perf_counter()
            action()
            print(f"  {label:<36} {time.perf_counter() - start:7.3f} s")
        size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        print(f"  project size on disk: {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
