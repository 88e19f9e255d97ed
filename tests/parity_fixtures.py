"""The stored-reference fixtures both parity suites read (MusicGen and MusicGen-Stem)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

import numpy as np


def fixture_folders(env: str, pattern: str, subdir: str) -> list[Path]:
    """Folders matching ``pattern`` that hold a ``subdir`` of references, under $env or tests/fixtures."""
    root = Path(os.environ.get(env) or Path(__file__).parent / "fixtures")
    return sorted(p for p in root.glob(pattern) if (p / subdir).is_dir())


def load_case(folder: Path, subdir: str, load: Callable[[Path], object]):
    """(pipeline, settings.json, ref(name) -> the stored array) for one fixture folder."""
    def ref(name: str) -> np.ndarray:
        return np.load(folder / subdir / f"{name}.npy")

    return load(folder), json.loads((folder / subdir / "settings.json").read_text()), ref
