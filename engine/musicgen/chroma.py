"""Melody conditioning: the one-hot chroma that transformers' MusicgenMelodyFeatureExtractor computes.

Power spectrogram (Hann window, centred, reflect padding, normalised by the window energy),
a librosa-style chroma filter bank, inf-norm per frame, then the strongest pitch class only.
Plain numpy: no torch, no librosa import cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np


def chroma_filter_bank(sampling_rate: int, n_fft: int, num_chroma: int = 12, tuning: float = 0.0) -> np.ndarray:
    """``[num_chroma, n_fft // 2 + 1]`` (transformers.audio_utils.chroma_filter_bank, adapted from librosa)."""
    frequencies = np.linspace(0, sampling_rate, n_fft, endpoint=False)[1:]
    a440 = 440.0 * 2.0 ** (tuning / num_chroma)
    freq_bins = num_chroma * np.log2(frequencies / (a440 / 16))
    freq_bins = np.concatenate(([freq_bins[0] - 1.5 * num_chroma], freq_bins))
    widths = np.concatenate((np.maximum(freq_bins[1:] - freq_bins[:-1], 1.0), [1]))
    filters = np.subtract.outer(freq_bins, np.arange(0, num_chroma, dtype="d")).T
    half = np.round(float(num_chroma) / 2)
    filters = np.remainder(filters + half + 10 * num_chroma, num_chroma) - half
    filters = np.exp(-0.5 * (2 * filters / np.tile(widths, (num_chroma, 1))) ** 2)
    filters = filters / np.sqrt(np.sum(filters ** 2, axis=0, keepdims=True))
    filters *= np.tile(np.exp(-0.5 * (((freq_bins / num_chroma - 5.0) / 2.0) ** 2)), (num_chroma, 1))
    filters = np.roll(filters, -3 * (num_chroma // 12), axis=0)
    return np.ascontiguousarray(filters[:, : int(1 + n_fft / 2)])


@dataclass(frozen=True)
class ChromaExtractor:
    sampling_rate: int = 32000
    n_fft: int = 16384
    hop_length: int = 4096
    num_chroma: int = 12
    chunk_length: float = 30.0

    @classmethod
    def from_preprocessor(cls, settings: Mapping[str, Any], num_chroma: int = 12) -> "ChromaExtractor":
        return cls(
            sampling_rate=int(settings.get("sampling_rate", 32000)),
            n_fft=int(settings.get("n_fft", 16384)),
            hop_length=int(settings.get("hop_length", 4096)),
            num_chroma=int(settings.get("num_chroma", num_chroma)),
            chunk_length=float(settings.get("chunk_length", 30)),
        )

    @property
    def frame_rate(self) -> float:
        return self.sampling_rate / self.hop_length

    def __call__(self, audio: np.ndarray, truncate: bool = True) -> np.ndarray:
        """Mono audio ``[N]`` at ``sampling_rate`` -> one-hot chroma ``[frames, num_chroma]`` float32.

        ``truncate`` cuts the audio to ``chunk_length`` seconds first, as the reference does.
        """
        wav = np.asarray(audio, dtype=np.float32).reshape(-1)
        if truncate:
            wav = wav[: int(self.chunk_length * self.sampling_rate)]
        if wav.size < self.n_fft:
            pad = self.n_fft - wav.size
            wav = np.pad(wav, (pad // 2, pad // 2 + pad % 2))
        half = self.n_fft // 2
        padded = np.pad(wav.astype(np.float64), (half, half), mode="reflect")
        frames = 1 + wav.size // self.hop_length
        window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(self.n_fft) / self.n_fft)  # periodic Hann
        filters = chroma_filter_bank(self.sampling_rate, self.n_fft, self.num_chroma)
        chroma = np.empty((frames, self.num_chroma))
        block = 64  # frames per FFT batch: bounds memory for long inputs
        for start in range(0, frames, block):
            idx = np.arange(start, min(frames, start + block))[:, None] * self.hop_length + np.arange(self.n_fft)
            spectrum = np.abs(np.fft.rfft(padded[idx] * window, axis=-1)) ** 2 / np.sum(window ** 2)
            chroma[start: start + len(idx)] = spectrum @ filters.T
        norm = np.maximum(np.abs(chroma).max(axis=-1, keepdims=True), 1e-6)
        chroma = chroma / norm
        one_hot = np.zeros((frames, self.num_chroma), dtype=np.float32)
        one_hot[np.arange(frames), chroma.argmax(axis=-1)] = 1.0
        return one_hot


def null_chroma(frames: int, num_chroma: int) -> np.ndarray:
    """The unconditional melody input: pitch class 0 everywhere (as transformers)."""
    out = np.zeros((frames, num_chroma), dtype=np.float32)
    out[:, 0] = 1.0
    return out
