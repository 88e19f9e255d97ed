"""Style, role and quality pickers for the prompt bar, and a "Save as preset" button.

Plain lists in (name, description), plain names out; the application decides what a preset
means. "none" is the first choice of the style and role pickers; the quality picker always
has a tier selected.
"""

from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QToolButton, QWidget

NO_CHOICE = "none"
PICKER_CHARS = 14
TIP = Qt.ItemDataRole.ToolTipRole
Choice = tuple[str, str]
"""(name, description)."""


class _Picker(QComboBox):
    def __init__(self, what: str, allow_none: bool, parent: QWidget) -> None:
        super().__init__(parent)
        self.what = what
        self.allow_none = allow_none
        self.setObjectName(f"{what}Picker")
        # Sized to a short label, not to the longest preset name ("quality: high (model missing)"):
        # the full name is in the list and the tooltip, and the prompt bar stays narrow.
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(PICKER_CHARS)

    def set_choices(self, choices: Sequence[Choice], unavailable: Sequence[str] = ()) -> None:
        current = self.current()
        with QSignalBlocker(self):
            self.clear()
            if self.allow_none:
                self.addItem(f"{self.what}: {NO_CHOICE}", None)
                self.setItemData(0, f"No {self.what} preset", role=TIP)
            for name, description in choices:
                label = f"{self.what}: {name}" + (" (model missing)" if name in unavailable else "")
                self.addItem(label, name)
                self.setItemData(self.count() - 1, description, role=TIP)
            self.select(current)
        self._update_tooltip()

    def current(self) -> str | None:
        return self.currentData()

    def select(self, name: str | None) -> bool:
        index = self.findData(name)
        if index < 0:
            if name is not None or not self.allow_none:
                return False
            index = 0
        self.setCurrentIndex(index)
        self._update_tooltip()
        return True

    def _update_tooltip(self) -> None:
        tip = self.itemData(self.currentIndex(), role=TIP) if self.currentIndex() >= 0 else ""
        self.setToolTip(f"{self.what.title()} preset: {tip}" if tip else f"{self.what.title()} preset")


class PresetPickers(QWidget):
    """Three combo boxes (style, role, quality) and a save button, for ``PromptBar.add_picker``."""

    changed = Signal()
    save_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("presetPickers")
        self.style_box = _Picker("style", True, self)
        self.role_box = _Picker("role", True, self)
        self.quality_box = _Picker("quality", False, self)
        self.save_button = QToolButton(self)
        self.save_button.setText("Save preset…")
        self.save_button.setToolTip("Save the current style settings as a preset of your own")
        self.save_button.clicked.connect(self.save_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        for box in (self.style_box, self.role_box, self.quality_box):
            layout.addWidget(box)
            box.currentIndexChanged.connect(lambda _i, b=box: (b._update_tooltip(), self.changed.emit()))
        layout.addWidget(self.save_button)

    def set_choices(self, styles: Sequence[Choice], roles: Sequence[Choice], qualities: Sequence[Choice],
                    unavailable: Sequence[str] = ()) -> None:
        """Fill the pickers; ``unavailable`` names tiers whose model is missing (marked, still selectable)."""
        self.style_box.set_choices(styles)
        self.role_box.set_choices(roles)
        self.quality_box.set_choices(qualities, unavailable)

    def style(self) -> str | None:
        return self.style_box.current()

    def role(self) -> str | None:
        return self.role_box.current()

    def quality(self) -> str | None:
        return self.quality_box.current()

    def select(self, *, style: str | None = None, role: str | None = None, quality: str | None = None) -> None:
        self.style_box.select(style)
        self.role_box.select(role)
        if quality is not None:
            self.quality_box.select(quality)

    def set_busy(self, busy: bool) -> None:
        self.save_button.setEnabled(not busy)
        self.save_button.setToolTip("A generation is running: save a preset when it has finished" if busy
                                    else "Save the current style settings as a preset of your own")
