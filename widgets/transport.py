"""Transport: play/pause, stop, loop, the playhead position, and why audio cannot play."""

from __future__ import annotations

from PySide6.QtCore import QSize, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from widgets.theme import icon


class Transport(QWidget):
    play_toggled = Signal()
    stop_clicked = Signal()
    loop_toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("transport")
        self.play_button = QToolButton(self)
        self.play_button.setIcon(icon("play"))
        self.play_button.setIconSize(QSize(22, 22))
        self.play_button.setToolTip("Play / pause (Space)")
        self.stop_button = QToolButton(self)
        self.stop_button.setIcon(icon("stop"))
        self.stop_button.setIconSize(QSize(22, 22))
        self.stop_button.setToolTip("Stop and go back to the start")
        self.loop_button = QToolButton(self)
        self.loop_button.setIcon(icon("loop"))
        self.loop_button.setIconSize(QSize(22, 22))
        self.loop_button.setCheckable(True)
        self.loop_button.setToolTip("Loop the whole piece")
        self.position_label = QLabel("1.1.00   0:00.0", self)
        self.position_label.setObjectName("positionLabel")
        self.position_label.setToolTip("Playhead: bar.beat and minutes:seconds")
        self.info_label = QLabel("", self)
        self.info_label.setToolTip("Tempo, meter and key of the session")
        self.audio_status = QLabel("", self)
        self.audio_status.setObjectName("audioStatus")
        self.audio_status.setWordWrap(True)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 10, 4)
        layout.setSpacing(6)
        for w in (self.play_button, self.stop_button, self.loop_button, self.position_label, self.info_label):
            layout.addWidget(w)
        layout.addWidget(self.audio_status, 1)

        self._playing_shown = False
        self.play_button.clicked.connect(self.play_toggled)
        self.stop_button.clicked.connect(self.stop_clicked)
        self.loop_button.toggled.connect(self.loop_toggled)

    def set_playing(self, playing: bool) -> None:
        if playing == self._playing_shown:
            return
        self._playing_shown = playing
        self.play_button.setIcon(icon("pause" if playing else "play"))
        self.play_button.setToolTip("Pause (Space)" if playing else "Play (Space)")

    def set_position(self, seconds: float, tempo: float, beats_per_bar: float) -> None:
        beats = seconds * tempo / 60.0
        per_bar = max(1, int(round(beats_per_bar)))
        bar, beat = divmod(int(beats), per_bar)
        ticks = int((beats - int(beats)) * 100)
        minutes, secs = divmod(seconds, 60.0)
        text = f"{bar + 1}.{beat + 1}.{ticks:02d}   {int(minutes)}:{secs:04.1f}"
        if text != self.position_label.text():
            self.position_label.setText(text)

    def set_info(self, text: str) -> None:
        self.info_label.setText(text)

    def set_unavailable(self, reason: str | None) -> None:
        """Say why audio cannot play (or clear it); the buttons stay usable to move the playhead."""
        self.audio_status.setText(reason or "")
        self.audio_status.setToolTip(reason or "")
