"""The studio's settings: a small JSON file in the user config dir (platformdirs).

Holds the recent projects, the last export choices and the engine picked last. A missing
or unreadable file gives the defaults; it is written atomically (temp file + rename).
``RESONANT_CONFIG_DIR`` / ``RESONANT_DATA_DIR`` override the folders (tests use them).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

import platformdirs

from tracks.atomic import write_bytes_atomic

APP_NAME = "resonant-studio"
MAX_RECENT = 10


def config_dir() -> Path:
    override = os.environ.get("RESONANT_CONFIG_DIR")
    return Path(override) if override else Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def data_dir() -> Path:
    override = os.environ.get("RESONANT_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def autosave_dir() -> Path:
    """Where an untitled session is autosaved (a saved project autosaves beside itself)."""
    return data_dir() / "autosave"


class Settings:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or config_dir() / "settings.json"
        self._data: dict[str, Any] = {}
        try:
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict):
                self._data = loaded
        except (OSError, ValueError):
            self._data = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self._data[key] = value
        self.save()

    def save(self) -> None:
        """Write atomically; a settings file that cannot be written is not worth an error."""
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(self.path, json.dumps(self._data, indent=2).encode("utf-8"))

    # --- recent projects ---------------------------------------------------------------------
    def recent_projects(self) -> list[str]:
        """Most recent first; folders that no longer exist are left out."""
        items = self._data.get("recent_projects", [])
        return [p for p in items if isinstance(p, str) and Path(p).exists()]

    def add_recent_project(self, folder: str | os.PathLike) -> None:
        path = str(Path(folder).resolve())
        items = [p for p in self._data.get("recent_projects", []) if p != path]
        self.set("recent_projects", [path] + items[: MAX_RECENT - 1])

    def clear_recent_projects(self) -> None:
        self.set("recent_projects", [])
