"""Reference library figures: analysis/indexing throughput, 10,000 upserts, search latency.

    python benchmarks/library.py [--items 10000] [--files 12]

Prints figures; asserts nothing. Targets (issue 5): 10,000 upserts under 5 s, median search
under 20 ms at 10,000 items.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from engine.analysis import SOUND_DIM, analyze_file  # noqa: E402
from engine.embedding import TEXT_DIM, shared_text_embedder  # noqa: E402
from resonant_studio.library.store import Library, SearchFilters, point_id  # noqa: E402
from synth_music import render  # noqa: E402
from resonant_studio.core import fast_blas

KEYS = [f"{n} {m}" for n in ("C", "D", "E", "F", "G", "A", "B") for m in ("major", "minor")]



def _blas(disabled: bool) -> str:
    if disabled:
        os.environ[fast_blas.DISABLE_ENV] = "1"
    fast_blas.ensure_fast_blas()
    return fast_blas.describe()

def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def bench_indexing(folder: Path, files: int, seconds: float) -> None:
    rng = np.random.default_rng(1)
    for i in range(files):
        audio = render(float(rng.uniform(80, 150)), int(rng.integers(12)), ("major", "minor")[i % 2],
                       seconds=seconds, sr=44100, timbre=("saw", "organ", "square", "sine")[i % 4], seed=i)
        sf.write(str(folder / f"piece_{i:03d}.flac"), audio, 44100)
    analyze_file(folder / "piece_000.flac")  # warm librosa's numba caches before timing
    with Library(folder.parent / "index-lib") as lib:
        t = time.perf_counter()
        report = lib.index_folder(folder)
        took = time.perf_counter() - t
        t = time.perf_counter()
        again = lib.index_folder(folder)
        rescan = time.perf_counter() - t
    print(f"index {report.added} files of {seconds:.0f} s (44.1 kHz stereo FLAC): {took:.2f} s, "
          f"{report.added / took:.2f} files/s ({took / report.added * 1000:.0f} ms per file)")
    print(f"re-index unchanged folder: {again.skipped} skipped in {rescan * 1000:.0f} ms")


def bench_store(folder: Path, items: int) -> None:
    rng = np.random.default_rng(0)
    sound = unit(rng.normal(size=(items, SOUND_DIM)))
    text = unit(rng.normal(size=(items, TEXT_DIM)))
    payloads = [{"path": f"/music/{i}.flac", "title": f"piece {i}", "duration": 180.0,
                 "tempo": float(rng.uniform(60, 180)), "key": KEYS[i % len(KEYS)], "tags": ["bench"],
                 "source": ("imported", "generated")[i % 2], "prompt": "", "created": time.time()}
                for i in range(items)]
    ids = [point_id(f"file:/music/{i}.flac") for i in range(items)]
    with Library(folder / "store-lib") as lib:
        t = time.perf_counter()
        batch = 512
        for s in range(0, items, batch):
            lib.upsert_vectors(ids[s:s + batch], sound[s:s + batch], text[s:s + batch], payloads[s:s + batch])
        took = time.perf_counter() - t
        print(f"{items} upserts (batches of {batch}, vectors precomputed): {took:.2f} s, {items / took:.0f} points/s")

        embedder = shared_text_embedder()
        texts = [f"dark ambient drone number {i} for a sci-fi film" for i in range(256)]
        embedder.embed(texts[:8])
        t = time.perf_counter()
        embedder.embed(texts)
        took = time.perf_counter() - t
        print(f"MiniLM text embedding: {len(texts) / took:.0f} texts/s")

        queries = unit(rng.normal(size=(60, SOUND_DIM)))
        reference = analyze_file(next(iter(sorted((folder / "files").glob("*.flac")))))

        def median_ms(fn, n=50) -> float:
            fn(0)
            times = []
            for i in range(n):
                t0 = time.perf_counter()
                fn(i)
                times.append((time.perf_counter() - t0) * 1000)
            return statistics.median(times)

        def by_sound(i: int) -> None:
            lib._query("sound", queries[i], 10, SearchFilters())

        def full_like(i: int) -> None:
            lib.search(like=reference, top_k=10)

        def full_text(i: int) -> None:
            lib.search(text=f"dark ambient for sci-fi {i}", top_k=10)

        def filtered(i: int) -> None:
            lib.search(like=reference, top_k=10, filters=SearchFilters(tempo_min=90, tempo_max=130))

        def selective(i: int) -> None:
            lib.search(like=reference, top_k=10, filters=SearchFilters(key="A minor", tempo_min=100, tempo_max=110))

        print(f"median search at {lib.count()} items:")
        print(f"  sound vector query, top 10:               {median_ms(by_sound):7.2f} ms")
        print(f"  search(like=analysis), top 10 + reasons:  {median_ms(full_like):7.2f} ms")
        print(f"  search(text=...), incl. MiniLM embedding: {median_ms(full_text):7.2f} ms")
        print(f"  like + tempo 90-130 filter:               {median_ms(filtered):7.2f} ms")
        print(f"  like + key and tempo 100-110 (selective): {median_ms(selective, 10):7.2f} ms")




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--files", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--no-openblas", action="store_true", help="keep MLX's bundled BLAS for MiniLM")
    args = parser.parse_args()
    print(f"BLAS for MLX: {_blas(args.no_openblas)}; CPUs: {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "files").mkdir()
        bench_indexing(folder / "files", args.files, args.seconds)
        bench_store(folder, args.items)


if __name__ == "__main__":
    main()
