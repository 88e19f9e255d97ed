"""The "Like This Song" panel: plain data in, signals out, no engine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from widgets.reference_panel import ReferencePanel

ANALYSIS = {
    "path": "/music/Ünïcødé song.flac",
    "title": "Ünïcødé song",
    "tempo": 96.04,
    "key": "D minor",
    "loudness_lufs": -14.26,
    "duration": 187.5,
    "waveform": np.stack([-np.linspace(0, 1, 300), np.linspace(0, 1, 300)], axis=1),
    "warnings": ["only the first 5 minutes of 9 were analysed"],
}
RESULTS = [
    {"path": "/music/a.wav", "title": "a", "score": 0.93, "tempo": 96.0, "key": "D minor",
     "reasons": ["sounds very close (0.93)", "same key (D minor)"]},
    {"path": "/music/b.wav", "title": "b", "score": 0.71, "tempo": None, "key": None, "reasons": []},
]


@pytest.fixture()
def panel(qtbot) -> ReferencePanel:
    p = ReferencePanel()
    qtbot.addWidget(p)
    p.resize(360, 640)
    p.show()
    return p


def _drop(widget, paths: list[str]) -> QDropEvent:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(p) for p in paths])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    widget.dropEvent(event)
    return event


def test_dropping_an_audio_file_emits_its_path(qtbot, panel: ReferencePanel, tmp_path: Path) -> None:
    with qtbot.waitSignal(panel.file_dropped) as blocker:
        event = _drop(panel.drop_zone, [str(tmp_path / "notes.txt"), str(tmp_path / "Sông ♫.mp3")])
    assert blocker.args == [str(tmp_path / "Sông ♫.mp3")]
    assert event.isAccepted()


def test_dropping_something_else_is_ignored(qtbot, panel: ReferencePanel, tmp_path: Path) -> None:
    with qtbot.assertNotEmitted(panel.file_dropped):
        event = _drop(panel.drop_zone, [str(tmp_path / "notes.txt")])
    assert not event.isAccepted()


def test_show_analysis_fills_labels_and_waveform(panel: ReferencePanel) -> None:
    assert not panel.use_button.isEnabled()
    panel.show_analysis(ANALYSIS)
    assert panel.title_label.text() == "Ünïcødé song"
    assert panel.tempo_label.text() == "96.0 bpm" and panel.key_label.text() == "D minor"
    assert panel.loudness_label.text() == "-14.3 LUFS" and panel.duration_label.text() == "3:07.5"
    assert panel.waveform.envelope.shape == (300, 2)
    assert "first 5 minutes" in panel.notes_label.text()
    assert panel.use_button.isEnabled()
    panel.waveform.repaint()  # draws without error
    panel.clear_analysis()
    assert panel.tempo_label.text() == "–" and not panel.use_button.isEnabled()


def test_an_analysis_without_tempo_or_key_cannot_be_used(panel: ReferencePanel) -> None:
    panel.show_analysis({"path": "/x/noise.wav", "tempo": None, "key": None, "waveform": None})
    assert panel.title_label.text() == "noise" and panel.tempo_label.text() == "–"
    assert not panel.use_button.isEnabled()


def test_use_as_reference_emits_the_analysis_with_the_continue_choice(qtbot, panel: ReferencePanel) -> None:
    panel.show_analysis(ANALYSIS)
    qtbot.mouseClick(panel.continue_box, Qt.MouseButton.LeftButton, pos=QPoint(5, panel.continue_box.height() // 2))
    assert panel.continue_box.isChecked()
    with qtbot.waitSignal(panel.use_as_reference_requested) as blocker:
        qtbot.mouseClick(panel.use_button, Qt.MouseButton.LeftButton)
    sent = blocker.args[0]
    assert sent["path"] == ANALYSIS["path"] and sent["tempo"] == 96.04 and sent["continue_audio"] is True


def test_results_rows_and_play_buttons(qtbot, panel: ReferencePanel) -> None:
    panel.show_results(RESULTS)
    assert panel.result_paths() == ["/music/a.wav", "/music/b.wav"]
    row = panel.results.topLevelItem(0)
    assert [row.text(i) for i in range(1, 6)] == ["a", "yours", "0.93", "96", "D minor"]
    assert "same key" in row.toolTip(1)
    assert panel.results.topLevelItem(1).text(4) == "–"
    with qtbot.waitSignal(panel.play_requested) as blocker:
        qtbot.mouseClick(panel.play_button(1), Qt.MouseButton.LeftButton)
    assert blocker.args == ["/music/b.wav"]
    panel.set_playing("/music/b.wav")  # the dock says it is playing: the button now stops it
    assert panel.play_button(1).text() == "■" and panel.play_button(0).text() == "▶"
    with qtbot.waitSignal(panel.stop_requested):
        qtbot.mouseClick(panel.play_button(1), Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(panel.reference_requested) as blocker:
        panel.results.itemDoubleClicked.emit(panel.results.topLevelItem(0), 1)
    assert blocker.args == ["/music/a.wav"]
    panel.show_results([])
    assert panel.results.topLevelItemCount() == 0 and "Nothing similar" in panel.status_label.text()


def test_index_folder_and_progress(qtbot, panel: ReferencePanel, tmp_path: Path) -> None:
    with qtbot.waitSignal(panel.index_folder_requested) as blocker:
        panel.request_index_folder(str(tmp_path))
    assert blocker.args == [str(tmp_path)]
    panel.show_progress(0.25, "song.wav (1 of 4)")
    assert panel.progress.isVisible() and panel.progress.value() == 250 and not panel.index_button.isEnabled()
    panel.show_progress(1.0, "4 added")
    assert not panel.progress.isVisible() and panel.index_button.isEnabled()
    assert panel.status_label.text() == "4 added"


def test_text_search_emits_on_return(qtbot, panel: ReferencePanel) -> None:
    qtbot.keyClicks(panel.search_edit, "dark ambient for sci-fi")
    with qtbot.waitSignal(panel.search_text_requested) as blocker:
        qtbot.keyClick(panel.search_edit, Qt.Key.Key_Return)
    assert blocker.args == ["dark ambient for sci-fi"]
