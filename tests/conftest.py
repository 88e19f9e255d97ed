"""Shared fixtures: every test gets private config/data dirs, never the user's."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pytest_configure(config: pytest.Config) -> None:
    """One numba cache for this run, filled once here before any child process starts.

    librosa's numba kernels cache their machine code on disk. The bad-input corpus runs the CLI
    in child processes two at a time; two children compiling the same kernel at once wrote a
    cache that later crashed every process loading it (a segfault in librosa's pitch tracker,
    seen in a fresh CI environment). Here the cache lives in a directory of this run, and the
    kernels the app uses are compiled once, in this process, before the children only read it.
    """
    if "NUMBA_CACHE_DIR" in os.environ or getattr(config, "workerinput", None) is not None:
        return
    import tempfile

    os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="resonant-numba-")
    import numpy as np

    from engine.analysis import analyze_audio
    from engine.locked import features_from_audio

    t = np.arange(4 * 22050) / 22050
    y = (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sign(np.sin(2 * np.pi * 2 * t))) / 2).astype(np.float32)
    analyze_audio(np.stack([y, y], axis=1), 22050)
    features_from_audio(y, 22050)


@pytest.fixture(autouse=True)
def _private_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    base = tmp_path_factory.mktemp("appdirs")
    monkeypatch.setenv("RESONANT_CONFIG_DIR", str(base / "config"))
    monkeypatch.setenv("RESONANT_DATA_DIR", str(base / "data"))


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Content hash and mtime of every file below ``folder``: equal snapshots = nothing changed."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            out[str(path.relative_to(folder))] = (hashlib.sha256(path.read_bytes()).hexdigest(),
                                                  path.stat().st_mtime_ns)
    return out
