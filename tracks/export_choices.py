"""What to export: plain data shared by the Export dialog, the CLI and the export orchestrator."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ExportChoices:
    folder: Path
    name: str
    mix: bool = True
    stems: bool = True
    midi: bool = False
    format: str = "wav"          # "wav" | "flac"
    bit_depth: int = 24          # 16 | 24
    target_lufs: float | None = None
