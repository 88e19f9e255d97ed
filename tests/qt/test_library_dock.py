"""The "Like This Song" dock: panel + library worker thread + session, end to end."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import soundfile as sf
from PySide6.QtWidgets import QMainWindow

from resonant_studio.generation import studio
from resonant_studio.qt.library_dock import install_library_dock
from resonant_studio.qt.menus import ActionRegistry
from resonant_studio.qt.notifier import Notifier
from widgets.prompt_bar import PromptBar
from synth_music import render

SR = 22050
TIMEOUT = 120_000


class BareWindow(QMainWindow):
    """What the dock is handed, without the rest of the studio window."""

    def __init__(self) -> None:
        super().__init__()
        self.session = studio.new_session("upbeat house in C major at 124 bpm", bars=4)
        self.controller = SimpleNamespace(reference=None, busy=False, session=self.session, player=None)
        self.notifier = Notifier(self)
        self.prompt_bar = PromptBar(["composer"], self)
        self.actions = ActionRegistry(self)


@pytest.fixture()
def window(qtbot):
    w = BareWindow()
    qtbot.addWidget(w)
    w.dock = install_library_dock(w, w.controller, w.notifier, w.prompt_bar, w.actions)
    yield w
    w.dock.shutdown()


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    music = tmp_path / "music"
    music.mkdir()
    for name, (tempo, tonic, mode, timbre) in {"ballad": (90, 2, "minor", "organ"), "chip": (140, 7, "major", "square"),
                                               "drive": (115, 4, "minor", "saw")}.items():
        sf.write(str(music / f"{name}.wav"), render(tempo, tonic, mode, seconds=16, sr=SR, timbre=timbre)[: 8 * SR], SR)
    return music


def test_index_then_drop_a_reference_then_use_it(qtbot, window, folder: Path, tmp_path: Path) -> None:
    panel = window.dock.panel
    with qtbot.waitSignal(window.dock.service.indexed, timeout=TIMEOUT) as blocker:
        panel.request_index_folder(str(folder))
    assert blocker.args[0].added == 3
    qtbot.waitUntil(lambda: panel.index_button.isEnabled(), timeout=5000)
    assert "3 added" in panel.status_label.text()

    query = tmp_path / "ballad later.wav"
    sf.write(str(query), render(90, 2, "minor", seconds=16, sr=SR, timbre="organ")[8 * SR :], SR)
    panel.drop_zone.file_dropped.emit(str(query))
    qtbot.waitUntil(lambda: panel.results.topLevelItemCount() == 3, timeout=TIMEOUT)
    assert panel.key_label.text() == "D minor" and panel.use_button.isEnabled()
    assert Path(panel.result_paths()[0]).stem == "ballad"

    session = window.session
    panel.use_button.click()
    assert session.key_name == "D minor" and session.tempo == pytest.approx(90, rel=0.04)
    assert window.dock.steering is not None and window.dock.steering.reference.path == str(query.resolve())
    assert "90 bpm" in session.prompt
    assert window.controller.reference is window.dock.steering.reference  # every later request carries it

    first = panel.result_paths()[0]   # double-click a result: it becomes the reference
    panel.results.itemDoubleClicked.emit(panel.results.topLevelItem(0), 1)
    qtbot.waitUntil(lambda: window.dock.steering.reference.path == first, timeout=TIMEOUT)
    assert window.controller.reference is window.dock.steering.reference


def test_a_bad_file_shows_a_sentence_and_the_thread_lives_on(qtbot, window, tmp_path: Path) -> None:
    panel = window.dock.panel
    bad = tmp_path / "notes.mp3"
    bad.write_text("not audio")
    with qtbot.waitSignal(window.dock.service.failed, timeout=TIMEOUT) as blocker:
        panel.drop_zone.file_dropped.emit(str(bad))
    assert "not audio" in blocker.args[0] and blocker.args[0].endswith(".")
    assert "not audio" in panel.status_label.text()
    with qtbot.waitSignal(window.dock.service.results, timeout=TIMEOUT):
        panel.search_text_requested.emit("anything")


def test_generated_takes_are_indexed_when_generation_is_quiet(qtbot, window, monkeypatch) -> None:
    import numpy as np

    from resonant_studio.qt import library_dock
    from resonant_studio.core.settings import data_dir
    from tracks import Take

    window.dock._take_timer.setInterval(50)
    session = window.session
    n = session.num_samples
    drone = render(100, 9, "minor", seconds=n / 44100 + 1, sr=44100)[:n]
    takes = [Take(audio=np.ascontiguousarray(drone, dtype=np.float32), prompt="dark ambient drone for sci-fi"),
             Take(audio=np.zeros((n, 2), dtype=np.float32), prompt="dark ambient drone for sci-fi")]
    for track, take in zip(session.tracks, takes):  # as a Generate applies them, before it says so
        track.add_take(take)
    window.dock.index_takes(takes)
    with qtbot.waitSignal(window.dock.service.takes_indexed, timeout=TIMEOUT) as blocker:
        pass
    assert blocker.args == [1]  # one generation, one library item: its mix, not one item per stem
    assert (data_dir() / "takes" / f"{takes[0].id}.flac").is_file()
    panel = window.dock.panel
    with qtbot.waitSignal(window.dock.service.results, timeout=TIMEOUT) as found:
        panel.search_text_requested.emit("sci-fi atmosphere")
    assert found.args[0] == []  # Like This Song searches your music by default, not the app's takes
    with qtbot.waitSignal(window.dock.service.results, timeout=TIMEOUT) as found:
        panel.source_box.setCurrentIndex(panel.source_box.findData("generated"))  # the last search again
    assert found.args[0][0]["source"] == "generated" and found.args[0][0]["prompt"].startswith("dark ambient")
    assert panel.results.topLevelItem(0).text(2) == "generated"
    library = window.dock.service.library
    (payload,) = library.payloads(["stems"]).values()
    assert payload["stems"] == [t.id for t in takes]
    assert library_dock.TAKE_INDEX_DELAY_MS >= 1000
