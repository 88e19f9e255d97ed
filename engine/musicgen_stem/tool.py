"""The raw MusicGen-Stem tool: a prompt (and stems to keep) in, one 32 kHz WAV per stem out.

The logic behind ``resonant musicgen stems --model DIR --prompt TEXT [--keep drums=FILE ...]
[--regenerate bass ...] --out DIR [--tokens FILE.npy]``, as a plain function the CLI wraps:
no session, no grid fitting, the model's own output. Kept stems are read with soundfile,
mixed to mono and resampled to 32 kHz (soxr); their files are written back as the model
heard them (their codes decoded), so the folder holds a consistent set of three stems.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from engine.errors import BackendError, GenerationCancelled
from engine.musicgen.sampling import SamplingParams
from engine.musicgen_stem.config import SOURCES
from engine.musicgen_stem.pipeline import StemPipeline


@dataclass(frozen=True)
class StemsResult:
    files: dict[str, Path]
    """One WAV per stem (bass, drums, other), 32 kHz mono."""
    codes: np.ndarray
    """``[1, K, T]`` the codes the files decode from."""
    kept: tuple[str, ...]
    params: SamplingParams


def read_stem(path: str | os.PathLike, sample_rate: int) -> np.ndarray:
    """An audio file -> mono float32 at ``sample_rate``; one sentence when it cannot be read."""
    import soundfile as sf
    import soxr

    path = Path(path)
    if not path.is_file():
        raise BackendError(f"stem file {path} does not exist")
    try:
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise BackendError(f"{path} cannot be read as audio ({exc})") from None
    if audio.size == 0:
        raise BackendError(f"{path} holds no audio")
    mono = audio.mean(axis=1)
    return mono if rate == sample_rate else soxr.resample(mono, rate, sample_rate).astype(np.float32)


def run(model_dir: str | os.PathLike, prompt: str, keep: Mapping[str, str | os.PathLike] | None,
        regenerate: Sequence[str] | None, out_dir: str | os.PathLike, tokens_path: str | os.PathLike | None = None,
        seed: int = 0, seconds: float | None = None, text_dir: str | os.PathLike | None = None,
        greedy: bool = False, temperature: float | None = None, top_k: int | None = None,
        top_p: float | None = None, cfg_coef: float | None = None, cache_dir: str | os.PathLike | None = None,
        progress: Callable[[int, int], None] | None = None,
        cancel: Callable[[], bool] | None = None) -> StemsResult:
    """Generate (or regenerate some of) the three stems; write ``out_dir/<stem>.wav`` and optionally the codes.

    ``keep``: stem -> audio file to keep. ``regenerate``: stems to make anew (default: every
    stem not kept; a stem in neither is kept silent, as the fork does). ``seconds``: output length (default: the kept audio's length, else 10 s).
    """
    import soundfile as sf

    keep = dict(keep or {})
    unknown = [s for s in [*keep, *(regenerate or [])] if s not in SOURCES]
    if unknown:
        raise BackendError(f"unknown stem {unknown[0]!r}: choose from {', '.join(SOURCES)}")
    regenerate = list(regenerate) if regenerate else [s for s in SOURCES if s not in keep]
    both = [s for s in regenerate if s in keep]
    if both:
        raise BackendError(f"the {both[0]} stem cannot be both kept and regenerated")
    pipe = StemPipeline.load(model_dir, text_dir=text_dir, cache_dir=cache_dir)
    params = pipe.default_params(greedy=greedy, temperature=temperature, top_k=top_k, top_p=top_p,
                                 cfg_coef=cfg_coef, seed=int(seed))
    kept = {s: read_stem(p, pipe.sample_rate) for s, p in keep.items()}
    if seconds is None:
        seconds = max((a.size / pipe.sample_rate for a in kept.values()), default=10.0)
    if seconds <= 0:
        raise BackendError(f"the length must be above 0 seconds (got {seconds})")
    frames = pipe.frames_for_seconds(seconds)
    job = pipe.regenerate([prompt], params, kept, regenerate, frames) if kept else pipe.generate([prompt], params, frames)
    for done, total in job:
        if progress is not None:
            progress(done, total)
        if cancel is not None and cancel():
            raise GenerationCancelled()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for stem, audio in pipe.decode(job.codes).items():
        files[stem] = out / f"{stem}.wav"
        sf.write(str(files[stem]), audio[0], pipe.sample_rate, subtype="FLOAT")
    if tokens_path is not None:
        np.save(str(tokens_path), job.codes)
    return StemsResult(files, job.codes, tuple(sorted(kept)), params)
