"""Export through the menu, dropped files, projects, autosave recovery, and errors that stay messages."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from engine.backends import register_backend
from engine.errors import BackendError, GenerationCancelled
from tests.qt.conftest import generate, make_window
from tracks import project

ROOT = Path(__file__).resolve().parents[2]


def menu_action(window, menu: str, text: str):
    for action in window.actions.menus[menu].actions():
        if action.text().replace("&", "") == text:
            return action
    raise AssertionError(f"no {text!r} in the {menu} menu")


def drop_files(window, paths: list[Path]) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    target = window.timeline
    pos = QPoint(target.width() // 2, target.height() // 2)
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted()
    drop = QDropEvent(pos.toPointF(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, drop)


def test_export_through_the_menu_writes_mix_and_stems(qtbot, window, tmp_path) -> None:
    generate(qtbot, window)
    menu_action(window, "file", "Export…").trigger()
    dialog = window.export_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.folder_edit.setText(str(tmp_path))
    dialog.name_edit.setText("sketch")
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("flac"))
    dialog.depth_box.setCurrentIndex(dialog.depth_box.findData(16))
    dialog.midi_check.setChecked(True)
    with qtbot.waitSignal(window.exported, timeout=60_000):  # written on the files worker
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()

    n = window.session.num_samples
    mix, rate = sf.read(tmp_path / "sketch.flac")
    assert rate == 44100 and mix.shape == (n, 2) and np.max(np.abs(mix)) > 0.01
    assert sf.info(str(tmp_path / "sketch.flac")).subtype == "PCM_16"
    stems = sorted((tmp_path / "sketch-stems").iterdir())
    assert [p.name.split("-")[1] for p in stems] == ["drums", "bass", "harmony", "melody"]
    total = sum(sf.read(p)[0] for p in stems)
    np.testing.assert_allclose(total, mix, atol=4 * 2.0 ** -15 * len(stems))
    assert (tmp_path / "sketch.mid").stat().st_size > 0
    assert window.notifier.last("info").text.startswith("Exported 6 files to")


def test_export_to_an_unwritable_folder_is_a_message(qtbot, window, tmp_path) -> None:
    generate(qtbot, window)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    dialog = window.show_export_dialog()
    dialog.folder_edit.setText(str(blocker / "inside"))
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    qtbot.waitUntil(lambda: window.notifier.last("error") is not None, timeout=60_000)
    error = window.notifier.last("error")
    assert error is not None and error.text.startswith("Export failed: cannot export to")
    assert window.banner.isVisible() and "cannot export" in window.banner.text()
    assert not (blocker / "inside").exists()
    generate(qtbot, window, bars=2)  # the app keeps working
    assert all(len(t.takes) == 2 for t in window.session.tracks)


def test_a_dropped_wav_becomes_a_locked_track_at_the_session_rate(qtbot, window, tmp_path) -> None:
    generate(qtbot, window)
    t = np.arange(22050) / 22050.0
    path = tmp_path / "guitar loop.wav"
    sf.write(path, 0.5 * np.sin(2 * np.pi * 220 * t), 22050)  # mono, half the session rate
    with qtbot.waitSignal(window.controller.imported, timeout=60_000):  # listened to off the UI thread
        drop_files(window, [path])

    s = window.session
    assert len(s.tracks) == 5
    track = s.tracks[-1]
    assert track.name == "guitar loop" and track.locked
    original = track.takes[0]
    assert original.audio.shape == (44100, 2) and original.params.get("original")  # as it was, at the session rate
    assert abs(float(np.max(np.abs(original.audio))) - 0.5) < 0.01
    assert track.active_take.num_samples >= s.num_samples  # the fitted take covers the piece
    lane = window.timeline.lane(track)
    assert lane.header.lock_button.isChecked() and lane.waveform.shows_lock()
    window.actions.undo.trigger()  # the import is one undoable step
    assert len(s.tracks) == 4


def test_a_corrupt_file_dropped_in_is_a_message(qtbot, window, tmp_path) -> None:
    generate(qtbot, window)
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00garbage that is not audio" * 10)
    drop_files(window, [bad])
    qtbot.waitUntil(lambda: window.notifier.last("error") is not None, timeout=60_000)
    assert len(window.session.tracks) == 4
    error = window.notifier.last("error")
    assert error is not None and "broken.wav" in error.text and "not audio this app can read" in error.text
    generate(qtbot, window, bars=2)
    assert all(len(t.takes) == 2 for t in window.session.tracks)


def test_an_engine_error_is_a_message_and_the_window_keeps_working(qtbot, window) -> None:
    class Broken:
        name = "broken"

        def generate(self, request, progress=None, cancel=None):
            raise BackendError("the broken engine has no model: point Settings at a model folder")

    register_backend("broken-for-test", lambda **_: Broken())
    window.prompt_bar.engine_box.addItem("broken-for-test")
    window.prompt_bar.set_engine("broken-for-test")
    window.prompt_bar.prompt_edit.setText("ambient drone")
    with qtbot.waitSignal(window.controller.busy_changed, check_params_cb=lambda busy: not busy, timeout=30_000):
        window.prompt_bar.generate_button.click()
    assert "no model" in window.notifier.last("error").text
    assert window.prompt_bar.generate_button.isEnabled()
    window.prompt_bar.set_engine("composer")
    generate(qtbot, window)
    assert all(len(t.takes) == 1 for t in window.session.tracks)


def test_cancel_stops_a_generation_and_changes_nothing(qtbot, window) -> None:
    class Slow:
        name = "slow"

        def generate(self, request, progress=None, cancel=None):
            for i in range(10_000):
                progress(i / 10_000, "thinking")
                if cancel():
                    raise GenerationCancelled()
                time.sleep(0.002)  # a slow model's step, on the engine thread
            raise AssertionError("never cancelled")

    register_backend("slow-for-test", lambda **_: Slow())
    window.prompt_bar.engine_box.addItem("slow-for-test")
    window.prompt_bar.set_engine("slow-for-test")
    window.prompt_bar.prompt_edit.setText("ambient drone")
    window.prompt_bar.generate_button.click()
    qtbot.waitUntil(lambda: window.generation_status.bar.value() > 0, timeout=10_000)
    assert window.generation_status.isVisible()
    qtbot.waitUntil(lambda: not window.timeline.building)
    assert not any(lane.header.regenerate_button.isEnabled() for lane in window.timeline.lanes.values())
    with qtbot.waitSignal(window.controller.busy_changed, timeout=10_000):
        window.generation_status.cancel_button.click()
    assert "cancelled" in window.notifier.last("info").text
    assert all(not t.takes for t in window.session.tracks)
    assert not window.generation_status.isVisible()
    assert all(lane.header.regenerate_button.isEnabled() for lane in window.timeline.lanes.values())


def test_save_open_and_recent_projects(qtbot, window, tmp_path) -> None:
    generate(qtbot, window)
    window.session.track("drums").locked = True
    with qtbot.waitSignal(window.projects.saved, timeout=60_000):  # written on the files worker
        assert window.save_as(str(tmp_path / "song"))
    folder = tmp_path / "song.resonant"
    assert (folder / "session.json").is_file() and not window.controller.dirty
    assert window.projects.recent() == [str(folder.resolve())]
    assert window.actions.recent_menu.actions()[0].text() == "song.resonant"
    audio = {t.name: t.active_take.audio.copy() for t in window.session.tracks}

    window.new_session()
    assert window.session is None and not window.timeline.lanes
    with qtbot.waitSignal(window.projects.opened, timeout=60_000):
        window.actions.recent_menu.actions()[0].trigger()
    s = window.session
    assert [t.name for t in s.tracks] == list(audio) and s.track("drums").locked
    for t in s.tracks:
        np.testing.assert_allclose(t.active_take.audio, audio[t.name], atol=2.0 ** -22)
    assert window.windowTitle().startswith("song.resonant")


def test_opening_a_damaged_project_is_a_message(qtbot, window, tmp_path) -> None:
    folder = tmp_path / "bad.resonant"
    folder.mkdir()
    (folder / "session.json").write_text("{ not json")
    with qtbot.waitSignal(window.projects.failed, timeout=60_000):
        window.open_project(str(folder))
    assert window.session is None
    assert window.notifier.last("error") is not None


def test_autosaved_work_is_offered_back_after_a_crash(qtbot, tmp_path) -> None:
    settings = tmp_path / "settings.json"
    first = make_window(qtbot, settings)
    generate(qtbot, first)
    first.session.track("bass").muted = True
    assert first.projects.autosave(wait=True) is not None
    takes = {t.name: t.active_take.id for t in first.session.tracks}
    first.engine.shutdown()  # the process "dies" here: no clean close, the crash marker stays

    second = make_window(qtbot, settings)
    try:
        assert second.projects.check_recovery()
        recover = second.banner.action_button("Recover")
        assert recover is not None and second.banner.isVisible()
        with qtbot.waitSignal(second.projects.opened, timeout=60_000):
            recover.click()
        s = second.session
        assert {t.name: t.active_take.id for t in s.tracks} == takes
        assert s.track("bass").muted and second.controller.dirty
    finally:
        second.shutdown()


def test_killing_the_real_process_then_restarting_offers_the_work_back(qtbot, tmp_path, monkeypatch) -> None:
    """A real process generates, autosaves on its timer, and is killed with SIGKILL."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", RESONANT_AUTOSAVE_SECONDS="1",
               RESONANT_CONFIG_DIR=str(tmp_path / "config"), RESONANT_DATA_DIR=str(tmp_path / "data"))
    script = textwrap.dedent("""
        import os, signal, sys
        from PySide6.QtWidgets import QApplication
        from resonant_studio.qt.main_window import MainWindow
        from resonant_studio.qt.project_files import untitled_folder
        app = QApplication([])
        w = MainWindow(); w.show()
        w.prompt_bar.prompt_edit.setText("bright synth pop, 120 bpm")
        w.prompt_bar.bars_box.setValue(2)
        def autosaved():
            if (untitled_folder() / "autosave.json").exists():
                print("autosaved", flush=True)
                os.kill(os.getpid(), signal.SIGKILL)
        w.controller.generation_applied.connect(lambda _: w.projects.timer.timeout.connect(autosaved))
        w.generate()
        app.exec()
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert "autosaved" in proc.stdout

    monkeypatch.setenv("RESONANT_CONFIG_DIR", env["RESONANT_CONFIG_DIR"])
    monkeypatch.setenv("RESONANT_DATA_DIR", env["RESONANT_DATA_DIR"])
    from resonant_studio.core.settings import Settings, config_dir
    w = make_window(qtbot, config_dir() / "settings.json")
    try:
        assert isinstance(w.settings, Settings) and w.projects.check_recovery()
        with qtbot.waitSignal(w.projects.opened, timeout=60_000):  # read on the files worker
            w.banner.action_button("Recover").click()
        assert w.session is not None and all(len(t.takes) == 1 for t in w.session.tracks)
        assert w.session.prompt == "bright synth pop, 120 bpm"
    finally:
        w.shutdown()  # a clean exit: the recovered work was neither saved nor wanted again
    assert not project.has_newer_autosave(tmp_path / "data" / "autosave" / "untitled.resonant")
    again = make_window(qtbot, config_dir() / "settings.json")
    try:
        assert not again.projects.check_recovery()
    finally:
        again.shutdown()


def test_autosave_follows_every_change_and_writes_off_the_ui_thread(qtbot, window) -> None:
    generate(qtbot, window)
    files = window.projects
    assert files.autosave(wait=True) is not None
    assert files.autosave(wait=True) is None  # nothing changed since
    window.session.track("bass").gain_db = -3.0
    files.autosave()  # the timer's way: returns at once, the writer thread does the work
    qtbot.waitUntil(lambda: not files.busy)
    loaded = project.load_autosave(files.autosave_folder())
    assert loaded.track("bass").gain_db == -3.0
    assert [t.active_take.id for t in loaded.tracks] == [t.active_take.id for t in window.session.tracks]


def _export_to(qtbot, window, folder, *, wait=True) -> None:
    dialog = window.show_export_dialog()
    dialog.folder_edit.setText(str(folder))
    dialog.name_edit.setText("take")
    if wait:
        with qtbot.waitSignal(window.exported, timeout=60_000):
            dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    else:
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()


def test_export_makes_the_folder_asks_before_replacing_and_clears_its_error(qtbot, window, tmp_path) -> None:
    generate(qtbot, window)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    _export_to(qtbot, window, blocker / "inside", wait=False)
    qtbot.waitUntil(lambda: window.notifier.last("error") is not None, timeout=60_000)
    assert window.banner.isVisible()
    again = window.show_export_dialog()
    assert again.folder_edit.text() == str(blocker / "inside")  # the failed settings are kept
    again.reject()

    target = tmp_path / "new" / "deeper"   # does not exist yet: Export makes it
    _export_to(qtbot, window, target)
    assert (target / "take.wav").is_file()
    assert not window.banner.isVisible()  # the export worked: its error banner is gone

    before = (target / "take.wav").stat().st_mtime_ns
    asked = []
    window.confirm_overwrite = lambda paths: asked.append(paths) or False
    _export_to(qtbot, window, target, wait=False)
    qtbot.wait(200)
    assert asked and asked[0][0].name == "take.wav"
    assert (target / "take.wav").stat().st_mtime_ns == before  # "No": nothing replaced


def test_a_terminal_command_is_told_the_window_has_the_project(qtbot, window, tmp_path) -> None:
    generate(qtbot, window)
    with qtbot.waitSignal(window.projects.saved, timeout=60_000):
        window.save_as(str(tmp_path / "song"))
    folder = tmp_path / "song.resonant"
    before = (folder / "session.json").read_bytes()
    out = subprocess.run([sys.executable, "-m", "resonant_studio.cli", "lock", str(folder), "drums"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "open in Resonant Studio elsewhere" in out.stderr and "window" in out.stderr
    assert (folder / "session.json").read_bytes() == before
    window.new_session()  # the window lets go of it
    out = subprocess.run([sys.executable, "-m", "resonant_studio.cli", "lock", str(folder), "drums"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


def test_a_loop_dropped_into_an_empty_studio_makes_the_session_and_generate_fills_around_it(qtbot, window,
                                                                                            tmp_path) -> None:
    sr = 44100
    beat = 60.0 / 100.0
    n = int(8 * 4 * beat * sr)
    t = np.arange(n) / sr
    clicks = np.zeros(n, dtype=np.float32)
    for k in range(32):  # a 100 bpm kick-like thump on every beat, 8 bars
        start = int(k * beat * sr)
        seg = np.arange(min(4000, n - start)) / sr
        clicks[start:start + seg.size] += (0.8 * np.sin(2 * np.pi * 55 * seg) * np.exp(-seg * 30)).astype(np.float32)
    path = tmp_path / "thump.wav"
    sf.write(path, np.stack([clicks, clicks], axis=1), sr)
    assert window.session is None
    with qtbot.waitSignal(window.controller.imported, timeout=60_000):
        drop_files(window, [path])
    s = window.session
    assert s is not None and s.tempo == pytest.approx(100, rel=0.04)
    assert len(s.tracks) == 1 and s.tracks[0].locked
    window.prompt_bar.prompt_edit.setText("deep house")
    with qtbot.waitSignal(window.controller.generation_applied, timeout=60_000):
        window.prompt_bar.generate_button.click()  # not "every track is locked": parts are added around it
    assert len(window.session.tracks) > 1 and all(t.takes for t in window.session.tracks)
    assert window.session.tempo == pytest.approx(100, rel=0.04)  # the locked loop's tempo stays


def test_save_and_open_report_progress_per_take(qtbot, window, tmp_path) -> None:
    generate(qtbot, window)
    seen: list[str] = []
    window.projects.activity.connect(seen.append)
    with qtbot.waitSignal(window.projects.saved, timeout=60_000):
        window.save_as(str(tmp_path / "song"))
    assert any("writing take 1 of 4" in text for text in seen)
    window.new_session()
    with qtbot.waitSignal(window.projects.opened, timeout=60_000):
        window.projects.open(tmp_path / "song.resonant")
    assert any("reading take" in text for text in seen)
