"""Makers of hostile files: each writes one small file (or a sparse one where size is the
point) into a case's tmp folder. Nothing here is committed as data."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import numpy as np


def wav_header(*, rate: int = 44100, channels: int = 1, bits: int = 16, tag: int = 1,
               data_bytes: int = 0, riff_bytes: int | None = None) -> bytes:
    """A canonical 44-byte RIFF/WAVE header that declares whatever it is told to."""
    block = max(channels * bits // 8, 0)
    riff = 36 + data_bytes if riff_bytes is None else riff_bytes
    return (b"RIFF" + struct.pack("<I", riff & 0xFFFFFFFF) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, tag, channels & 0xFFFF, rate & 0xFFFFFFFF,
                                    (rate * block) & 0xFFFFFFFF, block & 0xFFFF, bits)
            + b"data" + struct.pack("<I", data_bytes & 0xFFFFFFFF))


def write_float_wav(path: Path, samples: np.ndarray, rate: int = 22050) -> Path:
    """A 32-bit float WAV holding exactly these samples (NaN and inf included)."""
    data = np.asarray(samples, dtype="<f4")
    channels = 1 if data.ndim == 1 else data.shape[1]
    path.write_bytes(wav_header(rate=rate, channels=channels, bits=32, tag=3,
                                data_bytes=data.nbytes) + data.tobytes())
    return path


def write_pcm_wav(path: Path, seconds: float = 0.5, rate: int = 22050, channels: int = 1) -> Path:
    n = int(seconds * rate)
    t = np.arange(n) / rate
    tone = (0.3 * np.sin(2 * np.pi * 220 * t) * 32767).astype("<i2")
    data = np.repeat(tone[:, None], channels, axis=1)
    path.write_bytes(wav_header(rate=rate, channels=channels, data_bytes=data.nbytes)
                     + data.tobytes())
    return path


def sparse(path: Path, size: int, head: bytes = b"") -> Path:
    """A file of ``size`` bytes that takes no disk: ``head`` then a hole."""
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(size)
    return path


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def loop(path: Path) -> Path:
    """``path`` -> ``path.other`` -> ``path``: a symlink loop."""
    other = path.with_name(path.name + ".other")
    os.symlink(other.name, path)
    os.symlink(path.name, other)
    return path


def deep_json(depth: int) -> str:
    return "[" * depth + "]" * depth


def deep_yaml(depth: int) -> str:
    return "kind: style\ndescription: " + "[" * depth + "]" * depth + "\n"


def billion_laughs() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    prev = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
        prev = name
    return "kind: style\ndescription: laughs\n" + "\n".join(lines) + f"\ntags: *{prev}\n"


def dump(path: Path, data) -> Path:
    path.write_text(json.dumps(data))
    return path
