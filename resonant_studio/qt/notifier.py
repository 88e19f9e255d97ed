"""Where the studio's messages go: the status bar and a non-blocking banner, never a modal box.

Tests observe ``messages`` (and the ``posted`` signal) instead of clicking through dialogs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from PySide6.QtCore import QObject, Signal

Action = tuple[str, Callable[[], None]]


@dataclass(frozen=True)
class Message:
    level: str          # "info" | "error" | "offer"
    text: str
    actions: tuple[Action, ...] = field(default=())
    topic: str = ""
    """What the message is about ("export", "save", "generate"...): a later success on the same
    topic clears an error banner about it."""


class Notifier(QObject):
    posted = Signal(object)   # Message

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.messages: list[Message] = []

    def _post(self, message: Message) -> None:
        self.messages.append(message)
        del self.messages[:-200]
        self.posted.emit(message)

    def info(self, text: str, *, topic: str = "") -> None:
        """A passing note: shown in the status bar (and clears an error banner of the same topic)."""
        self._post(Message("info", sentence(text), topic=topic))

    def error(self, text: str, *, topic: str = "") -> None:
        """Something the person asked for did not happen: status bar and banner."""
        self._post(Message("error", sentence(text), topic=topic))

    def offer(self, text: str, actions: list[Action]) -> None:
        """A question answered by buttons in the banner (e.g. recover autosaved work)."""
        self._post(Message("offer", sentence(text), tuple(actions)))

    def last(self, level: str | None = None) -> Message | None:
        for m in reversed(self.messages):
            if level is None or m.level == level:
                return m
        return None


def sentence(text: str) -> str:
    text = str(text).strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?", ")")) else text + "."
