"""Settings: written atomically; a write that fails keeps the old file and leaves no litter."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from resonant_studio.core.settings import Settings


def test_settings_round_trip(tmp_path: Path) -> None:
    s = Settings(tmp_path / "cfg" / "settings.json")
    s.set("style", "dark_techno")
    assert Settings(tmp_path / "cfg" / "settings.json").get("style") == "dark_techno"


def test_a_failed_write_keeps_the_old_file_and_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "settings.json"
    s = Settings(path)
    s.set("style", "ambient_lofi")
    before = path.read_bytes()

    def refuse(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    s.set("style", "dark_techno")  # settings are not worth an error: no exception
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.json"]


def test_a_corrupt_settings_file_starts_empty(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("{ not json")
    assert Settings(path).get("style") is None
