"""The reference library's worker: analysis, indexing and search off the UI thread.

One ``Worker`` thread owns the ``Library`` (the embedded store is opened there, on first
use) and runs requests in turn; answers come back as this object's signals on the UI thread.
Indexing checks a cancel flag between files. A generation's mix is analysed and its text
embedded in a helper process (``library.helper_process``): on this process' threads that
work held the GIL long enough to freeze the window (see that module).
"""

from __future__ import annotations

import contextlib
import gc
import threading
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
from PySide6.QtCore import QObject, Signal

from resonant_studio.core.heap import freeze_long_lived
from resonant_studio.library.helper_process import HelperProcess
from resonant_studio.library.results import LibraryError, SearchFilters
from resonant_studio.qt.worker import Worker


class LibraryService(QObject):
    analysed = Signal(object)          # AudioAnalysis of a reference
    results = Signal(list)             # search results as plain dicts
    progress = Signal(float, str)      # indexing progress
    indexed = Signal(object)           # IndexReport
    takes_indexed = Signal(int)
    preview_ready = Signal(str, object)  # path, float32 [N, 2] at the requested rate
    failed = Signal(str)               # one sentence a person can act on

    def __init__(self, parent=None, *, library_factory: Callable[[], Any] | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("library")
        self._worker = Worker("library", self)
        self._cancel_index = threading.Event()
        self._library_factory = library_factory
        self._library = None
        self._helper: HelperProcess | None = None
        self._closed = False

    def start(self, *_: Any) -> None:
        """Kept for callers that start it: the worker runs from construction."""

    def _run(self, fn: Callable[[], None]) -> None:
        self._worker.submit(lambda _task: fn(), failed=lambda exc: self.failed.emit(_sentence(exc)))

    # --- requests (UI thread) -------------------------------------------------------------------
    def analyze(self, path: str, search: bool = True, top_k: int = 10, source: str | None = None) -> None:
        self._run(lambda: self._analyze(path, search, top_k, source))

    def search_text(self, text: str, top_k: int = 10, source: str | None = None) -> None:
        self._run(lambda: self.results.emit([r.to_dict() for r in self.library.search(
            text=text, top_k=top_k, filters=SearchFilters(source=source))]))

    def search_like(self, analysis: Any, top_k: int = 10, source: str | None = None) -> None:
        self._run(lambda: self._search_like(analysis, top_k, source))

    def index_folder(self, folder: str) -> None:
        self._cancel_index.clear()
        self._run(lambda: self._index(folder))

    def cancel_index(self) -> None:
        self._cancel_index.set()

    def index_generations(self, generations: Sequence[tuple[str, Any, int, str, str, list[str]]]) -> None:
        """(id, mix snapshot, sample rate, prompt, title, take ids) per generation: each is indexed
        once, as its mix (rendered here), with the takes it made attached."""
        items = list(generations)
        self._run(lambda: self._index_generations(items))

    def load_preview(self, path: str, sample_rate: int) -> None:
        self._run(lambda: self._load_preview(path, sample_rate))

    def shutdown(self) -> None:
        """Stop an indexing run at the next file, let the request in progress end (an analysis
        takes about a second), then close the store on its own thread."""
        if self._closed:
            return
        self._closed = True
        self._cancel_index.set()
        if self._helper is not None:  # a generation being analysed: stopped, not waited for
            self._helper.close(wait=False)
        self._worker.submit(lambda _task: self._close())
        self._worker.shutdown(timeout=60.0)

    def _close(self) -> None:
        if self._helper is not None:
            self._helper.close()
            self._helper = None
        if self._library is not None:
            self._library.close()
            self._library = None

    # --- the worker thread ------------------------------------------------------------------------
    @property
    def library(self):
        """The store, opened on this thread on first use (a LibraryError says why not)."""
        if self._library is None:
            with _long_lived_imports():
                if self._library_factory is not None:
                    self._library = self._library_factory()
                else:
                    from resonant_studio.library.store import Library

                    self._library = Library()
        return self._library

    def _analyze(self, path: str, search: bool, top_k: int, source: str | None) -> None:
        from engine.analysis import analyze_file

        analysis = analyze_file(path)
        self.analysed.emit(analysis)
        if search:
            self._search_like(analysis, top_k, source)

    def _search_like(self, analysis: Any, top_k: int, source: str | None) -> None:
        try:
            found = self.library.search(like=analysis, top_k=top_k, filters=SearchFilters(source=source))
        except LibraryError as exc:
            self.failed.emit(_sentence(exc))
            return
        self.results.emit([r.to_dict() for r in found])

    def _index(self, folder: str) -> None:
        report = self.library.index_folder(folder, progress=lambda f, m: self.progress.emit(f, m),
                                           cancel=self._cancel_index.is_set)
        self.indexed.emit(report)

    def _index_generations(self, items: list[tuple[str, Any, int, str, str, list[str]]]) -> None:
        import soundfile as sf

        from resonant_studio.core.settings import data_dir
        from resonant_studio.qt.mix_renderer import render

        folder = data_dir() / "takes"
        folder.mkdir(parents=True, exist_ok=True)
        library = self.library
        for gen_id, snapshot, rate, prompt, title, take_ids in items:
            audio = render(snapshot)
            path = folder / f"{gen_id}.flac"
            tmp = path.with_suffix(".tmp.flac")
            sf.write(str(tmp), np.asarray(audio, dtype=np.float32), rate, subtype="PCM_16")
            tmp.replace(path)
            del audio
            if library.uses_shared_embedder:  # the helper computes the same text vectors
                if self._helper is None:
                    self._helper = HelperProcess()
                try:
                    pid, sound, text, payload = self._helper.generation_point(
                        str(path), prompt=prompt, take_id=gen_id, title=title, stems=take_ids)
                except LibraryError:
                    if self._closed:  # quitting stopped the helper: nothing to report
                        return
                    raise
                library.upsert_vectors([pid], sound[None], text[None], [payload])
            else:  # an embedder handed in (tests, tools): only this process has it
                from engine.analysis import analyze_file

                library.add_take(analyze_file(str(path)), prompt=prompt, take_id=gen_id, title=title,
                                 path=str(path), stems=take_ids)
        self.takes_indexed.emit(len(items))

    def _load_preview(self, path: str, sample_rate: int) -> None:
        from engine.analysis.audio_io import read_audio

        loaded = read_audio(Path(path), max_seconds=600.0, sample_rate=sample_rate, channels=2)
        self.preview_ready.emit(path, np.ascontiguousarray(loaded.audio, dtype=np.float32))


_frozen_store_imports = False


@contextlib.contextmanager
def _long_lived_imports() -> Iterator[None]:
    """The store's first open in a process imports qdrant_client, pydantic and protobuf: about
    140,000 objects that live as long as the process. Like the window's start-up objects, they
    are moved out of the cyclic collector's sight (``gc.freeze()``) once they exist, with the
    collector paused while they are made; else every full collection after it walks them with
    the GIL held (measured: 190-250 ms, the window frozen, about 20 s after the first indexing)."""
    global _frozen_store_imports
    if _frozen_store_imports:
        yield
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        freeze_long_lived()
        _frozen_store_imports = True
        if enabled:
            gc.enable()


def _sentence(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.strerror} ({exc.filename})" if exc.filename else exc.strerror
    else:
        text = str(exc).strip() or exc.__class__.__name__
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
