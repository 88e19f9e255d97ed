"""The Models dialog: each checkpoint with its size, licence and state, Download / Cancel / Remove,
and a progress bar with speed and time left while it downloads.

Plain data in (``ModelRowData``, progress numbers and text), signals out (a model's name);
downloading is the application's job. Non-modal: the window stays usable during a download.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFrame, QGridLayout, QLabel, QProgressBar, QPushButton,
                               QScrollArea, QVBoxLayout, QWidget)

DOWNLOAD_TEXT = {"missing": "Download", "partial": "Resume", "broken": "Repair", "ready": "Download"}


@dataclass(frozen=True)
class ModelRowData:
    name: str
    label: str
    details: str        # e.g. "preview tier · 2.4 GB · CC-BY-NC-4.0 · musicgen"
    description: str
    state: str          # "missing" | "partial" | "ready" | "broken"
    problem: str = ""


class ModelRow(QFrame):
    """One model: title, details, state, progress and its three buttons."""

    def __init__(self, data: ModelRowData, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("modelRow")
        self.name = data.name
        self.title = QLabel(self)
        self.details = QLabel(self)
        self.details.setWordWrap(True)
        self.state_label = QLabel(self)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress_text = QLabel(self)
        self.progress_text.setWordWrap(True)
        self.download_button = QPushButton("Download", self)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setToolTip("Stop the download; what came is kept and the next Download resumes")
        self.remove_button = QPushButton("Remove", self)
        self.remove_button.setToolTip("Delete this model's files and its converted copy")
        grid = QGridLayout(self)
        grid.addWidget(self.title, 0, 0)
        grid.addWidget(self.state_label, 0, 1)
        grid.addWidget(self.download_button, 0, 2)
        grid.addWidget(self.cancel_button, 0, 3)
        grid.addWidget(self.remove_button, 0, 4)
        grid.addWidget(self.details, 1, 0, 1, 5)
        grid.addWidget(self.progress, 2, 0, 1, 5)
        grid.addWidget(self.progress_text, 3, 0, 1, 5)
        grid.setColumnStretch(0, 1)
        self.downloading = False
        self.update_data(data)

    def update_data(self, data: ModelRowData) -> None:
        self.data = data
        self.title.setText(f"<b>{data.label}</b> <span style='color:gray'>{data.name}</span>")
        self.details.setText(f"{data.details}. {data.description}")
        self.state_label.setToolTip(data.problem or data.state)
        self.download_button.setText(DOWNLOAD_TEXT.get(data.state, "Download"))
        self.download_button.setToolTip(f"Download {data.label} from the Hugging Face hub, check it and convert it")
        self._refresh()

    def set_downloading(self, on: bool) -> None:
        self.downloading = on
        if not on:
            self.progress_text.setText("")
        self._refresh()

    def set_progress(self, fraction: float | None, text: str) -> None:
        if fraction is None:
            self.progress.setRange(0, 0)  # busy indicator (asking the hub, converting)
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(round(fraction * 1000)))
        self.progress_text.setText(text)

    def _refresh(self) -> None:
        state = self.data.state
        self.state_label.setText("downloading" if self.downloading else state)
        self.download_button.setEnabled(not self.downloading and state != "ready")
        self.cancel_button.setVisible(self.downloading)
        self.remove_button.setEnabled(not self.downloading and state != "missing")
        self.progress.setVisible(self.downloading)
        self.progress_text.setVisible(self.downloading or bool(self.progress_text.text()))


class ModelsDialog(QDialog):
    download_requested = Signal(str)
    cancel_requested = Signal(str)
    remove_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.setMinimumSize(640, 420)
        self.folder_label = QLabel(self)
        self.folder_label.setWordWrap(True)
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._rows: dict[str, ModelRow] = {}
        self._list = QWidget(self)
        self._list_layout = QVBoxLayout(self._list)
        self._list_layout.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(self._list)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.folder_label)
        layout.addWidget(scroll, 1)
        layout.addWidget(buttons)

    def set_folder(self, text: str) -> None:
        self.folder_label.setText(text)

    def set_rows(self, rows: Sequence[ModelRowData]) -> None:
        """Show ``rows`` (added, updated in place, or dropped by name)."""
        names = [r.name for r in rows]
        for name in list(self._rows):
            if name not in names:
                self._rows.pop(name).deleteLater()
        for data in rows:
            row = self._rows.get(data.name)
            if row is None:
                row = ModelRow(data, self._list)
                row.download_button.clicked.connect(lambda _=False, n=data.name: self.download_requested.emit(n))
                row.cancel_button.clicked.connect(lambda _=False, n=data.name: self.cancel_requested.emit(n))
                row.remove_button.clicked.connect(lambda _=False, n=data.name: self.remove_requested.emit(n))
                self._list_layout.insertWidget(self._list_layout.count() - 1, row)
                self._rows[data.name] = row
            else:
                row.update_data(data)

    def row(self, name: str) -> ModelRow:
        return self._rows[name]

    def set_downloading(self, name: str, on: bool) -> None:
        if name in self._rows:
            self._rows[name].set_downloading(on)

    def set_progress(self, name: str, fraction: float | None, text: str) -> None:
        if name in self._rows:
            self._rows[name].set_progress(fraction, text)
