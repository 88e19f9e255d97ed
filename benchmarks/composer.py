"""How fast the built-in composer renders: x real time for 4 tracks x 16 bars, and per role.

Run: .venv/bin/python benchmarks/composer.py [--bars 16] [--tempo 128] [--sr 44100] [--repeat 5]
Prints the best of ``--repeat`` runs (the machine is shared; the best run is the least disturbed).
"""

from __future__ import annotations

import argparse
import time

from engine.backends import GenerationRequest, LockedPart, PartSpec
from engine.composer.backend import ComposerBackend
from engine.context import MusicalContext
from engine.theory import diatonic_chord

ROLES = ("drums", "bass", "harmony", "melody")


def best_time(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=16)
    parser.add_argument("--tempo", type=float, default=128.0)
    parser.add_argument("--sr", type=int, default=44100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--genre", default="techno")
    args = parser.parse_args()

    chords = tuple(diatonic_chord(9, "minor", d) for d in (1, 6, 3, 7))
    ctx = MusicalContext(tempo=args.tempo, bars=args.bars, chords=chords, genre=args.genre, energy=0.7)
    backend = ComposerBackend()

    def run(roles, locked=()):
        request = GenerationRequest(ctx, tuple(PartSpec(r, r) for r in roles), seed=1, sample_rate=args.sr,
                                    locked=tuple(locked))
        return backend.generate(request)

    parts = run(ROLES)  # warm caches (drum hits, wavetables) once, as a session would
    audio_s = ctx.duration
    print(f"composer: {len(ROLES)} tracks x {args.bars} bars at {args.tempo:g} bpm, {args.sr} Hz "
          f"({audio_s:.1f} s of audio per track), best of {args.repeat}")
    total = best_time(lambda: run(ROLES), args.repeat)
    print(f"  all four parts   {total * 1000:7.1f} ms   {audio_s / total:7.0f}x real time")
    for role in ROLES + ("other",):
        t = best_time(lambda: run((role,)), args.repeat)
        print(f"  {role:<8}         {t * 1000:7.1f} ms   {audio_s / t:7.0f}x real time")
    drums = parts[0]
    as_audio = LockedPart("Drums", "drums", drums.audio, None)
    t = best_time(lambda: run(("bass",), (as_audio,)), args.repeat)
    print(f"  bass over locked drum audio (kick detection included) "
          f"{t * 1000:7.1f} ms   {audio_s / t:7.0f}x real time")


if __name__ == "__main__":
    main()
