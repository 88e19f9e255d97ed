"""One resident MusicGen model at a time: the engine thread asks, this keeps or swaps.

Each quality tier names its own checkpoint (small for preview, medium/large for render), and
keeping every tier loaded held ~23 GB of fp32 weights. ``ResidentModels`` keeps the pipelines
whose weights fit ``budget_bytes`` (by default: one), releases the least recently used ones
before loading another, and reports loading progress.

The app's engine thread owns one instance for its whole life and builds each request's
backend through it: ``MusicGenBackend(model_dir, dtype=..., models=resident)``; the backend
then costs nothing to build when its model is already resident. Call ``release()`` when the
user switches to the composer engine or the app is idle for long.
"""

from __future__ import annotations

import gc
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Callable

import mlx.core as mx
from mlx.utils import tree_flatten

from engine.musicgen.checkpoint import open_folder
from engine.musicgen.pipeline import MusicGenPipeline

ProgressCallback = Callable[[float, str], None]


def model_bytes(pipe: MusicGenPipeline) -> int:
    return sum(v.nbytes for _, v in tree_flatten(pipe.model.parameters()))


class ResidentModels:
    """Pipelines by ``(folder, dtype, options)``; at most ``budget_bytes`` of weights (or one model) kept."""

    def __init__(self, budget_bytes: int | None = None, cache_dir: str | os.PathLike | None = None):
        self.budget_bytes = budget_bytes
        self.cache_dir = cache_dir
        self._pipes: "OrderedDict[tuple, MusicGenPipeline]" = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(model_dir, dtype: str, options: dict) -> tuple:
        return (str(Path(model_dir).expanduser().resolve()), dtype, tuple(sorted(options.items())))

    def __contains__(self, item) -> bool:
        model_dir, dtype = item
        return any(k[0] == str(Path(model_dir).expanduser().resolve()) and k[1] == dtype for k in self._pipes)

    @property
    def resident(self) -> list[str]:
        return [f"{Path(k[0]).name} ({k[1]})" for k in self._pipes]

    @property
    def resident_bytes(self) -> int:
        return sum(model_bytes(p) for p in self._pipes.values())

    def get(self, model_dir: str | os.PathLike, dtype: str = "float32", progress: ProgressCallback | None = None,
            **options) -> MusicGenPipeline:
        """The pipeline for ``model_dir`` in ``dtype``, loading it (and releasing others) if needed."""
        key = self._key(model_dir, dtype, options)
        with self._lock:
            pipe = self._pipes.get(key)
            if pipe is not None:
                self._pipes.move_to_end(key)
                if progress is not None:
                    progress(1.0, f"{Path(model_dir).name} already loaded")
                return pipe
            if self.budget_bytes is None:
                open_folder(model_dir)  # a broken folder is refused before the resident model is let go
                self._release(keep=0)  # one model: free the old weights before reading the new ones
            pipe = MusicGenPipeline.load(model_dir, dtype=dtype, cache_dir=self.cache_dir, progress=progress, **options)
            self._pipes[key] = pipe
            if self.budget_bytes is not None:
                while len(self._pipes) > 1 and self.resident_bytes > self.budget_bytes:
                    self._pipes.popitem(last=False)
                self._collect()
            return pipe

    def release(self) -> None:
        """Drop every resident model and return MLX's cached buffers to the system."""
        with self._lock:
            self._release(keep=0)

    def _release(self, keep: int) -> None:
        while len(self._pipes) > keep:
            self._pipes.popitem(last=False)
        self._collect()

    @staticmethod
    def _collect() -> None:
        gc.collect()
        mx.clear_cache()
