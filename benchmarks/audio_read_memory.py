"""Peak memory (RSS) of reading a huge audio file for analysis and for import.

Run: .venv/bin/python benchmarks/audio_read_memory.py [--seconds 330] [--rate 384000] [--channels 8]
     [--old PATH_TO_OLD_audio_io.py] [--old-import]

Makes a 16-bit WAV of that shape in a temp folder (deleted afterwards), then reads it in a
fresh subprocess per mode and prints that process's peak RSS (ru_maxrss):

* ``analysis``: engine.analysis.audio_io.read_for_analysis (mono, 22050 Hz, first 5 minutes)
* ``import``: read_for_import (stereo, 44100 Hz, up to 20 minutes)
* ``old-analysis`` (with ``--old``): the previous reader, read_audio + to_analysis_rate
* ``analyze`` / ``old-analyze`` (with ``--full``): the whole analysis (librosa) after each reader
* ``old-import`` (with ``--old-import``): sf.read of the whole file + soxr, as
  resonant_studio/audio_import.py did (needs ~4x the file's float32 size in memory)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import resource, sys, time, importlib.util
mode, path = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
if mode == "analysis":
    from engine.analysis.audio_io import read_for_analysis
    out = read_for_analysis(path).audio
elif mode == "import":
    from engine.analysis.audio_io import read_for_import
    out = read_for_import(path, 44100, 20 * 60).audio
elif mode in ("analyze", "old-analyze"):
    # the whole analysis (librosa features), fed by the new reader or by the old one
    from engine.analysis import analyze
    if mode == "analyze":
        from engine.analysis.audio_io import read_for_analysis
        loaded = read_for_analysis(path)
    else:
        spec = importlib.util.spec_from_file_location("old_audio_io", sys.argv[3])
        old = importlib.util.module_from_spec(spec); sys.modules["old_audio_io"] = old; spec.loader.exec_module(old)
        loaded = old.read_audio(path)
    result = analyze._analyze(loaded.audio, loaded.sample_rate, path, loaded.duration, [])
    out = loaded.audio
elif mode == "old-analysis":
    spec = importlib.util.spec_from_file_location("old_audio_io", sys.argv[3])
    old = importlib.util.module_from_spec(spec); sys.modules["old_audio_io"] = old; spec.loader.exec_module(old)
    loaded = old.read_audio(path)
    out = old.to_analysis_rate(loaded.audio, loaded.sample_rate)
elif mode == "old-import":
    import soundfile as sf, soxr, numpy as np
    data, rate = sf.read(path, dtype="float32", always_2d=True)
    out = soxr.resample(data[:, :2], rate, 44100, quality="HQ")
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"{mode:13s} peak RSS {peak_kb / 1024:8.0f} MB   output {out.nbytes / 1e6:7.1f} MB   "
      f"{time.perf_counter() - t0:6.1f} s")
"""


def make_wav(path: Path, seconds: float, rate: int, channels: int) -> None:
    rng = np.random.default_rng(0)
    block = rate  # one second at a time, so making the file is bounded too
    with sf.SoundFile(str(path), "w", samplerate=rate, channels=channels, subtype="PCM_16", format="WAV") as f:
        for start in range(0, int(seconds * rate), block):
            n = min(block, int(seconds * rate) - start)
            f.write((rng.standard_normal((n, channels)) * 3000).astype(np.int16))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=330.0)
    parser.add_argument("--rate", type=int, default=384000)
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--old", help="path to the previous engine/analysis/audio_io.py, to measure it too")
    parser.add_argument("--old-import", action="store_true", help="also measure the whole-file import")
    parser.add_argument("--full", action="store_true", help="also run the whole analysis after reading")
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "huge.wav"
        t0 = time.perf_counter()
        make_wav(path, args.seconds, args.rate, args.channels)
        print(f"{path.name}: {args.seconds:g} s, {args.rate} Hz, {args.channels} ch, "
              f"{path.stat().st_size / 1e9:.2f} GB (made in {time.perf_counter() - t0:.0f} s)")
        modes = ["analysis", "import"] + (["old-analysis"] if args.old else []) + (["old-import"] if args.old_import else [])
        if args.full:
            modes += ["analyze"] + (["old-analyze"] if args.old else [])
        for mode in modes:
            cmd = [sys.executable, "-c", CHILD, mode, str(path)] + ([args.old] if args.old else [])
            subprocess.run(cmd, check=True, env=env, cwd=ROOT)


if __name__ == "__main__":
    main()
