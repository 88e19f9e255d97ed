"""Export the mix and the stems as WAV or FLAC, optionally loudness-normalised, never clipped.

One gain is worked out for the whole export and applied to the mix and to every stem alike,
so the stems still sum to the mix (to within the last bit of each file). The gain is:

* with ``target_lufs``: the gain that brings the mix's integrated loudness (ITU-R BS.1770,
  tracks/loudness.py, after pyloudnorm) to the target, held back if it would push the sample peak of the mix or
  of any stem above -1 dBFS;
* without: unity, unless the mix or a stem would clip (peak at or above full scale), in
  which case it is turned down to peak at -1 dBFS.

Whenever the gain differs from what was asked, :attr:`ExportResult.notes` says so in a
sentence. Samples are quantised by rounding (no dither).

All or nothing: every file of an export (the mix, each stem, or both with
:func:`export_all`) is written to a temp name first and only then are they renamed into
place together (tracks/file_set.py); a failure removes what the export started, puts back
any file it had already replaced, and names the cause ("no space left on device"). An
app that also saves the project can stage both in one :class:`FileSet` via
:func:`stage_export` and commit after the save.
"""

from __future__ import annotations

import math
import os
import re
import unicodedata
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tracks.atomic import describe_os_error
from tracks.audio_write import write_audio
from tracks.errors import ExportError
from tracks.file_set import FileSet
from tracks.loudness import measure_lufs
from tracks.mixer import memory_budget, render_bytes, render_mix, render_stems
from tracks.session import Session
from tracks.track import Track
from tracks.user_path import user_path

FORMATS = {"wav": "WAV", "flac": "FLAC", "mp3": "MP3"}
SUBTYPES = {16: "PCM_16", 24: "PCM_24", 32: "FLOAT"}
"""Bit depths: 16/24-bit integer PCM, 32-bit float (WAV only; FLAC has no float samples)."""
MP3_SUBTYPE = "MPEG_LAYER_III"  # libsndfile's LAME encoder; the bit depth does not apply
CEILING_DBFS = -1.0
LUFS_RANGE = (-70.0, 0.0)


@dataclass(frozen=True)
class ExportResult:
    """What was written and how loud it is.

    ``gain_db`` is the gain applied to the mix (and to every stem); ``peak_dbfs`` and ``lufs``
    describe the exported mix (``lufs`` is None when the mix is too short or silent to
    measure). ``notes`` holds a sentence for each adjustment made.
    """

    paths: tuple[Path, ...]
    gain_db: float
    peak_dbfs: float
    lufs: float | None
    notes: tuple[str, ...] = ()

    @property
    def path(self) -> Path:
        return self.paths[0]


@dataclass(frozen=True)
class GainPlan:
    gain_db: float
    peak_dbfs: float
    lufs: float | None
    notes: tuple[str, ...]


def to_dbfs(amplitude: float) -> float:
    return 20.0 * math.log10(amplitude) if amplitude > 0 else -math.inf


def plan_gain(mix: np.ndarray, stems: list[np.ndarray], sample_rate: int,
              target_lufs: float | None) -> GainPlan:
    """The one gain for an export; see the module docstring for the rules."""
    peak = max([float(np.max(np.abs(a))) if a.size else 0.0 for a in [mix, *stems]])
    ceiling = 10.0 ** (CEILING_DBFS / 20.0)
    lufs_in = measure_lufs(mix, sample_rate)
    notes: list[str] = []
    gain_db = 0.0
    if target_lufs is not None:
        if lufs_in is None:
            notes.append("The mix is too short or too quiet to measure its loudness, so it was not normalised.")
        else:
            gain_db = target_lufs - lufs_in
            if peak * 10.0 ** (gain_db / 20.0) > ceiling:
                limited = CEILING_DBFS - to_dbfs(peak)
                notes.append(f"The mix reaches {lufs_in + limited:.1f} LUFS instead of {target_lufs:.1f}: "
                             f"the gain was held back {gain_db - limited:.1f} dB to keep the peak at "
                             f"{CEILING_DBFS:g} dBFS.")
                gain_db = limited
    if target_lufs is None or lufs_in is None:
        if peak >= 1.0:
            gain_db = CEILING_DBFS - to_dbfs(peak)
            notes.append(f"The mix peaked at {to_dbfs(peak):+.1f} dBFS and would have clipped, so it was "
                         f"turned down {-gain_db:.1f} dB to peak at {CEILING_DBFS:g} dBFS.")
    return GainPlan(
        gain_db=gain_db,
        peak_dbfs=to_dbfs(float(np.max(np.abs(mix))) * 10.0 ** (gain_db / 20.0)) if mix.size else -math.inf,
        lufs=None if lufs_in is None else lufs_in + gain_db,
        notes=tuple(notes),
    )


def quantise(audio: np.ndarray, bit_depth: int) -> np.ndarray:
    """Float -> integer samples by rounding, clipped to the integer range (never wrapped)."""
    full = 2 ** (bit_depth - 1)
    codes = np.clip(np.rint(np.asarray(audio, dtype=np.float64) * full), -full, full - 1)
    if bit_depth == 16:
        return codes.astype(np.int16)
    return codes.astype(np.int32) << 8  # libsndfile takes 24-bit PCM in the top of int32


def slugify(name: str, *, max_length: int = 40) -> str:
    """A file-name-safe form of a track name on every filesystem: ``"Lead Synth #2"`` -> ``"lead-synth-2"``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:max_length].rstrip("-") or "track"


def stem_file_name(number: int, track: Track, extension: str) -> str:
    return f"{number:02d}-{track.role}-{slugify(track.name)}.{extension}"


def _format_for(path: Path, format: str | None) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if format is None:
        if suffix not in FORMATS:
            raise ExportError(f"cannot tell the format of {path.name!r}: name it .wav, .flac or .mp3")
        return suffix
    fmt = format.lower()
    if fmt not in FORMATS:
        raise ExportError(f"cannot export as {format!r}: choose wav, flac or mp3")
    if suffix in FORMATS and suffix != fmt:
        raise ExportError(f"{path.name!r} is named .{suffix} but {fmt} was asked for: make the two agree")
    return fmt


def _check_options(bit_depth: int, target_lufs: float | None) -> None:
    if bit_depth not in SUBTYPES:
        raise ExportError(f"cannot export at {bit_depth} bits: choose 16, 24 or 32 (float)")
    if target_lufs is not None:
        low, high = LUFS_RANGE
        if not (isinstance(target_lufs, (int, float)) and math.isfinite(target_lufs) and low <= target_lufs <= high):
            raise ExportError(f"a loudness target of {target_lufs!r} LUFS is out of range: choose between {low:g} and {high:g}")


def _check_folder(folder: Path) -> None:
    if not folder.exists():
        raise ExportError(f"cannot write to {folder}: the folder does not exist")
    if not folder.is_dir():
        raise ExportError(f"cannot write to {folder}: it is a file, not a folder")


# Per frame, on top of the stems and the mix: headroom. Quantising (tracks/audio_write.py) and
# measuring loudness (tracks/loudness.py) work a block at a time, so they add almost nothing.
_EXPORT_BYTES_PER_FRAME = 16


def _render(session: Session) -> tuple[list[tuple[Track, np.ndarray]], np.ndarray]:
    need, budget = render_bytes(session, _EXPORT_BYTES_PER_FRAME), memory_budget()
    if need > budget:
        raise ExportError(f"cannot export: the session lasts {_hours(session.duration)} and rendering it would need "
                          f"about {need / 2 ** 30:.1f} GB of memory, more than this machine can spare "
                          f"({budget / 2 ** 30:.1f} GB), so shorten it (fewer bars or a faster tempo)")
    stems = render_stems(session)
    if not stems:
        raise ExportError("nothing to export: no audible track has a take (generate, unmute or unsolo a track first)")
    return stems, render_mix(session, stems)


def _stage(files: FileSet, target: Path, signal: np.ndarray, gain: np.float32, sample_rate: int, fmt: str,
           bit_depth: int) -> None:
    """Stage one file; the gain is applied here, one file at a time, not to all at once."""
    if fmt == "mp3":
        subtype, transform = MP3_SUBTYPE, lambda block: np.clip(block * gain, -1.0, 1.0).astype(np.float32)
    elif bit_depth == 32:
        subtype, transform = SUBTYPES[32], lambda block: np.asarray(block * gain, dtype=np.float32)
    else:
        subtype, transform = SUBTYPES[bit_depth], lambda block: quantise(block * gain, bit_depth)

    def write(tmp: Path) -> None:
        write_audio(tmp, signal, sample_rate, format=FORMATS[fmt], subtype=subtype, transform=transform)
    try:
        files.stage(target, write)
    except (OSError, RuntimeError) as err:
        raise _failure(err, target) from err


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} hours" if seconds >= 3600 else f"{seconds / 60:.0f} minutes"


def _failure(err: BaseException, where: Path) -> ExportError:
    if isinstance(err, OSError):
        reason = describe_os_error(err)
    else:
        reason = (getattr(err, "error_string", None) or str(err) or type(err).__name__).strip().rstrip(".")
    return ExportError(f"cannot write to {where}: {reason}")


def commit_staged(files: FileSet) -> None:
    """Rename what ``stage_export`` staged into place, all together (ExportError on failure)."""
    _commit(files)


def _commit(files: FileSet) -> None:
    first = files.targets[0]
    try:
        files.commit()
    except (OSError, RuntimeError) as err:
        raise _failure(err, files.failed_target or first) from err


@dataclass(frozen=True)
class _Plan:
    mix_path: Path | None
    mix_fmt: str
    stems_dir: Path | None
    stems_fmt: str


def stage_export(files: FileSet, session: Session, *, mix_path: str | os.PathLike | None = None,
                 stems_dir: str | os.PathLike | None = None, format: str | None = None, bit_depth: int = 24,
                 target_lufs: float | None = None) -> tuple[ExportResult, Path | None]:
    """Write the mix and/or stems into ``files`` (not yet renamed into place).

    Returns the result and the stems folder this call created (None if it existed), which
    the caller removes if it discards the set instead of committing it.
    """
    plan = _check_plan(mix_path, stems_dir, format, bit_depth, target_lufs)
    stems, mix = _render(session)
    gain_plan = plan_gain(mix, [s for _, s in stems], session.sample_rate, target_lufs)
    gain = np.float32(10.0 ** (gain_plan.gain_db / 20.0))
    items: list[tuple[Path, np.ndarray, str, np.float32]] = []
    lufs, peak, notes, gain_db = gain_plan.lufs, gain_plan.peak_dbfs, gain_plan.notes, gain_plan.gain_db
    if plan.mix_path is not None and target_lufs is not None and gain_plan.lufs is not None:
        # A loudness target goes through the true-peak limiter: loud targets are reached
        # without clipping instead of being held back (the plain gain plan's rule).
        from tracks.limiter import limit_to_loudness  # here: it pulls scipy (~1 s), which only a target needs

        master = limit_to_loudness(mix, session.sample_rate, target_lufs, ceiling_dbtp=CEILING_DBFS)
        items.append((plan.mix_path, master.audio.astype(np.float32), plan.mix_fmt, np.float32(1.0)))
        lufs, peak, gain_db = master.lufs, master.true_peak_dbtp, master.gain_db
        notes = () if master.lufs is None or abs(master.lufs - target_lufs) <= 0.2 else (
            f"The mix reaches {master.lufs:.1f} LUFS instead of {target_lufs:.1f}: as loud as it gets with its "
            f"true peak under {CEILING_DBFS:g} dBTP.",)
        if plan.stems_dir is not None:
            notes += ("The stems are levelled as the mix before its limiter, so they sum to the unlimited mix.",)
    elif plan.mix_path is not None:
        items.append((plan.mix_path, mix, plan.mix_fmt, gain))
    made = None
    if plan.stems_dir is not None:
        items += [(plan.stems_dir / stem_file_name(i, track, plan.stems_fmt), signal, plan.stems_fmt, gain)
                  for i, (track, signal) in enumerate(stems, 1)]
        if not plan.stems_dir.exists():
            try:
                plan.stems_dir.mkdir()
            except OSError as err:
                raise _failure(err, plan.stems_dir) from err
            made = plan.stems_dir
    try:
        for target, signal, fmt, item_gain in items:
            _stage(files, target, signal, item_gain, session.sample_rate, fmt, bit_depth)
    except BaseException:
        files.discard()
        _remove_empty(made)
        raise
    result = ExportResult(tuple(t for t, _, _, _ in items), gain_db, peak, lufs, tuple(notes))
    return result, made


def _remove_empty(folder: Path | None) -> None:
    if folder is not None:
        with suppress(OSError):  # not empty after all: leave it
            folder.rmdir()


def _check_plan(mix_path, stems_dir, format, bit_depth, target_lufs) -> _Plan:
    mix = user_path(mix_path, ExportError, "export to") if mix_path is not None else None
    stems = user_path(stems_dir, ExportError, "export to") if stems_dir is not None else None
    if mix is None and stems is None:
        raise ExportError("nothing to export: name a mix file or a stems folder")
    mix_fmt = _format_for(mix, format) if mix is not None else ""
    stems_fmt = _format_for(Path(f"stems.{format or mix_fmt or 'wav'}"), format or mix_fmt or "wav")
    _check_options(bit_depth, target_lufs)
    if bit_depth == 32 and "flac" in (mix_fmt, stems_fmt if stems is not None else ""):
        raise ExportError("FLAC holds no 32-bit float samples: export 32-bit float as WAV, or FLAC at 16 or 24 bits")
    for target in (t for t in (mix, stems) if t is not None):
        try:
            if target is mix:
                _check_folder(mix.parent)
            else:
                _check_folder(stems if stems.exists() else stems.parent)
        except OSError as err:  # a name too long for the filesystem, say
            raise _failure(err, target) from None
    return _Plan(mix, mix_fmt, stems, stems_fmt)


def export_all(session: Session, *, mix_path: str | os.PathLike | None = None,
               stems_dir: str | os.PathLike | None = None, format: str | None = None, bit_depth: int = 24,
               target_lufs: float | None = None) -> ExportResult:
    """The mix and the stems as one all-or-nothing export (``paths``: the mix first, then stems)."""
    files = FileSet()
    result, made = stage_export(files, session, mix_path=mix_path, stems_dir=stems_dir, format=format,
                                bit_depth=bit_depth, target_lufs=target_lufs)
    try:
        _commit(files)
    except BaseException:
        _remove_empty(made)
        raise
    return result


def export_mix(session: Session, path: str | os.PathLike, *, format: str | None = None,
               bit_depth: int = 24, target_lufs: float | None = None) -> ExportResult:
    """Write the session's mix to ``path`` (format from the suffix unless given)."""
    return export_all(session, mix_path=path, format=format, bit_depth=bit_depth, target_lufs=target_lufs)


def export_stems(session: Session, folder: str | os.PathLike, *, format: str = "wav",
                 bit_depth: int = 24, target_lufs: float | None = None) -> ExportResult:
    """One file per audible track with a take, ``NN-role-name.ext``, each as long as the mix.

    ``folder`` is created if its parent exists (a stems folder beside the mix, say), and
    removed again if the export fails.

    The gain is the one :func:`export_mix` would apply with the same options, so the stems
    sum to the exported mix.
    """
    return export_all(session, stems_dir=folder, format=format, bit_depth=bit_depth, target_lufs=target_lufs)
