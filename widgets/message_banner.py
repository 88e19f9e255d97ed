"""A non-blocking message strip above the timeline, with optional action buttons.

Used instead of modal message boxes, which would block the event loop (and tests).
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget


class MessageBanner(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel("", self)
        self.label.setObjectName("messageBanner")
        self.label.setWordWrap(True)
        self._buttons: list[QPushButton] = []
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(0)
        self._layout.addWidget(self.label, 1)
        self.close_button = QPushButton("Dismiss", self)
        self.close_button.setToolTip("Hide this message")
        self.close_button.clicked.connect(self.dismiss)
        self._layout.addWidget(self.close_button)
        self.hide()

    def show_message(self, text: str, level: str = "error",
                     actions: list[tuple[str, Callable[[], None]]] | None = None) -> None:
        self._clear_actions()
        self.label.setText(text)
        self.label.setProperty("level", level)
        self.label.style().unpolish(self.label)
        self.label.style().polish(self.label)
        for title, callback in actions or []:
            button = QPushButton(title, self)
            button.setToolTip(title)
            button.clicked.connect(lambda _=False, cb=callback: (self.dismiss(), cb()))
            self._layout.insertWidget(self._layout.count() - 1, button)
            self._buttons.append(button)
        self.show()

    def action_button(self, title: str) -> QPushButton | None:
        return next((b for b in self._buttons if b.text() == title), None)

    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""

    def dismiss(self) -> None:
        self._clear_actions()
        self.hide()

    def _clear_actions(self) -> None:
        for b in self._buttons:
            self._layout.removeWidget(b)
            b.deleteLater()
        self._buttons.clear()
