"""The one audio reader: import, analysis, references and the library all read files here.

Memory is bounded by the work, not the file. The file is read in blocks; each block is
checked, downmixed to the channels asked for and resampled (a streaming soxr resampler) to
the rate asked for before the next one is read, so a 330 s, 384 kHz, 8-channel WAV read
for analysis (mono, 22050 Hz) holds about 30 MB, not the 8 GB of the whole file as float32.
At most ``max_seconds`` are read; ``LoadedAudio.truncated`` and ``limit_note`` say so.

* Import: ``read_audio(path, sample_rate=44100, channels=2, max_seconds=...)`` gives
  full-quality stereo at the session's rate.
* Analysis: ``read_audio(path, sample_rate=ANALYSIS_RATE, channels=1)`` (the default limit
  is the first :data:`MAX_ANALYSIS_SECONDS`), or :func:`read_for_analysis`.
* Without ``sample_rate``/``channels`` the file's own rate and channels are kept.

What is refused, each with one sentence (:class:`AudioFileError`, an ``AnalysisError``):
anything that is not a regular file (pipes and FIFOs, which would hang; devices such as
``/dev/zero``, which never end; folders; symlink loops), empty files, files libsndfile
cannot decode, absurd sample rates (below :data:`MIN_RATE` or above :data:`MAX_RATE` Hz,
e.g. a 1 Hz header), more than :data:`MAX_CHANNELS` channels, and samples that are NaN or
infinite or larger in magnitude than :data:`MAX_SAMPLE` (1e30 is a broken file, not loud
music). Samples a little over full scale (a hot float file) are kept as they are.
Files that lie about what they hold are refused too: a WAV header that promises more than
twice what the file holds, or a sample width no writer uses (wav_header.py), and any file
of which less than half of what libsndfile expected could be decoded. MP3 is decoded with
libmpg123's own notes on fd 2 captured (decoder_stderr.py), so a damaged MP3 is one sentence.

Downmix: mono is the mean of all channels; stereo from mono repeats it; stereo from more
than two channels keeps the first two (front left and right in WAV's channel order).
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.analysis.decoder_stderr import Captured, decoder_notes_captured
from engine.analysis.errors import AnalysisError
from engine.analysis.wav_header import CUT_SHORT_FRACTION, WavHeaderLie, check_layout, read_layout

ANALYSIS_RATE = 22050
MAX_ANALYSIS_SECONDS = 300.0
MIN_RATE, MAX_RATE = 4000, 768000
MAX_CHANNELS = 256
MAX_SAMPLE = 1e3
MIN_ANALYSIS_SECONDS = 0.25
"""Shorter than this, tempo, key and loudness are noise: :func:`read_for_analysis` refuses it.
``analyze_file`` still analyses such a file (a 0.1 s one-shot has a timbre the library can
match) and says in its warnings that tempo and key cannot be told."""
MIN_SOUND_SECONDS = 512 / 22050
"""One analysis hop (23 ms): a file holding less (one frame, a few samples) is not a sound any
measure describes, and is refused everywhere audio is analysed."""
BLOCK_SAMPLES = 1 << 19  # samples (frames x channels) per block read: 2 MB of float32


class AudioFileError(AnalysisError):
    """A file cannot be read as audio (or holds nonsense); the message names it and says why."""


@dataclass(frozen=True)
class LoadedAudio:
    """``audio`` is float32 ``[N, channels]`` at ``sample_rate`` (the rate asked for, else the file's)."""

    path: Path
    audio: np.ndarray
    sample_rate: int
    channels: int
    duration: float
    """Seconds in the whole file, not only in ``audio``."""
    truncated: bool
    file_rate: int = 0
    file_channels: int = 0
    max_seconds: float = MAX_ANALYSIS_SECONDS

    @property
    def seconds(self) -> float:
        """Seconds held in ``audio``."""
        return len(self.audio) / self.sample_rate

    @property
    def limit_note(self) -> str | None:
        """A sentence when only part of the file was read, else None."""
        if not self.truncated:
            return None
        return (f"only the first {_minutes(self.seconds)} of {_minutes(self.duration)} in "
                f"{_describe(self.path)} were read")


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} minutes"


def _describe(path: Path) -> str:
    return f"'{path.name}'"


def _decoder_reason(exc: Exception, notes=()) -> str:
    """libsndfile's words for "unknown format" mislead ("not a regular file (possibly a pipe?)");
    ``notes``: what libmpg123 printed while it tried (see decoder_stderr)."""
    text = str(exc)
    if "Error opening" in text:
        text = text.split(": ", 1)[-1]
    if notes and any("mpeg-header" in n.lower() or "resync" in n.lower() for n in notes):
        return "its MP3 data is damaged (the decoder found no valid MPEG audio frame)"
    if "not a regular file" in text or "Format not recognised" in text or "unknown format" in text.lower():
        return "its contents are not in a known audio format (was it renamed?)"
    return text.rstrip(".") or "the decoder gave up"


def check_regular_file(path: str | os.PathLike) -> Path:
    """The path, if it is a readable, non-empty regular file; AudioFileError otherwise.

    Checked before anything opens it: opening a FIFO blocks until a writer comes, and a
    device such as /dev/zero reads forever.
    """
    try:
        p = Path(path)
        p = p.expanduser()
    except TypeError:
        raise AudioFileError(f"{path!r} is not a path") from None
    except RuntimeError:  # "~nobody/x": keep it as typed
        pass
    try:
        info = p.stat()
    except ValueError:
        raise AudioFileError(f"{str(p)!r} is not a usable path (it holds a NUL character)") from None
    except FileNotFoundError:
        raise AudioFileError(f"{p} does not exist") from None
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise AudioFileError(f"{p} is a loop of symbolic links, not an audio file") from None
        raise AudioFileError(f"{_describe(p)} cannot be read: {(err.strerror or str(err)).lower()}") from None
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        raise AudioFileError(f"{p} is a folder, not an audio file")
    if stat.S_ISFIFO(mode):
        raise AudioFileError(f"{_describe(p)} is a pipe (FIFO), not an audio file: save the audio to a file first")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        raise AudioFileError(f"{p} is a device, not an audio file")
    if not stat.S_ISREG(mode):
        raise AudioFileError(f"{_describe(p)} is not a regular file (a socket or similar), so it was not read")
    if not os.access(p, os.R_OK):
        raise AudioFileError(f"{_describe(p)} cannot be read: permission denied")
    if info.st_size == 0:
        raise AudioFileError(f"{_describe(p)} is empty (0 bytes)")
    return p


SIGNATURES = (b"RIFF", b"RF64", b"BW64", b"fLaC", b"OggS", b"ID3", b"FORM", b"caff", b".snd", b"wvpk")


def _check_signature(p: Path) -> bool:
    """Refuse a file that starts like no audio format before libsndfile sees it: its MP3
    decoder would otherwise take random bytes for MPEG frames and print notes on stderr.
    True when the file starts like MP3 (an ID3 tag or an MPEG frame sync): its decode then
    runs with those notes captured."""
    try:
        with open(p, "rb") as f:
            head = f.read(4)
    except OSError as err:
        raise AudioFileError(f"{_describe(p)} cannot be read: {(err.strerror or str(err)).lower()}") from None
    mpeg_sync = len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0
    if not (head.startswith(SIGNATURES) or mpeg_sync):
        raise AudioFileError(f"{_describe(p)} is not audio this app can read (WAV, FLAC, OGG or MP3): "
                             "its contents are not in a known audio format (was it renamed?)")
    return head.startswith(b"ID3") or mpeg_sync


def _check_wav_header(p: Path) -> None:
    """Refuse a WAV whose header promises what the file does not hold (see wav_header)."""
    try:
        layout = read_layout(p)
    except OSError as err:
        raise AudioFileError(f"{_describe(p)} cannot be read: {(err.strerror or str(err)).lower()}") from None
    if layout is None:
        return
    try:
        check_layout(layout)
    except WavHeaderLie as lie:
        raise AudioFileError(f"{_describe(p)} {lie}") from None


def _downmix(block: np.ndarray, channels: int) -> np.ndarray:
    have = block.shape[1]
    if channels == have:
        return block
    if channels == 1:
        return block.mean(axis=1, keepdims=True, dtype=np.float32)
    if have == 1:
        return np.repeat(block, channels, axis=1)
    if have > channels:
        return block[:, :channels]
    raise AudioFileError(f"cannot make {channels} channels from {have}")  # pragma: no cover - guarded


INT16_SUBTYPES = frozenset({"PCM_S8", "PCM_U8", "PCM_16"})
"""Subtypes libsndfile reads as int16 exactly (8-bit samples scaled by 256)."""


def _downmix_int16(block: np.ndarray, channels: int) -> np.ndarray:
    """int16 ``[N, C]`` -> float32 ``[N, channels]`` in full scale, as :func:`_downmix` on floats."""
    have = block.shape[1]
    if channels == 1 and have > 1:
        out = block.sum(axis=1, keepdims=True, dtype=np.int32).astype(np.float32)
        out *= np.float32(1.0 / (32768.0 * have))
        return out
    out = np.ascontiguousarray(_downmix(block, channels) if channels <= have else block, dtype=np.float32)
    out *= np.float32(1.0 / 32768.0)
    return np.repeat(out, channels, axis=1) if channels > have else out


class _Growing:
    """An output buffer sized from the header's estimate, doubled only if that was short."""

    def __init__(self, rows: int, channels: int) -> None:
        self.data = np.empty((max(rows, 1024), channels), dtype=np.float32)
        self.n = 0

    def add(self, x: np.ndarray) -> None:
        if not len(x):
            return
        need = self.n + len(x)
        if need > len(self.data):
            bigger = np.empty((max(need, 2 * len(self.data)), self.data.shape[1]), dtype=np.float32)
            bigger[: self.n] = self.data[: self.n]
            self.data = bigger
        self.data[self.n: need] = x
        self.n = need

    def result(self) -> np.ndarray:
        out = self.data[: self.n]
        return out.copy() if self.n < 0.9 * len(self.data) else out


def _check_block(block: np.ndarray, p: Path, at_seconds: float) -> None:
    if not np.isfinite(block).all():
        raise AudioFileError(f"{_describe(p)} holds invalid samples (NaN or infinity) near {at_seconds:.1f} s: "
                             "the file is damaged")
    peak = float(np.max(np.abs(block), initial=0.0))
    if peak > MAX_SAMPLE:
        raise AudioFileError(f"{_describe(p)} holds samples of {peak:.3g} near {at_seconds:.1f} s, far beyond "
                             "full scale (1.0): the file is damaged or not audio")


def read_audio(path: str | os.PathLike, max_seconds: float = MAX_ANALYSIS_SECONDS, offset_seconds: float = 0.0,
               *, sample_rate: int | None = None, channels: int | None = None,
               refuse_longer: bool = False) -> LoadedAudio:
    """Read at most ``max_seconds`` from ``offset_seconds``, as ``channels`` at ``sample_rate``.

    With ``refuse_longer`` a file whose header says it is longer than ``max_seconds`` is
    refused before any of it is read, instead of being cut (an import wants all or none).

    Raises AudioFileError (an AnalysisError) with a sentence a person can act on.
    """
    import soundfile as sf

    if not (isinstance(max_seconds, (int, float)) and math.isfinite(max_seconds) and max_seconds > 0):
        raise AudioFileError(f"a reading limit of {max_seconds!r} seconds is not a positive number")
    if not (isinstance(offset_seconds, (int, float)) and math.isfinite(offset_seconds)):
        raise AudioFileError(f"an offset of {offset_seconds!r} seconds is not a number")
    if sample_rate is not None and not (isinstance(sample_rate, int) and MIN_RATE <= sample_rate <= MAX_RATE):
        raise AudioFileError(f"cannot resample to {sample_rate} Hz: choose {MIN_RATE}-{MAX_RATE} Hz")
    if channels is not None and channels not in (1, 2):
        raise AudioFileError(f"cannot read audio as {channels} channels: choose 1 or 2")
    p = check_regular_file(path)
    is_mpeg = _check_signature(p)
    _check_wav_header(p)
    quiet = decoder_notes_captured() if is_mpeg else contextlib.nullcontext(Captured())
    captured = Captured()
    try:
        with quiet as captured, sf.SoundFile(str(p)) as f:
            rate, have = int(f.samplerate), int(f.channels)
            if not MIN_RATE <= rate <= MAX_RATE:
                raise AudioFileError(f"{_describe(p)} says its sample rate is {rate} Hz, which is not a rate audio is "
                                     f"recorded at ({MIN_RATE}-{MAX_RATE} Hz): the file is damaged")
            if not 1 <= have <= MAX_CHANNELS:
                raise AudioFileError(f"{_describe(p)} has {have} channels (at most {MAX_CHANNELS} are read)")
            total = int(f.frames) if f.frames and 0 < f.frames < 2 ** 62 else 0
            if refuse_longer and total > max_seconds * rate:
                raise AudioFileError(f"{_describe(p)} lasts {_minutes(total / rate)}, longer than the "
                                     f"{_minutes(max_seconds)} this app imports: cut it first")
            start = int(max(0.0, offset_seconds) * rate)
            if total and start >= total:
                start = 0
            if start:
                f.seek(start)
            want = int(min(max_seconds * rate, 2 ** 62))
            if total:
                want = min(want, total - start)
            out_rate = int(sample_rate or rate)
            out_ch = int(channels or have)
            audio, read = _stream(f, p, want, rate, out_rate, out_ch, start / rate, known_length=bool(total))
            if total and want == total - start and read < CUT_SHORT_FRACTION * want:
                raise AudioFileError(f"{_describe(p)} is cut short: its header promises "
                                     f"{_minutes(want / rate)} but only {read / rate:.2f} s could be decoded "
                                     "(was a download or copy interrupted?)")
            truncated = bool(total and total - start > want) or (not total and read >= want)
    except AudioFileError:
        raise
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioFileError(
            f"{_describe(p)} is not audio this app can read (WAV, FLAC, OGG or MP3): "
            f"{_decoder_reason(exc, captured.notes if is_mpeg else ())}"
        ) from exc
    except MemoryError:
        raise AudioFileError(f"{_describe(p)} is too large to read into memory: try a shorter limit") from None
    if len(audio) == 0:
        raise AudioFileError(f"{_describe(p)} holds no audio samples")
    duration = (total / rate) if total else (start + read) / rate
    return LoadedAudio(p, audio, out_rate, out_ch, float(duration), truncated, rate, have, float(max_seconds))


def _stream(f, p: Path, want: int, rate: int, out_rate: int, out_ch: int, t0: float, *,
            known_length: bool) -> tuple[np.ndarray, int]:
    """Read ``want`` frames block by block: check, downmix, resample, append."""
    import soxr

    resampler = soxr.ResampleStream(rate, out_rate, out_ch, dtype="float32", quality="HQ") if out_rate != rate else None
    estimate = int(math.ceil(want * out_rate / rate)) + 64
    out = _Growing(estimate if known_length else min(estimate, 1 << 20), out_ch)  # grow only as audio comes
    block_frames = max(1024, BLOCK_SAMPLES // f.channels)
    # 8- and 16-bit PCM is read as int16 and downmixed before it becomes float: half the bytes
    # through libsndfile and no NaN/peak check (integers cannot hold either). The values are
    # libsndfile's own float conversion (x / 32768); a 384 kHz 8-channel file reads ~1.8x faster.
    as_int16 = f.subtype in INT16_SUBTYPES
    done = 0
    while done < want:
        block = f.read(frames=min(block_frames, want - done), dtype="int16" if as_int16 else "float32",
                       always_2d=True)
        if not len(block):
            break
        if as_int16:
            mixed = _downmix_int16(block, out_ch)
        else:
            _check_block(block, p, t0 + done / rate)
            mixed = np.ascontiguousarray(_downmix(block, out_ch))
        done += len(block)
        out.add(resampler.resample_chunk(mixed, last=False) if resampler else mixed)
    if resampler:
        out.add(resampler.resample_chunk(np.zeros((0, out_ch), dtype=np.float32), last=True))
    return out.result(), done


def read_for_analysis(path: str | os.PathLike, max_seconds: float = MAX_ANALYSIS_SECONDS) -> LoadedAudio:
    """Mono at ``ANALYSIS_RATE``, the first ``max_seconds``: what analysis and the library need.
    A file shorter than :data:`MIN_ANALYSIS_SECONDS` is refused (a header that promises more
    than the file holds ends up here too)."""
    loaded = read_audio(path, max_seconds, sample_rate=ANALYSIS_RATE, channels=1)
    held = len(loaded.audio) / ANALYSIS_RATE
    if held < MIN_ANALYSIS_SECONDS:
        raise AudioFileError(f"{_describe(loaded.path)} holds only {held:.3f} s of audio: analysis needs at least "
                             f"{MIN_ANALYSIS_SECONDS} s (is the file cut short?)")
    return loaded


def read_for_import(path: str | os.PathLike, sample_rate: int, max_seconds: float) -> LoadedAudio:
    """Stereo at the session's rate, refused if longer than ``max_seconds``: a dropped file
    becoming a take."""
    return read_audio(path, max_seconds, sample_rate=sample_rate, channels=2, refuse_longer=True)


def to_analysis_rate(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """``[N, C]`` at any rate -> mono float32 ``[M]`` at ``ANALYSIS_RATE``."""
    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    mono = np.ascontiguousarray(mono, dtype=np.float32)
    if sample_rate == ANALYSIS_RATE:
        return mono
    import soxr

    return soxr.resample(mono, sample_rate, ANALYSIS_RATE, quality="HQ").astype(np.float32)
