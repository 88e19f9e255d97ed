"""What a RIFF/WAVE header promises, read before libsndfile opens the file.

libsndfile trusts the file more than its header: a header that promises 10 MB of samples
over 4 kB of bytes opens as 0.05 s of audio, and a 7-bit header opens as 8-bit audio. Both
are broken files (a download cut short, a writer gone wrong), and analysing what is left
would report a tempo, key and loudness of a fragment as if they were the file's. So the
chunks are walked here (seeking past each, never reading the file's samples) and two lies
are refused with a sentence:

* the ``data`` chunk promises more than twice the bytes the file holds after it ("cut
  short"; a little missing, as in a file whose last block was lost, is still read);
* PCM or float samples of a width no WAV writer uses (PCM: 8, 16, 24 or 32 bits; float:
  32 or 64).

A ``data`` size of 0 or 0xFFFFFFFF is the placeholder streaming writers leave when they
cannot seek back, not a promise, so it is not checked. RF64/BW64 (64-bit sizes in a
``ds64`` chunk) and compressed formats are left to libsndfile.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

PCM, FLOAT, EXTENSIBLE = 0x0001, 0x0003, 0xFFFE
PCM_BITS = (8, 16, 24, 32)
FLOAT_BITS = (32, 64)
STREAMING_SIZES = (0, 0xFFFFFFFF)
MAX_CHUNKS = 4096
"""Chunks walked before ``data`` at most: a real file has a handful (fmt, LIST, bext, JUNK...)."""
CUT_SHORT_FRACTION = 0.5
"""A file holding less than this share of the bytes its header promises is refused."""


@dataclass(frozen=True)
class WavLayout:
    """The fields of the ``fmt `` chunk and where the ``data`` chunk starts and claims to end."""

    tag: int
    """The format tag; for WAVE_FORMAT_EXTENSIBLE, the sub-format it wraps (PCM or float)."""
    channels: int
    rate: int
    block_align: int
    bits: int
    data_offset: int
    data_bytes: int
    """As the header says, which may be more than the file holds."""
    file_bytes: int

    @property
    def held_bytes(self) -> int:
        """Bytes of the ``data`` chunk actually in the file."""
        return max(0, min(self.data_bytes, self.file_bytes - self.data_offset))


class WavHeaderLie(ValueError):
    """The header promises what the file does not hold; the text follows the file's name
    ("'x.wav' is cut short: ...")."""


def read_layout(path: str | os.PathLike) -> WavLayout | None:
    """The layout of a little-endian RIFF/WAVE file, or None when it is not one (or its chunks
    are too odd to walk: libsndfile then has the last word)."""
    p = Path(path)
    with open(p, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        fmt = None
        pos = 12
        for _ in range(MAX_CHUNKS):
            f.seek(pos)
            chunk = f.read(8)
            if len(chunk) < 8:
                return None
            cid, clen = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"fmt ":
                body = f.read(min(clen, 40))
                if len(body) < 16:
                    return None
                tag, channels, rate, _, block_align, bits = struct.unpack("<HHIIHH", body[:16])
                if tag == EXTENSIBLE and len(body) >= 26:
                    tag = struct.unpack("<H", body[24:26])[0]  # the sub-format GUID's first two bytes
                fmt = (tag, channels, rate, block_align, bits)
            elif cid == b"data":
                if fmt is None:
                    return None
                return WavLayout(*fmt, data_offset=pos + 8, data_bytes=clen, file_bytes=size)
            pos += 8 + clen + (clen & 1)  # chunks are padded to an even length
            if pos >= size:
                return None
    return None


def check_layout(layout: WavLayout) -> None:
    """Raise :class:`WavHeaderLie` if the header promises what the file does not hold."""
    if layout.tag == PCM and layout.bits not in PCM_BITS:
        raise WavHeaderLie(f"says in its header that its samples are {layout.bits} bits wide, which no WAV "
                           f"writer uses ({', '.join(map(str, PCM_BITS))} bits): the file is damaged")
    if layout.tag == FLOAT and layout.bits not in FLOAT_BITS:
        raise WavHeaderLie(f"says in its header that its float samples are {layout.bits} bits wide (32 or "
                           "64 are used): the file is damaged")
    if layout.data_bytes in STREAMING_SIZES:
        return
    if layout.held_bytes < CUT_SHORT_FRACTION * layout.data_bytes:
        raise WavHeaderLie(f"is cut short: its header promises {_amount(layout, layout.data_bytes)} of audio "
                           f"but the file holds only {_amount(layout, layout.held_bytes)} "
                           "(was a download or copy interrupted?)")


def _amount(layout: WavLayout, nbytes: int) -> str:
    """Seconds where the header's own block size and rate make sense, else bytes."""
    if layout.block_align > 0 and layout.rate > 0:
        seconds = nbytes / layout.block_align / layout.rate
        if seconds >= 120:
            return f"{seconds / 60:.1f} minutes"
        if seconds >= 10:
            return f"{seconds:.0f} s"
        return f"{seconds:.2f} s" if seconds >= 0.01 else f"{seconds * 1000:.2f} ms"
    return f"{nbytes / 1e6:.1f} MB" if nbytes >= 1e5 else f"{nbytes} bytes"
