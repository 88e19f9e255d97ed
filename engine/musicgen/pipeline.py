"""MusicGen from prompts to audio: tokenize, generate (windowed past the context), decode.

    pipe = MusicGenPipeline.load("models/musicgen-small")
    job = pipe.start(["lofi hip hop"], SamplingParams(seed=1), new_frames=pipe.frames_for_seconds(8))
    for done, total in job:      # one decoding step per item; check cancel here
        ...
    audio = pipe.decode(job.codes)   # [B, N] float32 at pipe.sample_rate
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterator, Sequence

import mlx.core as mx
import numpy as np

from engine.errors import BackendError
from engine.musicgen.checkpoint import CheckpointFolder
from engine.musicgen.chroma import ChromaExtractor
from engine.musicgen.generate import Conditioning, TokenGeneration, row_keys
from engine.musicgen.model import MusicGen, load_model
from engine.musicgen.pattern import DelayPattern
from engine.musicgen.sampling import SamplingParams
from engine.musicgen.tokenizer import TextTokenizer


@dataclass(frozen=True)
class WindowPlan:
    """audiocraft's extend-stride scheme for outputs longer than the model's context."""

    context_frames: int
    stride_frames: int

    def windows(self, prompt_frames: int, new_frames: int) -> list[tuple[int, int]]:
        """``(prompt frames kept, new frames)`` per window."""
        plan, done = [], 0
        kept = prompt_frames if prompt_frames < self.context_frames else self.context_frames - self.stride_frames
        while done < new_frames:
            room = max(1, self.context_frames - kept)
            step = min(room, new_frames - done)
            plan.append((kept, step))
            done += step
            kept = min(self.context_frames - self.stride_frames, prompt_frames + done)
        return plan


class WindowedGeneration:
    """Runs one ``TokenGeneration`` per window, each continuing the tail of the previous codes."""

    def __init__(self, pipe: "MusicGenPipeline", cond: Conditioning, params: SamplingParams, new_frames: int,
                 chroma_full: np.ndarray | None):
        self.pipe, self.cond, self.params = pipe, cond, params
        prompt = cond.prompt_codes
        self.prompt_frames = 0 if prompt is None else prompt.shape[2]
        self.plan = pipe.window_plan.windows(self.prompt_frames, new_frames)
        self.chroma_full = chroma_full
        K = pipe.pattern.num_codebooks
        self.codes = np.zeros((cond.batch_size, K, 0), np.int64) if prompt is None else prompt.astype(np.int64)
        self.total_steps = sum(step + K - 1 for _, step in self.plan)

    def _chroma_from(self, frame: int) -> np.ndarray | None:
        if self.chroma_full is None:
            return None
        rate = self.pipe.chroma.frame_rate / self.pipe.frame_rate
        start = min(int(round(frame * rate)), self.chroma_full.shape[1] - 1)
        return self.chroma_full[:, start:]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        done = 0
        keys = row_keys(self.params.seed, self.cond.batch_size)
        for kept, step in self.plan:
            start = self.codes.shape[2] - kept
            window = self.cond.with_prompt(self.codes[:, :, start:] if kept else None, self._chroma_from(start))
            gen = TokenGeneration(self.pipe.model, window, self.params, step, self.pipe.pattern, keys=keys)
            for _ in gen:
                done += 1
                yield done, self.total_steps
            keys = gen.keys
            self.codes = np.concatenate([self.codes, gen.codes[:, :, kept:]], axis=2)


class MusicGenPipeline:
    def __init__(self, model: MusicGen, folder: CheckpointFolder, context_seconds: float = 30.0,
                 extend_stride_seconds: float = 18.0):
        self.model = model
        self.folder = folder
        self.config = model.config
        self.tokenizer = TextTokenizer(folder.path)
        start = folder.generation_defaults.get("decoder_start_token_id")
        special = start if isinstance(start, int) else self.config.special_token  # as transformers' generate()
        self.pattern = DelayPattern(self.config.decoder.num_codebooks, special)
        self.chroma = ChromaExtractor.from_preprocessor(folder.preprocessor, self.config.num_chroma)
        context = max(2, int(round(context_seconds * self.frame_rate)))
        stride = min(context - 1, max(1, int(round(extend_stride_seconds * self.frame_rate))))
        self.window_plan = WindowPlan(context, stride)

    @classmethod
    def load(cls, model_dir: str | os.PathLike, dtype: str = "float32", cache_dir: str | os.PathLike | None = None,
             **options) -> "MusicGenPipeline":
        model, folder = load_model(model_dir, dtype=dtype, cache_dir=cache_dir)
        return cls(model, folder, **options)

    @property
    def sample_rate(self) -> int:
        return self.config.audio_encoder.sampling_rate

    @property
    def frame_rate(self) -> int:
        return self.config.audio_encoder.frame_rate

    @property
    def is_melody(self) -> bool:
        return self.config.is_melody

    def frames_for_seconds(self, seconds: float) -> int:
        return max(1, int(round(seconds * self.frame_rate)))

    def frames_for_steps(self, steps: int) -> int:
        """New frames from transformers-style ``max_new_tokens`` (decoding steps)."""
        return max(1, steps - self.pattern.num_codebooks + 1)

    def default_params(self, **overrides) -> SamplingParams:
        return SamplingParams.from_generation_config(self.folder.generation_defaults, **overrides)

    def encode_audio(self, audio: np.ndarray) -> np.ndarray:
        """Mono audio ``[N]`` at ``sample_rate`` -> codes ``[1, K, P]``."""
        wav = mx.array(np.asarray(audio, np.float32).reshape(1, -1, 1))
        codes = self.model.audio_encoder.encode(wav, num_quantizers=self.pattern.num_codebooks)
        return np.array(codes).astype(np.int64)

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Codes ``[B, K, T]`` -> mono audio ``[B, T * hop]`` float32."""
        if codes.shape[2] == 0:
            return np.zeros((codes.shape[0], 0), np.float32)
        audio = self.model.audio_encoder.decode(mx.array(codes.astype(np.int32)))
        return np.array(audio.astype(mx.float32))[:, :, 0]

    def melody_chroma(self, audio: np.ndarray, truncate: bool = True) -> np.ndarray:
        """Mono audio at ``sample_rate`` -> ``[1, frames, 12]`` one-hot chroma."""
        if not self.is_melody:
            raise BackendError(f"{self.folder.path.name} is not a melody model: melody conditioning needs musicgen-melody")
        return self.chroma(audio, truncate=truncate)[None]

    def start(self, prompts: Sequence[str], params: SamplingParams, new_frames: int,
              melody: np.ndarray | None = None, audio_prompt: np.ndarray | None = None) -> WindowedGeneration:
        """Prepare a generation of ``new_frames`` frames per prompt; iterate the result to run it.

        ``melody``: mono audio at ``sample_rate`` (melody model). ``audio_prompt``: mono audio at
        ``sample_rate`` to continue; its frames come first in the result.
        """
        prompts = [str(p) for p in prompts]
        if not prompts:
            raise BackendError("give at least one text prompt")
        ids, mask = self.tokenizer(prompts)
        B = len(prompts)
        chroma_full = None
        if melody is not None:
            one = self.melody_chroma(melody, truncate=False)
            chroma_full = np.repeat(one, B, axis=0)
        prompt_codes = None
        if audio_prompt is not None:
            prompt_codes = np.repeat(self.encode_audio(audio_prompt), B, axis=0)
        cond = Conditioning(ids, mask, None, prompt_codes)
        return WindowedGeneration(self, cond, params, new_frames, chroma_full)

