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
from engine.musicgen.generate import Conditioning, TokenGeneration, decoder_inputs, encode_text, row_keys
from engine.musicgen.model import MusicGen, load_model
from engine.musicgen.pattern import DelayPattern
from engine.musicgen.sampling import SamplingParams
from engine.musicgen.tokenizer import TextTokenizer


@dataclass(frozen=True)
class WindowPlan:
    """audiocraft's extend-stride scheme for outputs longer than the model's context."""

    context_frames: int
    stride_frames: int
    context_seconds: float = 30.0

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


def wrapped_excerpt(wav: np.ndarray, start: int, length: int) -> np.ndarray:
    """``wav[(start + arange(length)) % len(wav)]``: audiocraft's periodic extension of a melody."""
    return wav[(start + np.arange(length)) % wav.shape[0]]


class WindowedGeneration:
    """Runs one ``TokenGeneration`` per window, each continuing the tail of the previous codes.

    As audiocraft's extend-stride loop: the random stream continues from window to window
    (one key per row, never restarted), T5 runs once, and a melody is re-read for every
    window from the window's start time, wrapped periodically (``positions % wav_length``)
    so that it never runs out.
    """

    def __init__(self, pipe: "MusicGenPipeline", cond: Conditioning, params: SamplingParams, new_frames: int,
                 melody: np.ndarray | None = None):
        self.pipe, self.cond, self.params = pipe, cond, params
        prompt = cond.prompt_codes
        self.prompt_frames = 0 if prompt is None else prompt.shape[2]
        self.plan = pipe.window_plan.windows(self.prompt_frames, new_frames)
        self.windowed = self.prompt_frames + new_frames > pipe.window_plan.context_frames
        self.melody = None if melody is None else np.asarray(melody, np.float32).reshape(-1)
        K, D = pipe.pattern.num_codebooks, pipe.pattern.num_delays
        self.codes = np.zeros((cond.batch_size, K, 0), np.int64) if prompt is None else prompt.astype(np.int64)
        self.total_steps = sum(step + D - 1 for _, step in self.plan)
        self.keys: mx.array | None = None

    def chroma_for_window(self, start_frame: int) -> np.ndarray | None:
        """``[B, frames, 12]`` chroma of the melody as the window starting at ``start_frame`` hears it."""
        if self.melody is None or self.melody.size == 0:
            return None
        pipe = self.pipe
        if self.windowed:
            position = int(start_frame / pipe.frame_rate * pipe.sample_rate)
            length = int(pipe.window_plan.context_seconds * pipe.sample_rate)
            wav = wrapped_excerpt(self.melody, position, length)
        else:
            wav = self.melody
        one = pipe.melody_chroma(wav, truncate=True)
        return np.repeat(one, self.cond.batch_size, axis=0)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        done = 0
        pipe = self.pipe
        keys = row_keys(self.params.seed, self.cond.batch_size)
        text = encode_text(pipe.model, self.cond, self.params.uses_cfg)
        # The text model's cross-attention keys/values are the same for every window: once.
        shared = None if pipe.is_melody else decoder_inputs(pipe.model, text, None, self.cond.batch_size)
        for kept, step in self.plan:
            start = self.codes.shape[2] - kept
            window = self.cond.with_prompt(self.codes[:, :, start:] if kept else None, self.chroma_for_window(start))
            gen = TokenGeneration(pipe.model, window, self.params, step, pipe.pattern, keys=keys, text=text,
                                  inputs=shared)
            for _ in gen:
                done += 1
                yield done, self.total_steps
            keys = self.keys = gen.keys
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
        self.pattern = DelayPattern(self.config.decoder.num_codebooks, special, self.config.audio_channels)
        self.chroma = ChromaExtractor.from_preprocessor(folder.preprocessor, self.config.num_chroma)
        # int(), not round(): audiocraft's max_gen_len and stride_tokens truncate.
        context = max(2, int(context_seconds * self.frame_rate + 1e-9))
        stride = min(context - 1, max(1, int(extend_stride_seconds * self.frame_rate + 1e-9)))
        self.window_plan = WindowPlan(context, stride, float(context_seconds))

    @classmethod
    def load(cls, model_dir: str | os.PathLike, dtype: str = "float32", cache_dir: str | os.PathLike | None = None,
             progress=None, **options) -> "MusicGenPipeline":
        model, folder = load_model(model_dir, dtype=dtype, cache_dir=cache_dir, progress=progress)
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
        return max(1, steps - self.pattern.num_delays + 1)

    def default_params(self, **overrides) -> SamplingParams:
        return SamplingParams.from_generation_config(self.folder.generation_defaults, **overrides)

    @property
    def audio_channels(self) -> int:
        return self.config.audio_channels

    def encode_audio(self, audio: np.ndarray) -> np.ndarray:
        """Audio ``[N]`` or ``[N, C]`` at ``sample_rate`` -> codes ``[1, K, P]``.

        A mono model hears the channels' mean. A stereo model gets each channel's codes
        interleaved (left 0, right 0, left 1, ...); mono audio is duplicated into both, as
        transformers does.
        """
        wav = np.asarray(audio, np.float32)
        wav = wav[:, None] if wav.ndim == 1 else wav.reshape(wav.shape[0], -1)
        per_channel = self.pattern.num_delays
        encoder = self.model.audio_encoder
        if self.audio_channels == 1:
            channels = [wav.mean(axis=1)]
        else:
            channels = [wav[:, 0], wav[:, min(1, wav.shape[1] - 1)]]
        codes = [np.array(encoder.encode(mx.array(c.reshape(1, -1, 1)), num_quantizers=per_channel)) for c in channels]
        if len(codes) == 1:
            return codes[0].astype(np.int64)
        out = np.empty((1, 2 * per_channel, codes[0].shape[2]), np.int64)
        out[:, 0::2], out[:, 1::2] = codes[0], codes[1]
        return out

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Codes ``[B, K, T]`` -> float32 audio: ``[B, T * hop]`` (mono) or ``[B, T * hop, 2]`` (stereo).

        A stereo model's even codebooks are the left channel, the odd ones the right; each
        channel goes through the same mono EnCodec.
        """
        B, K, T = codes.shape
        if self.audio_channels == 1:
            if T == 0:
                return np.zeros((B, 0), np.float32)
            audio = self.model.audio_encoder.decode(mx.array(codes.astype(np.int32)))
            return np.array(audio.astype(mx.float32))[:, :, 0]
        if T == 0:
            return np.zeros((B, 0, 2), np.float32)
        both = np.concatenate([codes[:, 0::2], codes[:, 1::2]], axis=0)  # left rows, then right rows
        audio = np.array(self.model.audio_encoder.decode(mx.array(both.astype(np.int32))).astype(mx.float32))[:, :, 0]
        return np.stack([audio[:B], audio[B:]], axis=-1)

    def melody_chroma(self, audio: np.ndarray, truncate: bool = True) -> np.ndarray:
        """Mono audio at ``sample_rate`` -> ``[1, frames, 12]`` one-hot chroma."""
        if not self.is_melody:
            raise BackendError(f"{self.folder.path.name} is not a melody model: melody conditioning needs musicgen-melody")
        return self.chroma(audio, truncate=truncate)[None]

    def start(self, prompts: Sequence[str], params: SamplingParams, new_frames: int,
              melody: np.ndarray | None = None, audio_prompt: np.ndarray | None = None) -> WindowedGeneration:
        """Prepare a generation of ``new_frames`` frames per prompt; iterate the result to run it.

        ``melody``: mono audio at ``sample_rate`` (melody model). ``audio_prompt``: audio ``[N]``
        or ``[N, C]`` at ``sample_rate`` to continue, or a list of one such per prompt (all of
        the same length); its frames come first in the result.
        """
        prompts = [str(p) for p in prompts]
        if not prompts:
            raise BackendError("give at least one text prompt")
        ids, mask = self.tokenizer(prompts)
        B = len(prompts)
        if melody is not None and not self.is_melody:
            raise BackendError(f"{self.folder.path.name} is not a melody model: melody conditioning needs musicgen-melody")
        prompt_codes = None
        if isinstance(audio_prompt, (list, tuple)):
            if len(audio_prompt) != B or len({np.shape(a)[0] for a in audio_prompt}) > 1:
                raise BackendError("give one audio prompt per text prompt, all of the same length")
            prompt_codes = np.concatenate([self.encode_audio(a) for a in audio_prompt], axis=0)
        elif audio_prompt is not None:
            prompt_codes = np.repeat(self.encode_audio(audio_prompt), B, axis=0)
        cond = Conditioning(ids, mask, None, prompt_codes)
        return WindowedGeneration(self, cond, params, new_frames, melody)

