"""Fixtures for the window tests: a real MainWindow, the real engine thread, the composer."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from resonant_studio.qt.main_window import MainWindow  # noqa: E402
from resonant_studio.core.playback import Player  # noqa: E402
from resonant_studio.core.settings import Settings  # noqa: E402

PROMPT = "dusty lo-fi hip hop in A minor, 84 bpm, warm bass"
GENERATION_TIMEOUT_MS = 60_000


def silent_player(sample_rate: int) -> Player:
    """A player with no device: the tests pull audio through its callback, as PortAudio would."""
    return Player(sample_rate, open_device=False)


def make_window(qtbot, settings_path) -> MainWindow:
    window = MainWindow(settings=Settings(settings_path), player_factory=silent_player)
    window.ask_save_changes = lambda: QMessageBox.StandardButton.Discard
    window.confirm_overwrite = lambda paths: True
    qtbot.addWidget(window)
    window.resize(1280, 720)
    window.show()
    qtbot.waitExposed(window)
    return window


@pytest.fixture
def window(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path / "settings.json")
    yield w
    w.shutdown()


def settled(window: MainWindow) -> bool:
    """The mix has reached the player and every lane has drawn its take."""
    return not window.controller.mix_pending and not window.timeline.building and not any(
        lane.waveform.envelope_pending for lane in window.timeline.lanes.values())


def generate(qtbot, window: MainWindow, prompt: str = PROMPT, bars: int = 4) -> None:
    """Type a prompt, click Generate, wait for the takes to land."""
    window.prompt_bar.prompt_edit.setText(prompt)
    window.prompt_bar.bars_box.setValue(bars)
    with qtbot.waitSignal(window.controller.generation_applied, timeout=GENERATION_TIMEOUT_MS):
        window.prompt_bar.generate_button.click()
    qtbot.waitUntil(lambda: settled(window))


def regenerate(qtbot, window: MainWindow, role: str) -> None:
    lane = window.timeline.lane(window.session.track(role))
    with qtbot.waitSignal(window.controller.generation_applied, timeout=GENERATION_TIMEOUT_MS):
        lane.header.regenerate_button.click()
    qtbot.waitUntil(lambda: settled(window))


def heard(window: MainWindow, frames: int = 4096, start: int = 0) -> np.ndarray:
    """What the sound card would receive: the player's callback, pulled from ``start``."""
    player = window.player
    player.seek(start)
    player.play()
    out = np.zeros((frames, 2), dtype=np.float32)
    player.callback(out, frames, None, None)
    player.pause()
    return out
