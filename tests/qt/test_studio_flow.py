"""The real window, driven as a person would: Generate, lock, regenerate, undo, mute, solo."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest

from tests.qt.conftest import generate, heard, regenerate
from tracks.mixer import track_signal


def press(qtbot, window, sequence: QKeySequence.StandardKey | str) -> None:
    """Press a shortcut on the window, the way a keyboard would."""
    keys = QKeySequence(sequence)[0]
    window.activateWindow()
    QTest.keyClick(window, keys.key(), keys.keyboardModifiers())


def test_generate_fills_every_track_and_draws_waveforms(qtbot, window) -> None:
    generate(qtbot, window)
    s = window.session
    assert [t.role for t in s.tracks] == ["drums", "bass", "harmony", "melody"]
    for track in s.tracks:
        assert len(track.takes) == 1 and track.active_take.backend == "composer"
        lane = window.timeline.lane(track)
        x, y = lane.waveform.curve_data()
        assert x.size > 0 and np.max(np.abs(y)) > 0.0, f"{track.name} lane draws no waveform"
        assert x[-1] <= s.duration + 0.01
    assert window.player.length == s.num_samples
    assert not window.timeline.hint.isVisible()
    assert "84 bpm" in window.transport.info_label.text()


def test_lock_regenerate_and_undo_through_the_buttons(qtbot, window) -> None:
    generate(qtbot, window)
    s = window.session
    drums, bass = s.track("drums"), s.track("bass")
    drums_before = drums.active_take.audio.copy()
    bass_before = bass.active_take

    drums_header = window.timeline.lane(drums).header
    drums_header.lock_button.click()
    assert drums.locked and drums_header.lock_button.isChecked()
    assert not drums_header.regenerate_button.isEnabled()
    assert window.timeline.lane(drums).waveform.shows_lock()

    regenerate(qtbot, window, "bass")
    assert len(bass.takes) == 2 and bass.active_index == 1
    assert bass.active_take is not bass_before
    assert not np.array_equal(bass.active_take.audio, bass_before.audio), "the new bass take is the old one"
    assert len(drums.takes) == 1
    np.testing.assert_array_equal(drums.active_take.audio, drums_before)  # bit-identical
    assert window.timeline.lane(bass).shown_take_id == bass.active_take.id
    assert window.timeline.lane(bass).header.take_box.count() == 2

    press(qtbot, window, QKeySequence.StandardKey.Undo)
    assert bass.active_take is bass_before
    assert window.timeline.lane(bass).shown_take_id == bass_before.id
    assert window.timeline.lane(bass).header.take_box.currentIndex() == 0
    assert drums.locked  # undo took back the regenerate only
    np.testing.assert_array_equal(drums.active_take.audio, drums_before)

    press(qtbot, window, QKeySequence.StandardKey.Redo)
    assert bass.active_index == 1

    press(qtbot, window, QKeySequence.StandardKey.Undo)
    press(qtbot, window, QKeySequence.StandardKey.Undo)  # and now the lock
    assert not drums.locked and not drums_header.lock_button.isChecked()


def test_generate_with_a_locked_track_leaves_it_alone(qtbot, window) -> None:
    generate(qtbot, window)
    drums = window.session.track("drums")
    window.timeline.lane(drums).header.lock_button.click()
    before = drums.active_take
    window.prompt_bar.seed_box.setValue(7)
    with qtbot.waitSignal(window.controller.generation_applied, timeout=60_000):
        window.prompt_bar.generate_button.click()
    assert drums.active_take is before and len(drums.takes) == 1
    assert all(len(t.takes) == 2 for t in window.session.tracks if t is not drums)


def test_mute_and_solo_change_what_is_heard(qtbot, window) -> None:
    generate(qtbot, window)
    s = window.session
    n = 8192
    start = s.num_samples // 4

    def expected(*roles: str) -> np.ndarray:
        total = sum(track_signal(s.track(r), s.num_samples)[start:start + n] for r in roles)
        return np.clip(total, -1.0, 1.0)

    everything = heard(window, n, start)
    np.testing.assert_allclose(everything, expected("drums", "bass", "harmony", "melody"), atol=1e-6)

    bass_header = window.timeline.lane(s.track("bass")).header
    with qtbot.waitSignal(window.controller.mix_changed):
        bass_header.mute_button.click()
    assert s.track("bass").muted
    assert window.timeline.lane(s.track("bass")).waveform.is_dimmed()
    without_bass = heard(window, n, start)
    np.testing.assert_allclose(without_bass, expected("drums", "harmony", "melody"), atol=1e-6)
    assert not np.allclose(without_bass, everything)

    drums_header = window.timeline.lane(s.track("drums")).header
    with qtbot.waitSignal(window.controller.mix_changed):
        drums_header.solo_button.click()
    np.testing.assert_allclose(heard(window, n, start), expected("drums"), atol=1e-6)
    assert window.timeline.lane(s.track("melody")).waveform.is_dimmed()

    with qtbot.waitSignal(window.controller.mix_changed):
        drums_header.solo_button.click()
    with qtbot.waitSignal(window.controller.mix_changed):
        bass_header.mute_button.click()
    np.testing.assert_allclose(heard(window, n, start), everything, atol=1e-6)


def test_mix_refreshes_while_playing_without_stopping(qtbot, window) -> None:
    generate(qtbot, window)
    player = window.player
    player.seek(1000)
    player.play()
    out = np.zeros((512, 2), dtype=np.float32)
    player.callback(out, 512)
    header = window.timeline.lane(window.session.track("melody")).header
    with qtbot.waitSignal(window.controller.mix_changed):
        header.mute_button.click()
    assert player.playing and player.position == 1512
    player.pause()


def test_gain_and_take_choice_are_undoable(qtbot, window) -> None:
    generate(qtbot, window)
    regenerate(qtbot, window, "harmony")
    harmony = window.session.track("harmony")
    header = window.timeline.lane(harmony).header

    header.gain_slider.setValue(-60)  # -6 dB, as a keyboard step would
    assert harmony.gain_db == -6.0
    header.take_box.setCurrentIndex(0)
    header.take_box.activated.emit(0)
    assert harmony.active_index == 0

    window.actions.undo.trigger()
    assert harmony.active_index == 1 and header.take_box.currentIndex() == 1
    window.actions.undo.trigger()
    assert harmony.gain_db == 0.0 and header.gain_slider.value() == 0
    assert window.actions.undo.text() == "&Undo Regenerate Harmony"


def test_space_toggles_playback_and_the_transport_follows(qtbot, window) -> None:
    generate(qtbot, window)
    window.timeline.setFocus()
    press(qtbot, window, "Space")
    assert window.player.playing
    qtbot.waitUntil(lambda: window.transport.play_button.toolTip().startswith("Pause"), timeout=2000)
    press(qtbot, window, "Space")
    assert not window.player.playing
    window.seek(2.0)
    assert window.player.position == 2 * window.session.sample_rate
    assert window.transport.position_label.text().endswith("0:02.0")
    QTest.mouseClick(window.transport.stop_button, Qt.MouseButton.LeftButton)
    assert window.player.position == 0


def test_without_an_audio_device_the_window_says_why_and_keeps_working(qtbot, tmp_path) -> None:
    from PySide6.QtWidgets import QMessageBox

    from resonant_studio.qt.main_window import MainWindow
    from resonant_studio.core.settings import Settings

    w = MainWindow(settings=Settings(tmp_path / "settings.json"))  # the real player: PortAudio, if any
    w.ask_save_changes = lambda: QMessageBox.StandardButton.Discard
    qtbot.addWidget(w)
    try:
        if w.player.available:
            pytest.skip("this machine has an audio output device")
        reason = w.transport.audio_status.text()
        assert reason.startswith("cannot play:") and reason == w.player.unavailable_reason
        generate(qtbot, w, bars=2)
        w.transport.play_button.click()
        assert w.notifier.last("info").text.startswith("Cannot play:")
        w.seek(1.0)
        assert w.transport.position_label.text().endswith("0:01.0")
        assert all(len(t.takes) == 1 for t in w.session.tracks)
    finally:
        w.shutdown()


def test_clicking_a_lane_moves_the_playhead(qtbot, window) -> None:
    from PySide6.QtCore import QPointF

    generate(qtbot, window)
    view = window.timeline.lane(window.session.track("harmony")).waveform
    scene_point = view.getPlotItem().vb.mapViewToScene(QPointF(3.0, 0.0))
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(scene_point))
    assert abs(window.player.seconds - 3.0) < 0.05
    qtbot.waitUntil(lambda: abs(view.playhead() - window.player.seconds) < 1e-6)


def test_space_types_a_space_in_the_prompt_instead_of_playing(qtbot, window) -> None:
    edit = window.prompt_bar.prompt_edit
    window.activateWindow()
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus)
    QTest.keyClicks(edit, "warm bass")
    assert edit.text() == "warm bass" and not window.player.playing


def test_requests_carry_the_reference_the_library_set(qtbot, window, monkeypatch) -> None:
    generate(qtbot, window)
    seen = []
    real_submit = window.engine.submit_plan

    def spy(plan):
        seen.append(plan.request)
        return real_submit(plan)

    monkeypatch.setattr(window.engine, "submit_plan", spy)
    marker = object()
    window.controller.reference = marker  # what "Use as reference" leaves for the backends
    regenerate(qtbot, window, "bass")
    assert seen and seen[-1].reference is marker


def test_regenerating_bars_3_to_4_of_the_bass_keeps_the_rest_and_shows_the_range(qtbot, window) -> None:
    import numpy as np

    generate(qtbot, window, bars=8)
    s = window.session
    bass = s.track("bass")
    old = bass.active_take
    per_bar = s.beats_per_bar * 60.0 / s.tempo
    window.timeline.set_loop_bars(3, 4)  # the selection: dragged across the ruler
    regenerate(qtbot, window, "bass")
    take = bass.active_take
    assert take is not old and len(bass.takes) == 2
    sr = s.sample_rate
    start, end = round(2 * per_bar * sr), round(4 * per_bar * sr)
    np.testing.assert_array_equal(take.audio[:start], old.audio[:start])
    np.testing.assert_array_equal(take.audio[end:], old.audio[end:])
    assert not np.array_equal(take.audio[start:end], old.audio[start:end])
    for seam in (start, end):  # no click: the step across the seam is like the steps around it
        d = np.abs(np.diff(take.audio[seam - 300: seam + 300, 0].astype(np.float64)))
        assert d[295:305].max() <= 4 * np.percentile(d, 95) + 1e-6
    lane = window.timeline.lane(bass)
    shown = lane.waveform.replaced_range_shown()
    assert shown is not None and abs(shown[0] - 2 * per_bar) < 1e-3 and abs(shown[1] - 4 * per_bar) < 1e-3
    assert window.actions.undo.text().startswith("&Undo Regenerate Bars 3-4 of Bass")
    window.actions.undo.trigger()
    assert bass.active_take is old and lane.waveform.replaced_range_shown() is None


def test_each_generate_is_a_new_variation_unless_the_seed_is_pinned(qtbot, window) -> None:
    import numpy as np

    bar = window.prompt_bar
    generate(qtbot, window)
    first = {t.name: t.active_take for t in window.session.tracks}
    assert bar.seed() == first["Bass"].seed  # the box shows the seed the take used
    regenerate(qtbot, window, "bass")
    second = window.session.track("bass").active_take
    assert second.seed != first["Bass"].seed and not np.array_equal(second.audio, first["Bass"].audio)
    assert bar.seed() == second.seed
    bar.pin_button.setChecked(True)
    regenerate(qtbot, window, "bass")
    third = window.session.track("bass").active_take
    regenerate(qtbot, window, "bass")
    fourth = window.session.track("bass").active_take
    assert third.seed == fourth.seed == bar.seed()  # pinned: reproducible
    np.testing.assert_array_equal(third.audio, fourth.audio)
