"""Widgets on their own: binding both ways, the waveform envelope, the timeline as an adapter."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QAbstractButton, QComboBox, QLabel, QLineEdit, QSlider, QSpinBox, QWidget

from tracks import Session, Take, Track
from widgets.export_dialog import ExportDialog
from widgets.prompt_bar import PromptBar
from widgets.timeline import Timeline
from widgets.track_header import TrackHeader
from widgets.transport import Transport
from widgets.waveform import min_max_envelope


def track_with_takes(n: int = 2) -> Track:
    t = Track("Bass", "bass")
    for i in range(n):
        t.add_take(Take(np.full((100, 2), 0.1 * (i + 1), dtype=np.float32), seed=i, backend="composer"))
    return t


# --- the envelope -------------------------------------------------------------------------------
def test_envelope_keeps_every_peak_and_has_a_fixed_size() -> None:
    rng = np.random.default_rng(1)
    audio = (rng.standard_normal((1_000_003, 2)) * 0.1).astype(np.float32)
    audio[123_457, 1] = 0.99   # single-sample peaks must survive decimation
    audio[999_999, 0] = -0.97
    x, y = min_max_envelope(audio, bins=1000)
    assert x.shape == y.shape == (2000,)
    assert y.max() == pytest.approx(0.99) and y.min() == pytest.approx(-0.97)
    assert np.all(np.diff(x[::2]) > 0) and x[-1] < audio.shape[0]
    # each bin's pair is that bin's own extremes
    step = audio.shape[0] // 1000
    assert y[0] == audio[:step].min() and y[1] == audio[:step].max()


def test_short_signals_are_drawn_as_they_are() -> None:
    audio = np.stack([np.linspace(-1, 1, 50), np.linspace(-1, 1, 50)], axis=1)
    x, y = min_max_envelope(audio, bins=1000)
    np.testing.assert_allclose(y, np.linspace(-1, 1, 50), atol=1e-6)
    np.testing.assert_array_equal(x, np.arange(50))


# --- the header, bound both ways -------------------------------------------------------------------
def test_header_follows_the_track(qtbot) -> None:
    track = track_with_takes()
    header = TrackHeader(track)
    qtbot.addWidget(header)
    track.locked = True
    assert header.lock_button.isChecked() and header.shows_locked()
    assert not header.regenerate_button.isEnabled() and not header.take_box.isEnabled()
    track.locked = False
    track.muted = True
    track.solo = True
    track.gain_db = -12.5
    assert header.mute_button.isChecked() and header.solo_button.isChecked()
    assert header.gain_slider.value() == -125 and header.gain_label.text() == "-12.5 dB"
    track.active_index = 0
    assert header.take_box.currentIndex() == 0 and header.take_box.count() == 2


def test_header_writes_to_the_track(qtbot) -> None:
    track = track_with_takes()
    header = TrackHeader(track)
    qtbot.addWidget(header)
    header.mute_button.click()
    header.solo_button.click()
    assert track.muted and track.solo
    header.gain_slider.setValue(60)
    assert track.gain_db == 6.0
    header.take_box.activated.emit(0)
    assert track.active_index == 0
    header.lock_button.click()
    assert track.locked
    with qtbot.waitSignal(header.regenerate_requested, raising=False, timeout=200) as blocker:
        header.regenerate_button.click()  # disabled while locked
    assert not blocker.signal_triggered


def test_locking_a_track_without_a_take_is_refused_with_a_sentence(qtbot) -> None:
    track = Track("Melody", "melody")
    header = TrackHeader(track)
    qtbot.addWidget(header)
    with qtbot.waitSignal(header.error) as blocker:
        header.lock_button.click()
    assert "no take yet" in blocker.args[0]
    assert not track.locked and not header.lock_button.isChecked()


def test_an_unbound_header_no_longer_listens(qtbot) -> None:
    track = track_with_takes()
    header = TrackHeader(track)
    qtbot.addWidget(header)
    header.unbind()
    track.muted = True
    assert not header.mute_button.isChecked()


# --- the timeline as an adapter over the session --------------------------------------------------
def session_with(*roles: str) -> Session:
    s = Session({"tempo": 120.0, "meter": (4, 4), "bars": 4}, name="t")
    for role in roles:
        t = Track(role.title(), role)
        t.add_take(Take(np.zeros((s.num_samples, 2), dtype=np.float32)))
        s.add_track(t, record=False)
    return s


def test_timeline_lanes_follow_the_session(qtbot) -> None:
    timeline = Timeline()
    qtbot.addWidget(timeline)
    s = session_with("drums", "bass")
    timeline.set_session(s)
    qtbot.waitUntil(lambda: not timeline.building)
    assert list(timeline.lanes) == [t.id for t in s.tracks]
    extra = Track("Keys", "harmony")
    s.add_track(extra)
    assert extra.id in timeline.lanes
    s.history.undo()
    assert extra.id not in timeline.lanes and len(timeline.lanes) == 2
    timeline.set_session(None)
    assert not timeline.lanes and timeline.hint.isVisibleTo(timeline)


def test_timeline_reuses_lanes_for_the_next_session(qtbot) -> None:
    timeline = Timeline()
    qtbot.addWidget(timeline)
    timeline.set_session(session_with("drums", "bass", "melody"))
    qtbot.waitUntil(lambda: not timeline.building)
    first = set(map(id, timeline.lanes.values()))
    second = session_with("drums", "bass")
    timeline.set_session(second)
    qtbot.waitUntil(lambda: not timeline.building)
    assert set(map(id, timeline.lanes.values())) <= first
    assert [lane.track for lane in timeline.lanes.values()] == list(second.tracks)
    assert second.tracks[0].name == timeline.lanes[second.tracks[0].id].header.name_label.text()


def test_mute_and_solo_dim_the_lanes_that_are_not_heard(qtbot) -> None:
    timeline = Timeline()
    qtbot.addWidget(timeline)
    s = session_with("drums", "bass", "melody")
    timeline.set_session(s)
    qtbot.waitUntil(lambda: not timeline.building)
    drums, bass, melody = s.tracks
    bass.muted = True
    assert timeline.lane(bass).waveform.is_dimmed() and not timeline.lane(drums).waveform.is_dimmed()
    drums.solo = True
    assert timeline.lane(melody).waveform.is_dimmed() and not timeline.lane(drums).waveform.is_dimmed()


def test_zoom_changes_the_visible_time_range(qtbot) -> None:
    timeline = Timeline()
    qtbot.addWidget(timeline)
    timeline.set_session(session_with("drums"))
    lo, hi = timeline.visible_range()
    timeline.zoom(0.5)
    lo2, hi2 = timeline.visible_range()
    assert hi2 - lo2 == pytest.approx((hi - lo) / 2, rel=0.05)
    timeline.fit()
    assert timeline.visible_range()[1] == pytest.approx(8.0, rel=0.05)


# --- the small widgets -----------------------------------------------------------------------------
def test_prompt_bar_values_and_add_picker(qtbot) -> None:
    bar = PromptBar(["composer", "musicgen"])
    qtbot.addWidget(bar)
    bar.set_prompt("  warm lo-fi  ")
    bar.set_engine("musicgen")
    bar.bars_box.setValue(0)
    assert bar.prompt() == "warm lo-fi" and bar.engine() == "musicgen" and bar.bars() is None
    picker = QComboBox()
    bar.add_picker(picker)
    row = bar._options
    assert row.indexOf(picker) == row.indexOf(bar.pin_button) + 1  # after the seed controls
    second = QComboBox()
    bar.add_picker(second)
    assert row.indexOf(second) == row.indexOf(picker) + 1
    with qtbot.waitSignal(bar.generate_requested):
        bar.prompt_edit.returnPressed.emit()


def test_transport_shows_bar_beat_and_time() -> None:
    transport = Transport()
    transport.set_position(5.0, 120.0, 4.0)  # 10 beats: bar 3, beat 3
    assert transport.position_label.text() == "3.3.00   0:05.0"
    transport.set_unavailable("cannot play: no audio output device was found")
    assert transport.audio_status.text().startswith("cannot play")


def test_export_dialog_collects_choices(qtbot, tmp_path) -> None:
    dialog = ExportDialog(tmp_path, "song", has_notes=False)
    qtbot.addWidget(dialog)
    assert not dialog.midi_check.isEnabled()
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("flac"))
    dialog.loudness_check.setChecked(True)
    dialog.lufs_box.setValue(-16.0)
    choices = dialog.choices()
    assert (choices.folder, choices.name, choices.format, choices.target_lufs, choices.midi) == \
        (tmp_path, "song", "flac", -16.0, False)


CONTROLS = (QAbstractButton, QComboBox, QLineEdit, QSlider, QSpinBox)


def test_every_control_of_the_studio_has_a_tooltip(qtbot, window) -> None:
    """Every area of the window, the "Like This Song" dock included, and the menus."""
    from tests.qt.conftest import generate

    generate(qtbot, window, bars=2)
    areas = (window.prompt_bar, window.transport, window.timeline, window.generation_status, window.banner,
             window.library_dock)
    missing = [f"{type(w).__name__} {w.objectName()} {getattr(w, 'text', lambda: '')()}"
               for area in areas for w in area.findChildren(QWidget)
               if isinstance(w, CONTROLS) and w.isVisibleTo(window) and not w.toolTip()
               and not isinstance(w.parent(), (QComboBox, QSpinBox, QLineEdit, QLabel))]
    assert not missing, f"controls without a tooltip: {missing}"
    untipped = [a.text() for menu in window.actions.menus.values() for a in menu.actions()
                if not a.isSeparator() and not a.menu() and not a.toolTip()]
    assert not untipped, f"menu items without a tooltip: {untipped}"


def test_a_closed_library_panel_comes_back_from_the_view_menu(qtbot, window) -> None:
    dock = window.library_dock
    toggle = next(a for a in window.actions.menus["view"].actions() if a.text() == "Like This Song Panel")
    window.show()
    qtbot.waitExposed(window)
    dock.close()
    assert not dock.isVisible() and not toggle.isChecked()
    toggle.trigger()
    assert dock.isVisible()


def test_ctrl_e_in_the_prompt_field_opens_export_and_ctrl_y_redoes(qtbot, tmp_path) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from tests.qt.conftest import generate, make_window

    window = make_window(qtbot, tmp_path / "settings.json")
    try:
        generate(qtbot, window)
        edit = window.prompt_bar.prompt_edit
        window.activateWindow()
        edit.setFocus()
        qtbot.waitUntil(edit.hasFocus)
        QTest.keyClick(edit, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: window.export_dialog is not None and window.export_dialog.isVisible())
        window.export_dialog.reject()
        import sys as _sys
        if _sys.platform != "darwin":
            assert "Ctrl+Y" in [s.toString() for s in window.actions.redo.shortcuts()]
        assert {"Ctrl+=", "Ctrl++"} <= {s.toString() for s in window.actions.zoom_in.shortcuts()}
        box = window.show_shortcuts()
        assert "Export" in box.text() and "Ctrl+E" in box.text()
        box.close()
    finally:
        window.shutdown()


def test_window_size_and_dock_layout_come_back_on_the_next_launch(qtbot, tmp_path) -> None:
    from resonant_studio.core.settings import Settings
    from resonant_studio.qt.main_window import GEOMETRY_KEY, STATE_KEY, MainWindow
    from tests.qt.conftest import make_window, silent_player

    settings = tmp_path / "settings.json"
    first = make_window(qtbot, settings)
    first.library_dock.hide()
    qtbot.waitUntil(lambda: not first.library_dock.isVisible())
    size = first.size()
    first.shutdown()
    saved = Settings(settings)
    assert saved.get(GEOMETRY_KEY) and saved.get(STATE_KEY)

    second = MainWindow(settings=Settings(settings), player_factory=silent_player)  # no test resize this time
    qtbot.addWidget(second)
    second.show()
    try:
        qtbot.waitExposed(second)
        assert not second.library_dock.isVisible()  # the dock layout came back
        screen = second.screen().availableGeometry()
        if size.width() <= screen.width() and size.height() <= screen.height():
            assert second.size() == size  # (a smaller screen clamps it, as it should)
    finally:
        second.shutdown()


def test_new_clears_the_sticky_style_and_role(qtbot, tmp_path) -> None:
    from tests.qt.conftest import make_window

    window = make_window(qtbot, tmp_path / "settings.json")
    try:
        window.presets.pickers.select(style="deep_house", role="background_bed")
        config = window.presets.resolve("late night", 1, None)
        assert config is not None and "deep_house" in window.notifier.last("info").text
        window.new_session()
        assert window.presets.pickers.style() is None and window.presets.pickers.role() is None
        assert window.presets.resolve("late night", 1, None) is None or window.presets.pickers.quality() != "sketch"
    finally:
        window.shutdown()


def test_the_role_picker_binds_both_ways_and_is_undoable(qtbot) -> None:
    from tracks import Session, Track
    from widgets.track_header import TrackHeader

    session = Session({"tempo": 120.0})
    track = session.add_track(Track("Loop", "other", locked=True), record=False)
    header = TrackHeader()
    qtbot.addWidget(header)
    header.bind(track)
    assert header.role_box.currentData() == "other"
    header.role_box.setCurrentIndex(header.role_box.findData("drums"))  # the person picks drums
    assert track.role == "drums" and session.history.undo_label == "Change role of Loop"
    session.history.undo()
    assert header.role_box.currentData() == "other"  # the document -> the picker
    track.role = "bass"
    assert header.role_box.currentData() == "bass"
