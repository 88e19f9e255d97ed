"""Track header mixer controls (pan bound both ways, double-click resets), meters fed from the
playback position, and disabled controls that say why."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QIcon

from tracks import Session, Take, Track
from widgets.level_meter import FLOOR_DB, LevelMeter, block_levels
from widgets.timeline import Timeline
from widgets.track_header import TrackHeader
from widgets.transport import Transport


def track_with_takes(n: int = 2) -> Track:
    t = Track("Bass", "bass")
    for i in range(n):
        t.add_take(Take(np.full((100, 2), 0.1 * (i + 1), dtype=np.float32), seed=i, backend="composer"))
    return t


def test_pan_is_bound_both_ways(qtbot) -> None:
    track = track_with_takes()
    header = TrackHeader(track)
    qtbot.addWidget(header)
    track.pan = -0.4
    assert header.pan_slider.value() == -40 and header.pan_label.text() == "L40"
    track.pan = 1.0
    assert header.pan_label.text() == "R100"
    header.pan_slider.setValue(25)
    assert track.pan == 0.25 and header.pan_label.text() == "R25"
    header.pan_slider.setValue(0)
    assert track.pan == 0.0 and header.pan_label.text() == "C"


def test_double_click_resets_gain_and_pan(qtbot) -> None:
    track = track_with_takes()
    track.gain_db = -9.0
    track.pan = 0.6
    header = TrackHeader(track)
    qtbot.addWidget(header)
    header.show()
    qtbot.waitExposed(header)
    for slider in (header.gain_slider, header.pan_slider):
        with qtbot.waitSignal(slider.reset):
            qtbot.mouseDClick(slider, Qt.MouseButton.LeftButton, pos=QPoint(5, slider.height() // 2))
    assert track.gain_db == 0.0 and track.pan == 0.0
    assert header.gain_label.text() == "+0.0 dB" and header.pan_label.text() == "C"


def test_a_locked_lane_says_why_it_cannot_be_regenerated_and_unlocking_gives_it_back(qtbot) -> None:
    track = track_with_takes()
    header = TrackHeader(track)
    qtbot.addWidget(header)
    track.locked = True
    assert not header.regenerate_button.isEnabled()
    assert "locked" in header.regenerate_button.toolTip() and "unlock" in header.regenerate_button.toolTip()
    assert "unlock" in header.take_box.toolTip()
    with qtbot.waitSignal(header.regenerate_requested, raising=False, timeout=100) as blocker:
        header.regenerate_button.click()
    assert not blocker.signal_triggered
    icon, size = header.regenerate_button.icon(), header.regenerate_button.iconSize()
    assert opacity(icon.pixmap(size, QIcon.Mode.Disabled)) < 0.5 * opacity(icon.pixmap(size)), \
        "the locked lane's regenerate button looks clickable"
    track.locked = False
    assert header.regenerate_button.isEnabled() and "Regenerate Bass" in header.regenerate_button.toolTip()
    with qtbot.waitSignal(header.regenerate_requested) as blocker:
        header.regenerate_button.click()
    assert blocker.args == [track]


def opacity(pixmap) -> float:
    image = pixmap.toImage()
    return max(image.pixelColor(x, y).alpha() for x in range(image.width()) for y in range(image.height())) / 255


def test_busy_and_single_take_controls_say_why_they_are_off(qtbot) -> None:
    track = track_with_takes(1)
    header = TrackHeader(track)
    qtbot.addWidget(header)
    assert not header.take_box.isEnabled() and "one take" in header.take_box.toolTip()
    header.set_busy(True)
    assert not header.regenerate_button.isEnabled() and "generation is running" in header.regenerate_button.toolTip()
    header.set_busy(False)
    assert header.regenerate_button.isEnabled()


# --- meters ------------------------------------------------------------------------------------
def test_block_levels_measure_peak_and_rms_of_the_slice_that_plays() -> None:
    audio = np.zeros((1000, 2), dtype=np.float32)
    audio[500:600, 0] = 0.5
    audio[500:600, 1] = -0.25
    peak, rms = block_levels(audio, 500, 100)
    np.testing.assert_allclose(peak, [0.5, 0.25])
    np.testing.assert_allclose(rms, [0.5, 0.25])
    peak, _ = block_levels(audio, 0, 100)
    assert np.all(peak == 0.0)
    peak, _ = block_levels(audio, 2000, 100)  # past the end: silence, no error
    assert np.all(peak == 0.0)
    peak, _ = block_levels(audio, 500, 100, scale=np.array([2.0, 0.0]))
    np.testing.assert_allclose(peak, [1.0, 0.0])


def test_a_meter_rises_at_once_and_falls_back_gradually(qtbot) -> None:
    meter = LevelMeter()
    qtbot.addWidget(meter)
    meter.set_levels(np.array([1.0, 0.5]), np.array([0.5, 0.25]))
    assert meter.peak_db() == pytest.approx((0.0, -6.02), abs=0.01)
    meter.set_levels(np.zeros(2), np.zeros(2))
    left, _ = meter.peak_db()
    assert -3.0 < left < 0.0  # falling, not dropped to the floor in one tick
    for _ in range(100):
        meter.set_levels(np.zeros(2), np.zeros(2))
    assert meter.peak_db() == (FLOOR_DB, FLOOR_DB)


def lane_session() -> Session:
    s = Session({"tempo": 120.0, "meter": (4, 4), "bars": 2}, name="t")
    loud = Track("Drums", "drums")
    audio = np.zeros((s.num_samples, 2), dtype=np.float32)
    audio[s.sample_rate: 2 * s.sample_rate] = 0.5  # sound in the second second only
    loud.add_take(Take(audio))
    s.add_track(loud, record=False)
    quiet = Track("Bass", "bass")
    quiet.add_take(Take(np.full((s.num_samples, 2), 0.1, dtype=np.float32)))
    s.add_track(quiet, record=False)
    return s


def test_lane_meters_follow_the_playback_position_gain_pan_and_mute(qtbot) -> None:
    timeline = Timeline()
    qtbot.addWidget(timeline)
    s = lane_session()
    timeline.set_session(s)
    qtbot.waitUntil(lambda: not timeline.building)
    drums, bass = s.tracks
    meter = timeline.lane(drums).header.meter
    timeline.show_levels(0, playing=True)  # the drums are silent here
    assert meter.peak_db() == (FLOOR_DB, FLOOR_DB)
    timeline.show_levels(int(1.5 * s.sample_rate), playing=True)
    assert meter.peak_db() == pytest.approx((-6.02, -6.02), abs=0.01)
    drums.pan = -1.0  # hard left: nothing on the right meter
    for _ in range(100):
        timeline.show_levels(int(1.5 * s.sample_rate), playing=True)
    left, right = meter.peak_db()
    assert left > -6.0 and right == FLOOR_DB
    bass.muted = True
    for _ in range(100):
        timeline.show_levels(int(1.5 * s.sample_rate), playing=True)
    assert timeline.lane(bass).header.meter.peak_db() == (FLOOR_DB, FLOOR_DB)
    assert timeline.lane(drums).header.meter.peak_db()[0] > -6.0


# --- transport -----------------------------------------------------------------------------------
def test_transport_toggles_look_different_on_and_off_and_report(qtbot) -> None:
    transport = Transport()
    qtbot.addWidget(transport)
    for button, signal in ((transport.loop_button, transport.loop_toggled),
                           (transport.metronome_button, transport.metronome_toggled),
                           (transport.count_in_button, transport.count_in_toggled)):
        transport.show()
        off = transport.grab(button.geometry()).toImage()
        with qtbot.waitSignal(signal) as blocker:
            button.click()
        assert blocker.args == [True]
        on = transport.grab(button.geometry()).toImage()
        assert on != off, f"{button.objectName()} looks the same on and off"
    with qtbot.waitSignal(transport.snap_changed) as blocker:
        transport.snap_box.setCurrentIndex(transport.snap_box.findText("Snap: beat"))
    assert blocker.args == ["beat"]
    transport.set_snap(None)
    assert transport.snap() is None and transport.snap_box.currentText() == "Snap: off"


def test_output_picker_lists_devices_and_reports_a_choice(qtbot) -> None:
    transport = Transport()
    qtbot.addWidget(transport)
    transport.set_devices(["Speakers", "USB DAC"], current="USB DAC")
    box = transport.device_box
    assert [box.itemText(i) for i in range(box.count())] == ["Default output", "Speakers", "USB DAC"]
    assert box.currentText() == "USB DAC"
    with qtbot.waitSignal(transport.device_chosen) as blocker:
        box.activated.emit(1)
    assert blocker.args == ["Speakers"]
    with qtbot.waitSignal(transport.device_chosen) as blocker:
        box.activated.emit(0)
    assert blocker.args == [None]
    transport.set_devices([])
    assert "No audio output device" in box.toolTip()


def test_other_disabled_controls_say_why(qtbot, tmp_path) -> None:
    from widgets.export_dialog import ExportDialog
    from widgets.prompt_bar import PromptBar
    from widgets.reference_panel import ReferencePanel

    bar = PromptBar(["composer"])
    qtbot.addWidget(bar)
    bar.set_busy(True)
    assert not bar.generate_button.isEnabled() and "running" in bar.generate_button.toolTip()
    bar.set_busy(False)
    assert bar.generate_button.isEnabled() and "running" not in bar.generate_button.toolTip()

    panel = ReferencePanel()
    qtbot.addWidget(panel)
    assert not panel.use_button.isEnabled() and "first" in panel.use_button.toolTip()
    panel.show_analysis({"path": "/x/song.wav", "tempo": 120.0, "key": "A minor"})
    assert panel.use_button.isEnabled() and "tempo and key" in panel.use_button.toolTip()
    panel.show_progress(0.3, "indexing")
    assert not panel.index_button.isEnabled() and "being indexed" in panel.index_button.toolTip()

    dialog = ExportDialog(tmp_path, "song", has_notes=False)
    qtbot.addWidget(dialog)
    assert not dialog.lufs_box.isEnabled() and "Tick" in dialog.lufs_box.toolTip()
    dialog.loudness_check.setChecked(True)
    assert dialog.lufs_box.isEnabled() and "LUFS" in dialog.lufs_box.toolTip()
    assert not dialog.midi_check.isEnabled() and dialog.midi_check.toolTip()
