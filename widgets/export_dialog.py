"""The Export dialog: where, what (mix, stems, MIDI), format, bit depth and loudness target.

It only collects choices into ``ExportChoices``; writing the files is the app's job. Shown
with ``open()`` (window-modal, non-blocking), so the event loop keeps running.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from tracks.export_choices import ExportChoices


class ExportDialog(QDialog):
    def __init__(self, folder: Path, name: str, *, has_notes: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.setMinimumWidth(460)

        self.folder_edit = QLineEdit(str(folder), self)
        self.folder_edit.setToolTip("The folder the files are written to")
        browse = QPushButton("Browse…", self)
        browse.setToolTip("Choose the export folder")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(browse)

        self.name_edit = QLineEdit(name, self)
        self.name_edit.setToolTip("File name of the mix (without extension); stems go in NAME-stems/")

        self.mix_check = QCheckBox("Mix", self)
        self.mix_check.setChecked(True)
        self.mix_check.setToolTip("One stereo file of everything you hear")
        self.stems_check = QCheckBox("Stems (one file per track)", self)
        self.stems_check.setChecked(True)
        self.stems_check.setToolTip("One file per audible track, as long as the mix, summing to it")
        self.midi_check = QCheckBox("MIDI (composer parts)", self)
        self.midi_check.setChecked(has_notes)
        self.midi_check.setEnabled(has_notes)
        self.midi_check.setToolTip("A .mid file of the parts that have notes" if has_notes
                                   else "No track has notes: MIDI needs a composer take")

        self.format_box = QComboBox(self)
        self.format_box.addItem("WAV", "wav")
        self.format_box.addItem("FLAC", "flac")
        self.format_box.addItem("MP3", "mp3")
        self.format_box.setToolTip("WAV is read everywhere; FLAC is lossless and about half the size; MP3 is small and lossy")
        self.depth_box = QComboBox(self)
        self.depth_box.addItem("24-bit", 24)
        self.depth_box.addItem("16-bit", 16)
        self.depth_box.addItem("32-bit float", 32)
        self.depth_box.setToolTip("24-bit keeps the most detail; 16-bit is CD quality; 32-bit float (WAV) never clips")

        self.loudness_check = QCheckBox("Normalise loudness to", self)
        self.loudness_check.setToolTip("Bring the mix to a loudness target (the peak never goes above -1 dBFS)")
        self.lufs_box = QDoubleSpinBox(self)
        self.lufs_box.setRange(-70.0, 0.0)
        self.lufs_box.setValue(-14.0)
        self.lufs_box.setSuffix(" LUFS")
        self.lufs_box.setToolTip("-14 LUFS suits streaming services; -23 LUFS is the broadcast norm")
        self._enable_lufs(False)
        self.loudness_check.toggled.connect(self._enable_lufs)
        loud_row = QHBoxLayout()
        loud_row.addWidget(self.loudness_check)
        loud_row.addWidget(self.lufs_box)
        loud_row.addStretch(1)

        form = QFormLayout()
        form.addRow("Folder", folder_row)
        form.addRow("Name", self.name_edit)
        form.addRow("Write", self.mix_check)
        form.addRow("", self.stems_check)
        form.addRow("", self.midi_check)
        form.addRow("Format", self.format_box)
        form.addRow("Bit depth", self.depth_box)
        form.addRow("Loudness", loud_row)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        parent=self)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)

    def apply(self, choices: ExportChoices) -> None:
        """Show ``choices`` (what the last export asked for), keeping the session's own name."""
        self.folder_edit.setText(str(choices.folder))
        self.mix_check.setChecked(choices.mix)
        self.stems_check.setChecked(choices.stems)
        if self.midi_check.isEnabled():
            self.midi_check.setChecked(choices.midi)
        for box, value in ((self.format_box, choices.format), (self.depth_box, choices.bit_depth)):
            index = box.findData(value)
            if index >= 0:
                box.setCurrentIndex(index)
        self.loudness_check.setChecked(choices.target_lufs is not None)
        if choices.target_lufs is not None:
            self.lufs_box.setValue(choices.target_lufs)

    def _enable_lufs(self, enabled: bool) -> None:
        """The target is set only with "Loudness target" ticked; off, its tooltip says so."""
        self.lufs_box.setEnabled(enabled)
        self.lufs_box.setToolTip("-14 LUFS suits streaming services; -23 LUFS is the broadcast norm" if enabled
                                 else "Tick the loudness box to set a target; without one the mix keeps its level")

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    def choices(self) -> ExportChoices:
        return ExportChoices(
            folder=Path(self.folder_edit.text().strip() or ".").expanduser(),
            name=self.name_edit.text().strip() or "mix",
            mix=self.mix_check.isChecked(),
            stems=self.stems_check.isChecked(),
            midi=self.midi_check.isChecked() and self.midi_check.isEnabled(),
            format=str(self.format_box.currentData()),
            bit_depth=int(self.depth_box.currentData()),
            target_lufs=self.lufs_box.value() if self.loudness_check.isChecked() else None,
        )
