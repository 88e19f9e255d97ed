"""The "Like This Song" panel: drop a reference, see its analysis, find similar music.

Plain data in (``show_analysis(dict)``, ``show_results(list[dict])``, ``show_progress``),
signals out (``file_dropped``, ``index_folder_requested``, ``search_text_requested``,
``use_as_reference_requested``, ``play_requested``). The panel never analyses or searches
itself; the window does that off the UI thread and hands the results back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

AUDIO_SUFFIXES = (".wav", ".wave", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff")
AUDIO_FILTER = "Audio files (*.wav *.flac *.ogg *.mp3 *.aif *.aiff)"
PATH_ROLE = Qt.ItemDataRole.UserRole
USE_TIP = ("Set the session's tempo and key from the reference and add its style words to the prompt; "
           "the next generation follows it")
USE_NEEDS_REFERENCE = "Drop or choose a reference song first: its tempo, key and style are what this uses"
INDEX_TIP = "Add every audio file in a folder to your library (unchanged files are skipped, missing ones removed)"


def dropped_audio_path(urls) -> str | None:
    """The first local audio file among dropped URLs."""
    for url in urls:
        if url.isLocalFile() and url.toLocalFile().lower().endswith(AUDIO_SUFFIXES):
            return url.toLocalFile()
    return None


class DropZone(QFrame):
    """Accepts one dropped audio file; clicking "Choose..." opens a file dialog."""

    file_dropped = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName("referenceDropZone")
        self.label = QLabel("Drop a song here to find music like it")
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setWordWrap(True)
        self.choose_button = QPushButton("Choose file…")
        self.choose_button.setToolTip("Pick an audio file (WAV, FLAC, OGG, MP3) to find music like it")
        self.choose_button.clicked.connect(self._choose)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(self.choose_button, alignment=Qt.AlignmentFlag.AlignCenter)
        self.setMinimumHeight(90)

    def _choose(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a reference song", "", AUDIO_FILTER)
        if path:
            self.file_dropped.emit(path)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and dropped_audio_path(event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        path = dropped_audio_path(event.mimeData().urls()) if event.mimeData().hasUrls() else None
        if path:
            event.acceptProposedAction()
            self.file_dropped.emit(path)
        else:
            event.ignore()


class EnvelopeView(QWidget):
    """Draws a [W, 2] min/max envelope (values in -1..1)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._envelope = np.zeros((0, 2), dtype=np.float32)
        self.setMinimumHeight(48)

    @property
    def envelope(self) -> np.ndarray:
        return self._envelope

    def set_envelope(self, envelope: Any) -> None:
        env = np.asarray(envelope if envelope is not None else np.zeros((0, 2)), dtype=np.float32)
        self._envelope = env.reshape(-1, 2) if env.size else np.zeros((0, 2), dtype=np.float32)
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt name)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#16181c"))
        n = len(self._envelope)
        if n:
            w, h = self.width(), self.height()
            mid = h / 2.0
            xs = np.linspace(0, w - 1, n)
            top = [QPointF(x, mid - float(hi) * mid) for x, hi in zip(xs, self._envelope[:, 1])]
            bottom = [QPointF(x, mid - float(lo) * mid) for x, lo in zip(xs[::-1], self._envelope[::-1, 0])]
            painter.setPen(QPen(QColor("#5b8cff"), 1))
            painter.setBrush(QColor("#5b8cff"))
            painter.drawPolygon(QPolygonF(top + bottom))
        painter.end()


SOURCES = (("Your music", "imported"), ("Generated takes", "generated"), ("Everything", None))


def _fmt_tempo(value: Any) -> str:
    return "–" if value is None else f"{float(value):.1f} bpm"


def _fmt_duration(seconds: Any) -> str:
    if seconds is None:
        return "–"
    m, s = divmod(float(seconds), 60)
    return f"{int(m)}:{s:04.1f}"


class ReferencePanel(QWidget):
    file_dropped = Signal(str)
    """A reference file to analyse (dropped or chosen)."""
    index_folder_requested = Signal(str)
    search_text_requested = Signal(str)
    use_as_reference_requested = Signal(object)
    """The shown analysis (a dict) with ``continue_audio`` set from the check box."""
    play_requested = Signal(str)
    stop_requested = Signal()
    reference_requested = Signal(str)
    """A result was double-clicked: make that file the reference."""
    source_changed = Signal(object)
    """The source filter: "imported" (your music), "generated", or None (all)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._analysis: dict[str, Any] | None = None
        self._playing: str | None = None
        self.drop_zone = DropZone()
        self.drop_zone.file_dropped.connect(self.file_dropped)

        self.title_label = QLabel("No reference yet")
        self.title_label.setObjectName("referenceTitle")
        self.tempo_label, self.key_label, self.loudness_label, self.duration_label = (QLabel("–") for _ in range(4))
        form = QFormLayout()
        form.addRow("Tempo", self.tempo_label)
        form.addRow("Key", self.key_label)
        form.addRow("Loudness", self.loudness_label)
        form.addRow("Length", self.duration_label)
        self.waveform = EnvelopeView()
        self.notes_label = QLabel("")
        self.notes_label.setWordWrap(True)

        self.continue_box = QCheckBox("Continue this audio (MusicGen)")
        self.continue_box.setToolTip("MusicGen starts from the reference's audio and continues it; "
                                     "other engines follow its tempo, key and energy only")
        self.use_button = QPushButton("Use as reference")
        self._enable_use(False)
        self.use_button.clicked.connect(self._use_as_reference)

        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Search your library: e.g. dark ambient for sci-fi")
        self.search_edit.setToolTip("Describe what you are looking for and press Return to search your library "
                                    "and your generated takes by meaning")
        self.search_edit.returnPressed.connect(self._search_text)
        self.index_button = QPushButton("Index folder…")
        self.index_button.setToolTip(INDEX_TIP)
        self.index_button.clicked.connect(lambda: self.request_index_folder())
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setVisible(False)
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)

        self.source_box = QComboBox()
        for label, value in SOURCES:
            self.source_box.addItem(label, value)
        self.source_box.setToolTip("Which music to search: yours (indexed folders), the app's own generations, or both")
        self.source_box.currentIndexChanged.connect(lambda _i: self.source_changed.emit(self.source()))
        self.results = QTreeWidget()
        self.results.setColumnCount(6)
        self.results.setHeaderLabels(["", "Title", "From", "Score", "Tempo", "Key"])
        self.results.setRootIsDecorated(False)
        self.results.setToolTip("▶ plays a result (again to stop); double-click one to make it the reference")
        self.results.itemDoubleClicked.connect(lambda item, _col: self._ask_reference(item.data(1, PATH_ROLE)))

        layout = QVBoxLayout(self)
        layout.addWidget(self.drop_zone)
        layout.addWidget(self.title_label)
        layout.addLayout(form)
        layout.addWidget(self.waveform)
        layout.addWidget(self.notes_label)
        # One above the other, not side by side: side by side they held the panel (and with it
        # the window) at least 382 px wide.
        layout.addWidget(self.use_button)
        layout.addWidget(self.continue_box)
        layout.addWidget(self.search_edit)
        layout.addWidget(self.source_box)
        layout.addWidget(self.results, stretch=1)
        row = QHBoxLayout()
        row.addWidget(self.index_button)
        row.addWidget(self.progress, stretch=1)
        layout.addLayout(row)
        layout.addWidget(self.status_label)

    # --- data in -----------------------------------------------------------------------------
    def show_analysis(self, analysis: Mapping[str, Any]) -> None:
        """Show a reference's analysis: keys path, title, tempo, key, loudness_lufs, duration,
        waveform ([W, 2] min/max), warnings (any may be missing)."""
        self._analysis = dict(analysis)
        a = self._analysis
        self.title_label.setText(str(a.get("title") or Path(str(a.get("path", ""))).stem or "Reference"))
        self.title_label.setToolTip(str(a.get("path", "")))
        self.tempo_label.setText(_fmt_tempo(a.get("tempo")))
        self.key_label.setText(str(a.get("key") or "–"))
        lufs = a.get("loudness_lufs")
        self.loudness_label.setText("–" if lufs is None else f"{float(lufs):.1f} LUFS")
        self.duration_label.setText(_fmt_duration(a.get("duration")))
        self.waveform.set_envelope(a.get("waveform"))
        self.notes_label.setText("\n".join(a.get("warnings") or ()))
        self._enable_use(a.get("tempo") is not None or a.get("key") is not None,
                         "Neither a tempo nor a key could be read from this song, so there is nothing to follow")

    def clear_analysis(self) -> None:
        self._analysis = None
        self.title_label.setText("No reference yet")
        for label in (self.tempo_label, self.key_label, self.loudness_label, self.duration_label):
            label.setText("–")
        self.waveform.set_envelope(None)
        self.notes_label.setText("")
        self._enable_use(False)

    def _enable_use(self, enabled: bool, why: str = USE_NEEDS_REFERENCE) -> None:
        """Offer "Use as reference", or say in its tooltip why it is off."""
        self.use_button.setEnabled(enabled)
        self.use_button.setToolTip(USE_TIP if enabled else why)

    def show_results(self, results: Sequence[Mapping[str, Any]]) -> None:
        """Rows of path, title, score, tempo, key, reasons (list of str)."""
        self.results.clear()
        for r in results:
            path = str(r.get("path", ""))
            item = QTreeWidgetItem(["", str(r.get("title") or Path(path).stem),
                                    "generated" if r.get("source") == "generated" else "yours",
                                    f"{float(r.get('score', 0.0)):.2f}",
                                    "–" if r.get("tempo") is None else f"{float(r['tempo']):.0f}", str(r.get("key") or "–")])
            item.setData(1, PATH_ROLE, path)
            item.setToolTip(1, "\n".join([path, *r.get("reasons", ())]))
            self.results.addTopLevelItem(item)
            button = QToolButton()
            self.results.setItemWidget(item, 0, button)
            button.clicked.connect(lambda _=False, p=path: self._play(p))
        self._playing = None
        self._show_play_state()
        self.status_label.setText(f"{len(results)} similar" if results else "Nothing similar found in your library yet")

    def show_progress(self, fraction: float, message: str = "") -> None:
        """Indexing progress; ``fraction`` >= 1 hides the bar."""
        done = fraction >= 1.0
        self.progress.setVisible(not done)
        self.progress.setValue(int(max(0.0, min(1.0, fraction)) * 1000))
        self.index_button.setEnabled(done)
        self.index_button.setToolTip(INDEX_TIP if done else "A folder is being indexed: wait for it to finish")
        self.status_label.setText(message)

    def show_message(self, text: str) -> None:
        self.status_label.setText(text)

    @property
    def analysis(self) -> dict[str, Any] | None:
        return None if self._analysis is None else dict(self._analysis)

    def result_paths(self) -> list[str]:
        return [self.results.topLevelItem(i).data(1, PATH_ROLE) for i in range(self.results.topLevelItemCount())]

    def play_button(self, row: int) -> QToolButton:
        return self.results.itemWidget(self.results.topLevelItem(row), 0)

    # --- signals out ---------------------------------------------------------------------------
    def request_index_folder(self, folder: str | None = None) -> None:
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self, "Index a music folder")
        if folder:
            self.index_folder_requested.emit(folder)

    def _use_as_reference(self) -> None:
        if self._analysis is not None:
            self.use_as_reference_requested.emit({**self._analysis, "continue_audio": self.continue_box.isChecked()})

    def _search_text(self) -> None:
        text = self.search_edit.text().strip()
        if text:
            self.search_text_requested.emit(text)

    def source(self) -> str | None:
        return self.source_box.currentData()

    def set_playing(self, path: str | None) -> None:
        """What the app's player is previewing (None: nothing): ▶ turns to ■ on that row."""
        self._playing = path
        self._show_play_state()

    def _show_play_state(self) -> None:
        for i in range(self.results.topLevelItemCount()):
            item = self.results.topLevelItem(i)
            path = item.data(1, PATH_ROLE)
            button = self.results.itemWidget(item, 0)
            if button is not None:
                playing = path == self._playing
                button.setText("■" if playing else "▶")
                button.setToolTip(f"{'Stop' if playing else 'Play'} {Path(path).name}")

    def _play(self, path: str | None) -> None:
        if not path:
            return
        if path == self._playing:
            self.stop_requested.emit()
        else:
            self.play_requested.emit(path)

    def _ask_reference(self, path: str | None) -> None:
        if path:
            self.reference_requested.emit(path)
