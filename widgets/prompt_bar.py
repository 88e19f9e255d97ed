"""The prompt bar: what to make (text), with which engine, how long, which seed; Generate.

Other areas add pickers (style presets, a reference track) with ``add_picker``; they land
between the seed and the Generate button.
"""

from __future__ import annotations

import random

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QToolButton, QWidget

from widgets.theme import icon

MAX_SEED = 2**31 - 1


class PromptBar(QWidget):
    generate_requested = Signal()

    def __init__(self, engines: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("promptBar")
        self.prompt_edit = QLineEdit(self)
        self.prompt_edit.setObjectName("promptEdit")
        self.prompt_edit.setPlaceholderText("Describe the music, e.g. \"moody lo-fi hip hop in A minor, 84 bpm, "
                                            "dusty drums, warm bass\"")
        self.prompt_edit.setToolTip("Describe the music: genre, mood, tempo, key, instruments. "
                                    "Press Enter or Generate")
        self.prompt_edit.setClearButtonEnabled(True)

        self.engine_box = QComboBox(self)
        self.engine_box.addItems(engines)
        self.engine_box.setToolTip("The engine that writes the parts: composer is instant and needs no model; "
                                   "musicgen needs a model folder")

        self.bars_box = QSpinBox(self)
        self.bars_box.setRange(0, 512)
        self.bars_box.setSpecialValueText("auto")
        self.bars_box.setSuffix(" bars")
        self.bars_box.setToolTip("Length in bars (auto: from the prompt, or 8). Used when a new piece starts")

        self.seed_box = QSpinBox(self)
        self.seed_box.setRange(0, MAX_SEED)
        self.seed_box.setPrefix("seed ")
        self.seed_box.setToolTip("The seed: the same prompt and seed give the same music")
        self.dice_button = QToolButton(self)
        self.dice_button.setIcon(icon("dice"))
        self.dice_button.setToolTip("Pick a random seed")
        self.dice_button.clicked.connect(lambda: self.seed_box.setValue(random.randint(0, MAX_SEED)))

        self.generate_button = QPushButton(icon("generate"), "Generate", self)
        self.generate_button.setObjectName("generateButton")
        self.generate_button.setToolTip("Generate every unlocked track from the prompt (locked tracks stay "
                                        "and the new parts fit them)")
        self.generate_button.clicked.connect(self.generate_requested)
        self.prompt_edit.returnPressed.connect(self.generate_requested)

        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(10, 8, 10, 8)
        self._layout.setSpacing(6)
        self._layout.addWidget(QLabel("Prompt", self))
        self._layout.addWidget(self.prompt_edit, 1)
        self._layout.addWidget(self.engine_box)
        self._layout.addWidget(self.bars_box)
        self._layout.addWidget(self.seed_box)
        self._layout.addWidget(self.dice_button)
        self._picker_index = self._layout.count()
        self._layout.addWidget(self.generate_button)

    def add_picker(self, widget: QWidget) -> None:
        """Add a control (a preset picker, ...) just before the Generate button."""
        widget.setParent(self)
        self._layout.insertWidget(self._picker_index, widget)
        self._picker_index += 1

    # --- values -----------------------------------------------------------------------------
    def prompt(self) -> str:
        return self.prompt_edit.text().strip()

    def set_prompt(self, text: str) -> None:
        self.prompt_edit.setText(text)

    def engine(self) -> str:
        return self.engine_box.currentText()

    def set_engine(self, name: str) -> None:
        index = self.engine_box.findText(name)
        if index >= 0:
            self.engine_box.setCurrentIndex(index)

    def bars(self) -> int | None:
        return self.bars_box.value() or None

    def seed(self) -> int:
        return self.seed_box.value()

    def set_busy(self, busy: bool) -> None:
        self.generate_button.setEnabled(not busy)
