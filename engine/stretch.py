"""Time stretching that keeps pitch: Rubber Band (through pedalboard), or librosa's phase vocoder.

Rubber Band is the default: it keeps drum attacks sharp ("crisp" transients) where a plain
phase vocoder smears them over a frame (~46 ms at 44.1 kHz), which moves kicks off the grid
and blurs them; pedalboard is a maintained wheel for Linux and macOS. The phase vocoder is
kept for comparison (benchmarks/locked_fit.py --stretcher).

Rubber Band's R2 engine ("crisp" transients) is used, not the R3 "finer" engine pedalboard
calls high quality: measured on a click track stretched 1.2x, R3 let successive clicks fade
(peaks 1.9 -> 0.54 over 10 s of steady input) while R2 kept them steady (1.5-1.6).
"""

from __future__ import annotations

import numpy as np

from engine.errors import EngineError

STRETCHERS = ("rubberband", "phase_vocoder")


def time_stretch(audio: np.ndarray, sample_rate: int, rate: float, stretcher: str = "rubberband",
                 semitones: float = 0.0) -> np.ndarray:
    """``audio`` ``[N]`` or ``[N, C]`` played ``rate`` x faster (``rate`` > 1 shortens it), pitch kept
    (or moved by ``semitones``: Rubber Band only).

    The result is ``round(N / rate)`` samples long, same shape otherwise.
    """
    if semitones and stretcher != "rubberband":
        raise EngineError("only the rubberband stretcher can also shift pitch")
    if not -12.0 <= semitones <= 12.0:
        raise EngineError(f"a pitch shift of {semitones:g} semitones is out of range (-12 to 12)")
    if stretcher not in STRETCHERS:
        raise EngineError(f"unknown stretcher {stretcher!r}: use one of {', '.join(STRETCHERS)}")
    if not (0.25 <= rate <= 4.0):
        raise EngineError(f"a stretch of {rate:.3g}x is out of range: conform works between 0.25x and 4x")
    x = np.asarray(audio, dtype=np.float32)
    mono = x.ndim == 1
    x2 = x[:, None] if mono else x
    want = int(round(x2.shape[0] / rate))
    if abs(rate - 1.0) < 1e-6 and not semitones:
        out = x2.copy()
    elif stretcher == "rubberband":
        from pedalboard import time_stretch as rubberband

        out = rubberband(np.ascontiguousarray(x2.T), float(sample_rate), stretch_factor=float(rate),
                         pitch_shift_in_semitones=float(semitones), high_quality=False, transient_mode="crisp").T
    else:
        import librosa

        from engine.analysis.librosa_lock import LIBROSA

        with LIBROSA:  # numba kernels compile on first use: one thread at a time
            out = np.stack([librosa.effects.time_stretch(x2[:, c], rate=float(rate)) for c in range(x2.shape[1])],
                           axis=1)
    if out.shape[0] < want:
        out = np.pad(out, ((0, want - out.shape[0]), (0, 0)))
    out = np.ascontiguousarray(out[:want], dtype=np.float32)
    return out[:, 0] if mono else out
