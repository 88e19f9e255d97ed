"""The model manager: pull, verify, convert, list and remove checkpoints in the models folder.

A pull never leaves anything half-written where a model is looked for. It checks the disk
first, assembles the files in ``<models>/.partial/<name>/`` (each streamed to ``.incomplete``
and resumed from there after an interruption), checks every file against the hub's sha256
(a bad one is fetched again, once), has the engine read the config, writes the folder's
record and only then renames the folder into place; conversion to MLX follows at once.
Cancel keeps the partial folder for a resume.

States: ``missing`` (nothing), ``partial`` (a download to resume), ``ready``, ``broken``
(a file missing or not matching the hub, or the engine cannot read it). Progress is a
``PullProgress`` per ~0.1 s with bytes, speed and time left. No Qt here: the window runs
``pull`` on a worker thread and the CLI in the foreground.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from resonant_studio.core import model_check, model_hub
from resonant_studio.core.errors import AppError
from resonant_studio.core.model_catalog import KNOWN_MODELS, ModelInfo, model_folder, model_info, models_dir, partial_folder

SPACE_MARGIN = 64 << 20
GB = 1e9


@dataclass(frozen=True)
class PullProgress:
    name: str
    stage: str          # "checking" | "downloading" | "verifying" | "converting" | "done"
    done: int = 0       # bytes
    total: int = 0      # bytes (0: unknown)
    speed: float = 0.0  # bytes per second, over the last few seconds
    file: str = ""

    @property
    def fraction(self) -> float | None:
        return min(1.0, self.done / self.total) if self.total else None

    @property
    def seconds_left(self) -> float | None:
        return (self.total - self.done) / self.speed if self.total and self.speed > 0 else None

    def describe(self) -> str:
        """One line for a person: stage, file, bytes, speed, time left."""
        if self.stage in ("checking", "converting", "done"):
            return {"checking": "asking the hub for the file list", "converting": "converting to MLX (once)",
                    "done": "ready"}[self.stage]
        unit, scale = ("GB", GB) if self.total >= 0.1 * GB else ("MB", 1e6)
        words = [self.stage, self.file, f"{self.done / scale:.1f} of {self.total / scale:.1f} {unit}"]
        if self.speed > 0:
            words.append(f"{self.speed / 1e6:.1f} MB/s")
        left = self.seconds_left
        if left is not None:
            left = int(left)
            words.append(f"{left // 3600}:{left // 60 % 60:02d}:{left % 60:02d} left" if left >= 3600
                         else f"{left // 60}:{left % 60:02d} left")
        return " · ".join(w for w in words if w)


@dataclass(frozen=True)
class ModelState:
    info: ModelInfo
    state: str          # "missing" | "partial" | "ready" | "broken"
    path: Path
    size: int | None    # bytes, from the hub's record when known
    problem: str | None = None

    def to_dict(self) -> dict:
        return {"name": self.info.name, "tier": self.info.tier, "engine": self.info.engine,
                "licence": self.info.licence, "size_bytes": self.size, "state": self.state, "path": str(self.path),
                "problem": self.problem}


ProgressFn = Callable[[PullProgress], None]


class _Meter:
    """Bytes done, speed over a sliding window, and a rate limit on progress reports."""

    def __init__(self, report: ProgressFn | None, name: str, stage: str, total: int, done: int = 0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.report, self.name, self.stage, self.total, self.done = report, name, stage, total, done
        self.clock = clock
        self.samples: deque[tuple[float, int]] = deque([(clock(), done)])
        self.file = ""
        self._last = 0.0

    def add(self, n: int) -> None:
        self.done += n
        now = self.clock()
        self.samples.append((now, self.done))
        while len(self.samples) > 2 and now - self.samples[0][0] > 3.0:
            self.samples.popleft()
        if now - self._last >= 0.1:
            self.emit()

    def emit(self) -> None:
        self._last = self.clock()
        if self.report is None:
            return
        (t0, b0), (t1, b1) = self.samples[0], self.samples[-1]
        speed = (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0
        self.report(PullProgress(self.name, self.stage, self.done, self.total, max(0.0, speed), self.file))


def _free_bytes(path: Path) -> int:
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


class ModelStore:
    """The models folder. ``free_space(path) -> bytes`` and ``cache_dir`` can be handed in (tests)."""

    def __init__(self, root: Path | None = None, *, cache_dir: Path | None = None,
                 free_space: Callable[[Path], int] = _free_bytes) -> None:
        self._root = root
        self.cache_dir = cache_dir
        self.free_space = free_space

    @property
    def root(self) -> Path:
        return self._root if self._root is not None else models_dir()

    def folder(self, name: str) -> Path:
        return self.root / name if self._root is not None else model_folder(name)

    def partial(self, name: str) -> Path:
        return self.root / ".partial" / name if self._root is not None else partial_folder(name)

    # --- state --------------------------------------------------------------------------------
    def state(self, name: str) -> ModelState:
        info = model_info(name)
        folder, partial = self.folder(name), self.partial(name)
        if folder.is_dir():
            record = model_check.read_record(folder)
            size = sum(int(f["size"]) for f in record["files"].values()) if record else None
            problem = model_check.quick_problem(folder, record) or model_check.engine_problem(info.engine, folder)
            if record is None and problem is None and not any(folder.iterdir()):
                problem = "the folder is empty"
            return ModelState(info, "broken" if problem else "ready", folder, size or self._approx(info), problem)
        if partial.is_dir():
            record = model_check.read_record(partial)
            size = sum(int(f["size"]) for f in record["files"].values()) if record else None
            return ModelState(info, "partial", partial, size or self._approx(info),
                              f"{_bytes_in(partial) / GB:.2f} GB fetched: pull again to resume")
        return ModelState(info, "missing", folder, self._approx(info))

    @staticmethod
    def _approx(info: ModelInfo) -> int | None:
        return int(info.approx_size_gb * GB) if info.approx_size_gb else None

    def states(self) -> list[ModelState]:
        return [self.state(name) for name in KNOWN_MODELS]

    # --- pull ---------------------------------------------------------------------------------
    def pull(self, name: str, progress: ProgressFn | None = None,
             cancelled: Callable[[], bool] = lambda: False) -> ModelState:
        """Download, verify and convert ``name`` (and what it needs); raise ``AppError`` with one sentence."""
        info = model_info(name)
        for need in info.needs:
            if self.state(need).state != "ready":
                self.pull(need, progress, cancelled)
        current = self.state(name)
        if current.state == "ready":
            return current
        if progress:
            progress(PullProgress(name, "checking"))
        snap = model_hub.snapshot(info.hf_repo, info.revision, info.allow_patterns)
        folder, partial = self.folder(name), self.partial(name)
        with self._lock(name):
            self._check_space(info, snap, partial if partial.is_dir() else folder)
            partial.parent.mkdir(parents=True, exist_ok=True)
            if folder.is_dir():  # broken: repair it in the partial area, keeping the files that still match
                _merge_into(folder, partial)
            partial.mkdir(exist_ok=True)
            model_check.write_record(partial, name, snap, [], "download not finished")
            self._download(name, snap, partial, progress, cancelled)
            bad = self._verify_files(name, snap, partial, progress)
            if bad:  # fetched again once: a flipped bit in transit should not cost the whole model
                for path in bad:
                    (partial / path).unlink(missing_ok=True)
                self._download(name, snap, partial, progress, cancelled)
                bad = self._verify_files(name, snap, partial, progress)
            if bad:
                model_check.write_record(partial, name, snap, bad, None)
                raise AppError(f"{bad[0]} of {name} does not match the sha256 the hub reports, even fetched again: "
                               "the hub or mirror serves a damaged file, try again later")
            problem = model_check.engine_problem(info.engine, partial)
            model_check.write_record(partial, name, snap, [], problem)
            os.replace(partial, folder)
        if problem is None:
            if progress:
                progress(PullProgress(name, "converting", 0, 0, 0.0, folder.name))
            problem = model_check.convert(info.engine, folder, self.cache_dir)
            if problem:
                model_check.write_record(folder, name, snap, [], problem)
        if problem:
            raise AppError(f"{name} downloaded and matches the hub, but the {info.engine} engine cannot use it: {problem}")
        done = self.state(name)
        if progress:
            progress(PullProgress(name, "done", snap.size, snap.size))
        return done

    def _check_space(self, info: ModelInfo, snap: model_hub.RemoteSnapshot, where: Path) -> None:
        have = _bytes_in(where) if where.is_dir() else 0
        need = max(0, snap.size - have) + SPACE_MARGIN
        if info.engine == "musicgen":  # the MLX conversion is about as big as the weights
            need += sum(f.size for f in snap.files if f.path.endswith(".safetensors"))
        free = self.free_space(self.root)
        if free < need:
            raise AppError(f"{info.name} needs {need / GB:.2f} GB free in {self.root} but only {free / GB:.2f} GB is: "
                           "free some space, or set RESONANT_MODELS_DIR to a bigger disk")

    def _download(self, name: str, snap: model_hub.RemoteSnapshot, partial: Path, progress: ProgressFn | None,
                  cancelled: Callable[[], bool]) -> None:
        todo = [f for f in snap.files if not _complete(partial / f.path, f)]
        have = sum(_size(partial / (f.path + ".incomplete")) for f in todo)
        meter = _Meter(progress, name, "downloading", sum(f.size for f in todo), have)
        for remote in todo:
            meter.file = remote.path
            meter.emit()
            model_hub.fetch(snap.repo, snap.commit, remote, partial / remote.path, meter.add, cancelled)
        meter.emit()

    def _verify_files(self, name: str, snap: model_hub.RemoteSnapshot, folder: Path,
                      progress: ProgressFn | None) -> list[str]:
        meter = _Meter(progress, name, "verifying", snap.size)
        bad = []
        for remote in snap.files:
            meter.file = remote.path
            if not model_check.file_matches(folder / remote.path, remote, meter.add):
                bad.append(remote.path)
        meter.emit()
        return bad

    @contextlib.contextmanager
    def _lock(self, name: str) -> Iterator[None]:
        lock_dir = self.root / ".partial"
        lock_dir.mkdir(parents=True, exist_ok=True)
        with (lock_dir / f"{name}.lock").open("w") as handle:
            try:
                import fcntl

                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except ImportError:  # Windows: one download at a time is the app's own rule there
                pass
            except OSError:
                raise AppError(f"{name} is already being downloaded (by the app or another `resonant models pull`): "
                               "wait for it to finish") from None
            try:
                yield
            finally:
                with contextlib.suppress(OSError):
                    (lock_dir / f"{name}.lock").unlink()
                    lock_dir.rmdir()  # only when no other download is in there

    # --- verify and remove ------------------------------------------------------------------------
    def verify(self, name: str, progress: ProgressFn | None = None) -> ModelState:
        """Hash every file against the hub's record (fetched from the hub for a hand-made folder)."""
        info = model_info(name)
        folder = self.folder(name)
        if not folder.is_dir():
            return self.state(name)
        record = model_check.read_record(folder)
        snap = model_check.snapshot_from_record(record) if record and record.get("commit") else \
            model_hub.snapshot(info.hf_repo, info.revision, info.allow_patterns)
        bad = self._verify_files(name, snap, folder, progress)
        problem = None if bad else model_check.engine_problem(info.engine, folder)
        model_check.write_record(folder, name, snap, bad, problem)
        return self.state(name)

    def remove(self, name: str) -> list[Path]:
        """Delete the model's folder, its partial download and its cached conversion; returns what went."""
        info = model_info(name)
        gone = []
        folder, partial = self.folder(name), self.partial(name)
        for cached in model_check.converted_files(info.engine, folder, self.cache_dir) if folder.is_dir() else []:
            cached.unlink(missing_ok=True)
            gone.append(cached)
        for path in (folder, partial):
            if path.is_dir():
                shutil.rmtree(path)
                gone.append(path)
        return gone


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _bytes_in(folder: Path) -> int:
    return sum(_size(p) for p in folder.rglob("*") if p.is_file())


def _complete(path: Path, remote: model_hub.RemoteFile) -> bool:
    return _size(path) == remote.size and path.is_file()


def _merge_into(src: Path, dst: Path) -> None:
    """Move ``src``'s files under ``dst`` (files already in ``dst`` win), then drop ``src``."""
    dst.mkdir(parents=True, exist_ok=True)
    for path in sorted(src.rglob("*")):
        if path.is_file():
            target = dst / path.relative_to(src)
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, target)
    shutil.rmtree(src)
