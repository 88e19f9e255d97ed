"""The ``musicgen-stem`` backend: new parts generated *hearing* the locked ones.

Session roles map onto the model's three stems: drums -> drums, bass -> bass, and every tonal
role (harmony, melody, other) -> other. Locked tracks of any origin (composer, imported audio,
another engine) are mixed per stem, resampled to 32 kHz mono (soxr) and encoded with that
stem's codec; those stems are kept (teacher-forced) while the rest is generated, so an
imported drum loop conditions the new bass.

The model has one stream for all tonal material, so:

* several tonal tracks requested together share one "other" take, split back onto them by
  complementary frequency bands (the bands sum exactly to the take; low band to harmony,
  middle to other, high to melody) -- a split, not a source separation;
* a tonal track regenerated while another tonal track is locked cannot keep the locked one in
  the "other" stream: the locked track is then not heard (the take's params name it).

A stem with no track in the session (say, no tonal tracks) is kept as silence, as the fork does
for stems it is not given, so the new part fits what the session actually holds. With nothing
kept the three stems come from text alone and are conformed to the session grid
together, as the ``musicgen`` backend does; with kept stems the new ones are already aligned
to them and are only cut to the session length.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np
import soxr

from engine.backends.base import CancelCallback, GeneratedPart, GenerationRequest, ProgressCallback
from engine.context import MusicalContext
from engine.musicgen.backend import run_steps, sampling_params
from engine.musicgen.conform import MIN_BEAT_STRENGTH, time_stretch, track_beats
from engine.musicgen_stem.pipeline import StemPipeline

ROLE_STEMS = {"drums": "drums", "bass": "bass", "harmony": "other", "melody": "other", "other": "other"}
BAND_ORDER = {"harmony": 0, "other": 1, "melody": 2}
BAND_EDGES_HZ = {2: (1000.0,), 3: (500.0, 2000.0)}


def stem_prompt(context: MusicalContext, text: str = "") -> str:
    """One description of the whole piece: the model was trained on full-mix descriptions."""
    words = [(text or context.description or "").strip()]
    if context.genre and context.genre.lower() not in words[0].lower():
        words.append(context.genre)
    for role in ("drums", "bass", "harmony", "melody"):
        hint = context.instrument(role)
        if hint:
            words.append(hint)
    if context.moods:
        words.append(", ".join(context.moods))
    words += [f"{context.tempo:g} bpm", f"in {context.key_name}"]
    return ", ".join(w for w in words if w)


def split_bands(audio: np.ndarray, sample_rate: int, count: int) -> list[np.ndarray]:
    """Complementary FFT bands of mono ``audio``, low to high; they sum back to ``audio`` exactly (to rounding)."""
    if count <= 1:
        return [audio]
    edges = BAND_EDGES_HZ.get(count) or tuple(np.geomspace(250.0, 4000.0, count - 1))
    spectrum = np.fft.rfft(audio.astype(np.float64))
    freqs = np.fft.rfftfreq(audio.size, 1.0 / sample_rate)
    bounds = [0.0, *edges, np.inf]
    return [np.fft.irfft(np.where((freqs >= lo) & (freqs < hi), spectrum, 0), n=audio.size).astype(np.float32)
            for lo, hi in zip(bounds[:-1], bounds[1:])]


def _fit(y: np.ndarray, num_samples: int) -> np.ndarray:
    out = y[:num_samples]
    return np.pad(out, (0, num_samples - out.size)) if out.size < num_samples else out


class MusicGenStemBackend:
    name = "musicgen-stem"

    def __init__(self, model_dir: str | os.PathLike | None = None, text_dir: str | os.PathLike | None = None,
                 dtype: str = "float32", cache_dir: str | os.PathLike | None = None,
                 context_seconds: float | None = None, extend_stride_seconds: float = 18.0):
        # Loading here means a missing or broken folder is reported before any request is made.
        self.pipeline = StemPipeline.load(model_dir, text_dir=text_dir, dtype=dtype, cache_dir=cache_dir,
                                          context_seconds=context_seconds,
                                          extend_stride_seconds=extend_stride_seconds)

    def _kept_stems(self, request: GenerationRequest, wanted: set[str]) -> tuple[dict[str, np.ndarray], list[str]]:
        """Locked tracks mixed per stem at 32 kHz mono; and the locked tracks that cannot be kept."""
        pipe = self.pipeline
        mixes: dict[str, np.ndarray] = {}
        unheard = []
        for part in request.locked:
            stem = ROLE_STEMS.get(part.role, "other")
            if stem in wanted:
                unheard.append(part.name)
                continue
            audio = np.asarray(part.audio, np.float32)
            mono = audio.mean(axis=1) if audio.ndim == 2 else audio
            mono = soxr.resample(mono, request.sample_rate, pipe.sample_rate).astype(np.float32)
            if stem in mixes:
                n = max(mixes[stem].size, mono.size)
                mixes[stem] = np.pad(mixes[stem], (0, n - mixes[stem].size)) + np.pad(mono, (0, n - mono.size))
            else:
                mixes[stem] = mono
        return mixes, unheard

    def generate(self, request: GenerationRequest, progress: ProgressCallback | None = None,
                 cancel: CancelCallback | None = None) -> Sequence[GeneratedPart]:
        if not request.parts:
            return []
        pipe, context = self.pipeline, request.context
        params = sampling_params(request, pipe.default_params, "MusicGen-Stem")
        wanted = {ROLE_STEMS.get(p.role, "other") for p in request.parts}
        kept, unheard = self._kept_stems(request, wanted)
        texts = {p.prompt.strip() for p in request.parts if p.prompt.strip()}
        prompt = stem_prompt(context, request.prompt or (texts.pop() if len(texts) == 1 else ""))
        seconds = context.duration + (0.0 if kept else (context.beats_per_bar * context.seconds_per_beat) * 1.15 + 0.5)
        frames = pipe.frames_for_seconds(seconds) + 1
        regenerate = sorted(wanted)  # stems with no track in the session are kept silent
        job = pipe.regenerate([prompt], params, kept, regenerate, frames) if kept else \
            pipe.generate([prompt], params, frames)
        run_steps(job, progress, cancel, "MusicGen-Stem")
        if progress is not None:
            progress(0.92, "decoding stems")
        stems = {s: a[0] for s, a in pipe.decode(job.codes).items() if s in wanted}
        num_samples = context.num_samples(request.sample_rate)
        resampled = {s: soxr.resample(a, pipe.sample_rate, request.sample_rate).astype(np.float32) for s, a in stems.items()}
        report: dict[str, Any] = {"aligned_to": sorted(kept)}
        if not kept:
            resampled, report = self._conform_together(resampled, request.sample_rate, context, num_samples)
        fitted = {s: _fit(a, num_samples) for s, a in resampled.items()}
        tonal = sorted((p for p in request.parts if ROLE_STEMS.get(p.role, "other") == "other"),
                       key=lambda p: BAND_ORDER.get(p.role, 1))
        bands = dict(zip((p.name for p in tonal), split_bands(fitted.get("other", np.zeros(num_samples, np.float32)),
                                                             request.sample_rate, len(tonal))))
        parts = []
        for part in request.parts:
            stem = ROLE_STEMS.get(part.role, "other")
            mono = bands[part.name] if stem == "other" else fitted[stem]
            resolved: dict[str, Any] = {
                "model": pipe.stem.path.name, "prompt": prompt, "seed": params.seed, "stem": stem,
                "greedy": params.greedy, "temperature": params.temperature, "top_k": params.top_k,
                "top_p": params.top_p, "cfg_coef": params.cfg_coef, "kept_stems": sorted(kept),
                "silent_stems": sorted(set(pipe.sources) - set(kept) - wanted) if kept else [],
                "not_heard": unheard, "conform": report,
            }
            if stem == "other" and len(tonal) > 1:
                resolved["band_split"] = [p.name for p in tonal]
            parts.append(GeneratedPart(part.name, part.role, np.repeat(mono[:, None], 2, axis=1), None, resolved))
        if progress is not None:
            progress(1.0, "stems fitted to the session")
        return parts

    @staticmethod
    def _conform_together(stems: dict[str, np.ndarray], sample_rate: int, context: MusicalContext,
                          num_samples: int) -> tuple[dict[str, np.ndarray], dict]:
        """One beat grid for the mix of the stems, then the same stretch and offset for each stem."""
        mix = np.sum(list(stems.values()), axis=0)
        beats = max(1, int(round(context.beats_per_bar)))
        grid = track_beats(mix, sample_rate, context.tempo, beats)
        rate, downbeat = (1.0, 0.0) if grid.strength < MIN_BEAT_STRENGTH else (context.tempo / grid.tempo, grid.downbeat)
        start = int(round(downbeat / rate * sample_rate))
        out = {s: time_stretch(a, rate)[start: start + num_samples] for s, a in stems.items()}
        report = {"detected_tempo": round(float(grid.tempo), 2), "stretch_rate": round(float(rate), 5),
                  "downbeat_s": round(float(downbeat), 4), "beat_strength": round(float(grid.strength), 3)}
        return out, report
