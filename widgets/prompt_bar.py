"""The prompt bar: what to make (text), with which engine, how long, which seed; Generate.

Other areas add pickers (style presets, a reference track) with ``add_picker``; they land
in the second row, after the seed. That row wraps (``FlowLayout``) rather than setting a
minimum width: in one row, settings and pickers wanted 1239 px, which pushed the window
past 1600 px with the Like This Song panel open.
"""

from __future__ import annotations

import random

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from widgets.flow_layout import FlowLayout
from widgets.theme import icon

MAX_SEED = 2**31 - 1
GENERATE_TIP = "Generate every unlocked track from the prompt (locked tracks stay and the new parts fit them)"
GENERATE_BUSY_TIP = "A generation is running: wait for it or cancel it (Esc) before generating again"


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
        self.pin_button = QToolButton(self)
        self.pin_button.setObjectName("pinSeedButton")
        self.pin_button.setText("Pin")
        self.pin_button.setCheckable(True)
        self.pin_button.toggled.connect(self._show_pin)
        self._show_pin(False)
        # a seed typed (or rolled with the dice) is one the person wants: it pins itself
        self.seed_box.valueChanged.connect(lambda _v: self.pin_button.setChecked(True))

        self.generate_button = QPushButton(icon("generate"), "Generate", self)
        self.generate_button.setObjectName("generateButton")
        self.generate_button.setToolTip(GENERATE_TIP)
        self.generate_button.clicked.connect(self.generate_requested)
        self.prompt_edit.returnPressed.connect(self.generate_requested)

        # Two rows: the prompt and Generate get the full width; the settings and any pickers
        # other areas add sit underneath.
        top = QHBoxLayout()
        top.setSpacing(6)
        top.addWidget(QLabel("Prompt", self))
        top.addWidget(self.prompt_edit, 1)
        top.addWidget(self.generate_button)
        self._options = FlowLayout(spacing=6)
        for w in (self.engine_box, self.bars_box, self.seed_box, self.dice_button, self.pin_button):
            self._options.addWidget(w)
        self._picker_index = self._options.count()
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(10, 8, 10, 6)
        self._layout.setSpacing(6)
        self._layout.addLayout(top)
        self._layout.addLayout(self._options)

    def add_picker(self, widget: QWidget) -> None:
        """Add a control (a preset picker, ...) to the settings row, after those already there."""
        widget.setParent(self)
        self._options.insertWidget(self._picker_index, widget)
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

    @property
    def seed_pinned(self) -> bool:
        return self.pin_button.isChecked()

    def seed_for_generation(self) -> int:
        """The seed a Generate uses: the box's when pinned (the same music again), else a new
        one, shown in the box so the take's seed can be read and pinned."""
        if not self.seed_pinned:
            with QSignalBlocker(self.seed_box):
                self.seed_box.setValue(random.randint(0, MAX_SEED))
        return self.seed_box.value()

    def show_seed(self, seed: int | None) -> None:
        """The seed the newest take used (unless a seed is pinned: the box then keeps it)."""
        if seed is not None and not self.seed_pinned:
            with QSignalBlocker(self.seed_box):
                self.seed_box.setValue(int(seed) % (MAX_SEED + 1))

    def _show_pin(self, pinned: bool) -> None:
        self.pin_button.setToolTip("The seed is pinned: Generate and Regenerate make the same music again. "
                                   "Click to get a new variation each time" if pinned else
                                   "Each Generate and Regenerate makes a new variation (the box shows its seed). "
                                   "Pin to make the same music again")

    def set_busy(self, busy: bool) -> None:
        """While a generation runs Generate is off, and its tooltip says why."""
        self.generate_button.setEnabled(not busy)
        self.generate_button.setToolTip(GENERATE_BUSY_TIP if busy else GENERATE_TIP)

    def option_rows(self) -> int:
        """How many rows the settings and pickers wrap onto at the current width."""
        return self._options.rows()
