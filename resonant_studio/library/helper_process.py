"""Analysing generations in a helper process, so indexing one never holds the window's GIL.

Indexing a generation needs its analysis (librosa) and its text vector (MiniLM). Done on a
thread of the window's process, their first use loaded numba's cached functions, scipy and
the embedding model there: imports and bitcode loading that hold the GIL froze the window
100-225 ms at a time, about 3 s after the first generation (when its mix was indexed), and
the objects they left made the next full garbage collections 75-130 ms walks. In a process
of its own, the same work costs the window nothing but the wait of the thread that asked.

The process starts on first use (``spawn``: never a fork of a process that runs Qt and
threads) and stays for the next generation; ``close`` ends it (for good: quitting, with
``wait=False``, stops an analysis in progress rather than waiting for it). Only a file path and a few
words go in; two vectors and a payload come back.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import CancelledError, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Sequence

import numpy as np

from resonant_studio.core.settings import data_dir
from resonant_studio.library.points import generation_point
from resonant_studio.library.results import LibraryError

LibraryPoint = tuple[str, np.ndarray, np.ndarray, dict]
"""(point id, sound vector, text vector, payload): what ``Library.upsert_vectors`` writes."""


def analyse_generation(path: str, prompt: str, take_id: str, title: str, stems: Sequence[str]) -> LibraryPoint:
    """The library point of a generation's mix file (runs in the helper process)."""
    from engine.analysis import analyze_file
    from engine.embedding import shared_text_embedder

    analysis = analyze_file(path)
    pid, sound, text, payload = generation_point(analysis, prompt=prompt, take_id=take_id, title=title, path=path,
                                                 stems=stems)
    vector = np.asarray(shared_text_embedder().embed([text])[0], np.float32)
    return pid, np.asarray(sound, np.float32), vector, payload


def helper_cache_dir() -> Path:
    return data_dir() / "numba-library-helper"


def own_numba_cache(folder: str) -> None:
    """The helper's first step, before numba is imported there: its own cache of librosa's
    compiled kernels, unless the environment names one. The window's process compiles and
    caches the same kernels (a dropped reference, an import); two processes writing one cache
    at once once left it corrupt, and every later process loading it crashed in librosa."""
    if "NUMBA_CACHE_DIR" not in os.environ:
        os.environ["NUMBA_CACHE_DIR"] = folder


class HelperProcess:
    """One helper process, started on first use; calls wait for their answer (any thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._closed = False

    def generation_point(self, path: str, *, prompt: str, take_id: str, title: str,
                         stems: Sequence[str] = ()) -> LibraryPoint:
        with self._lock:
            if self._closed:
                raise LibraryError("the library is closing: the generation was not indexed")
            if self._pool is None:
                self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=own_numba_cache, initargs=(str(helper_cache_dir()),))
            pool = self._pool
        try:
            return pool.submit(analyse_generation, path, prompt, take_id, title, list(stems)).result()
        except (BrokenProcessPool, CancelledError, RuntimeError) as exc:  # RuntimeError: submitted after shutdown
            with self._lock:
                if self._pool is pool:
                    self._pool = None  # the next call starts a fresh one
                closed = self._closed
            if closed:
                raise LibraryError("the library is closing: the generation was not indexed") from None
            raise LibraryError("the library's analysis process stopped unexpectedly: generate again to retry") from exc

    @property
    def running(self) -> bool:
        return self._pool is not None

    def processes(self) -> list:
        """The helper's live processes (none before first use or after ``close``)."""
        pool = self._pool
        return [p for p in (getattr(pool, "_processes", None) or {}).values() if p.is_alive()]

    def close(self, wait: bool = True) -> None:
        """End the process; ``wait=False`` (quitting) stops an analysis in progress, and the
        call waiting for it raises ``LibraryError``."""
        with self._lock:
            pool, self._pool = self._pool, None
            self._closed = True
        if pool is None:
            return
        if not wait:
            # concurrent.futures has no public way to stop a running call before Python 3.14
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                process.terminate()
        pool.shutdown(wait=wait, cancel_futures=True)
