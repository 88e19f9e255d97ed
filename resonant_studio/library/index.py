"""Indexing a folder into the library: walk, skip unchanged, analyse, batch, prune."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

from engine.analysis import AnalysisError, AudioAnalysis, style_words
from resonant_studio.library.points import payload_for, point_id, text_for
from resonant_studio.library.results import LibraryError



class IndexTarget(Protocol):
    """What indexing needs of a store (``library.store.Library`` is one)."""

    def payloads(self, keys: list[str]) -> dict[str, dict[str, Any]]: ...
    def upsert(self, batch: list) -> None: ...
    def delete(self, ids: list[str]) -> None: ...

AUDIO_SUFFIXES = {".wav", ".wave", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff", ".aifc"}


@dataclass
class IndexReport:
    added: int = 0
    updated: int = 0
    skipped: int = 0
    """Unchanged since the last index (same size and modification time)."""
    removed: int = 0
    """In the library under this folder but no longer on disk."""
    failed: list[tuple[str, str]] = field(default_factory=list)
    """(path, why) for files that could not be analysed or folders that could not be read."""
    cancelled: bool = False
    seconds: float = 0.0

    @property
    def indexed(self) -> int:
        return self.added + self.updated

    def summary(self) -> str:
        text = (f"{self.added} added, {self.updated} updated, {self.skipped} unchanged, "
                f"{self.removed} removed, {len(self.failed)} could not be read")
        return text + (" (cancelled)" if self.cancelled else "")


def audio_files(folder: Path, failed: list[tuple[str, str]]) -> list[Path]:
    """Audio files below ``folder`` (sorted); unreadable sub-folders go to ``failed``."""
    found: list[Path] = []

    def on_error(exc: OSError) -> None:
        failed.append((str(exc.filename or folder), f"folder cannot be read: {exc.strerror or exc}"))

    for root, dirs, files in os.walk(folder, onerror=on_error):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and Path(name).suffix.lower() in AUDIO_SUFFIXES:
                found.append(Path(root) / name)
    return found


def title_and_tags(path: Path, folder: Path, analysis: AudioAnalysis) -> tuple[str, list[str]]:
    """The file name as a title; the folder names below the indexed folder and the
    analysis' style words as tags (a folder 'ambient/space' gives 'ambient', 'space')."""
    title = re.sub(r"[_\-]+", " ", path.stem).strip() or path.name
    try:
        rel_parts = path.parent.relative_to(folder).parts
    except ValueError:
        rel_parts = ()
    folder_tags = [re.sub(r"[_\-]+", " ", p).strip().lower() for p in rel_parts if p]
    return title, list(dict.fromkeys([*folder_tags, *style_words(analysis)]))


def index_folder(library: IndexTarget, folder, progress: Callable[[float, str], None] | None = None,
                 cancel: Callable[[], bool] | None = None, batch_size: int = 32,
                 analyze: Callable[[str], AudioAnalysis] | None = None) -> IndexReport:

    import time

    started = time.perf_counter()
    root = Path(folder).expanduser()
    if not root.exists():
        raise LibraryError(f"{root} does not exist: choose a folder with your music")
    if not root.is_dir():
        raise LibraryError(f"{root} is a file, not a folder: use `resonant analyze` for one file")
    if not os.access(root, os.R_OK | os.X_OK):
        raise LibraryError(f"the folder {root} cannot be read: permission denied")
    root = root.resolve()
    report = IndexReport()
    files = audio_files(root, report.failed)

    known = {pid: p for pid, p in library.payloads(["path", "mtime", "size", "source"]).items()
             if p.get("source") == "imported"}
    batch: list[tuple[str, object, str, dict]] = []

    def flush() -> None:
        library.upsert(batch)
        batch.clear()

    total = len(files)
    for i, path in enumerate(files):
        if cancel is not None and cancel():
            report.cancelled = True
            break
        if progress is not None:
            progress(i / max(total, 1), f"{path.name} ({i + 1} of {total})")
        resolved = str(path.resolve())
        pid = point_id(f"file:{resolved}")
        try:
            st = path.stat()
        except OSError as exc:
            report.failed.append((resolved, exc.strerror or str(exc)))
            continue
        old = known.get(pid)
        if old is not None and old.get("mtime") == st.st_mtime and old.get("size") == st.st_size:
            report.skipped += 1
            continue
        try:
            analysis = analyze(resolved)
        except AnalysisError as exc:
            report.failed.append((resolved, str(exc)))
            continue
        except (MemoryError, ValueError, RuntimeError) as exc:  # a decoder or feature that gave up
            report.failed.append((resolved, f"analysis failed: {exc}"))
            continue
        title, tags = title_and_tags(path, root, analysis)
        payload = payload_for(analysis, source="imported", title=title, tags=tags, path=resolved,
                              mtime=st.st_mtime, size=st.st_size)
        batch.append((pid, analysis.sound_vector, text_for(payload), payload))
        if old is None:
            report.added += 1
        else:
            report.updated += 1
        if len(batch) >= batch_size:
            flush()
    flush()

    if not report.cancelled:
        prefix = str(root) + os.sep
        gone = [pid for pid, p in known.items()
                if str(p.get("path", "")).startswith(prefix) and not os.path.exists(p["path"])]
        library.delete(gone)
        report.removed = len(gone)
    if progress is not None:
        progress(1.0, report.summary())
    report.seconds = time.perf_counter() - started
    return report
