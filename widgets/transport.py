"""Transport: play/pause, stop, loop, metronome and count-in, snap, follow, the output device,
the master meter, the playhead position, and why audio cannot play.

Plain signals out; the window decides what they do. Toggle buttons look different when on
(a lit frame), since the loop button used to look the same either way.
"""

from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import QSignalBlocker, QSize, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget

from widgets.flow_layout import FlowLayout
from widgets.level_meter import LevelMeter
from widgets.theme import icon

TOGGLE_STYLE = ("QToolButton:checked { background: #2d3f66; border: 1px solid #5b8cff; border-radius: 3px; }"
                "QToolButton:!checked { border: 1px solid transparent; }")
SNAP_CHOICES = (("Snap: bar", "bar"), ("Snap: beat", "beat"), ("Snap: off", None))
DEFAULT_DEVICE = "Default output"


class Transport(QWidget):
    play_toggled = Signal()
    stop_clicked = Signal()
    loop_toggled = Signal(bool)
    metronome_toggled = Signal(bool)
    count_in_toggled = Signal(bool)
    follow_toggled = Signal(bool)
    snap_changed = Signal(object)        # "bar", "beat" or None
    device_chosen = Signal(object)       # a device name, or None for the system default
    devices_requested = Signal()         # the picker is about to open: list the devices again

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("transport")
        self.play_button = self._button("play", "Play / pause (Space)")
        self.stop_button = self._button("stop", "Stop and go back to the start")
        self.loop_button = self._button("loop", "Loop the loop region (drag on the ruler), or the whole piece",
                                        checkable=True)
        self.metronome_button = self._button("metronome", "Metronome: click on every beat", checkable=True,
                                             text="♩")
        self.count_in_button = self._button("count_in", "Count in one bar of clicks before playing",
                                            checkable=True, text="1·2·3·4")
        self.follow_button = self._button("follow", "Follow the playhead: scroll the lanes along while playing",
                                          checkable=True, text="⇥")
        self.follow_button.setChecked(True)
        self.snap_box = QComboBox(self)
        self.snap_box.setObjectName("snapBox")
        for label, value in SNAP_CHOICES:
            self.snap_box.addItem(label, value)
        self.snap_box.setToolTip("What loop region edges snap to: bars, beats, or nothing")
        self.device_box = _DeviceBox(self)
        self.device_box.setObjectName("deviceBox")
        self.device_box.setToolTip("Audio output: the device playback goes to (the list is re-read when opened)")
        self.device_box.addItem(DEFAULT_DEVICE, None)
        self.device_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.device_box.setMinimumContentsLength(12)
        self.master_meter = LevelMeter(self, vertical=False)
        self.master_meter.setFixedSize(90, 12)
        self.master_meter.setToolTip("Master level: peak and RMS, left and right, in dBFS")
        self.position_label = QLabel("1.1.00   0:00.0", self)
        self.position_label.setObjectName("positionLabel")
        self.position_label.setToolTip("Playhead: bar.beat and minutes:seconds")
        self.info_label = QLabel("", self)
        self.info_label.setToolTip("Tempo, meter and key of the session")
        self.audio_status = QLabel("", self)
        self.audio_status.setObjectName("audioStatus")
        self.audio_status.setWordWrap(True)
        self.audio_status.setMinimumWidth(160)

        # Two groups in a wrapping layout: on a narrow window the session info, the audio
        # status and the output picker move to a second row instead of widening the window.
        controls = self._group(self.play_button, self.stop_button, self.loop_button, self.metronome_button,
                               self.count_in_button, self.follow_button, self.snap_box, self.position_label,
                               self.master_meter)
        status = self._group(self.info_label, self.audio_status, self.device_box)
        status.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        status.layout().setStretch(1, 1)  # the audio status takes the room the row has
        layout = FlowLayout(self, spacing=12)
        layout.setContentsMargins(10, 4, 10, 4)
        layout.addWidget(controls)
        layout.addWidget(status)

        self._playing_shown = False
        self.play_button.clicked.connect(self.play_toggled)
        self.stop_button.clicked.connect(self.stop_clicked)
        self.loop_button.toggled.connect(self.loop_toggled)
        self.metronome_button.toggled.connect(self.metronome_toggled)
        self.count_in_button.toggled.connect(self.count_in_toggled)
        self.follow_button.toggled.connect(self.follow_toggled)
        self.snap_box.currentIndexChanged.connect(lambda i: self.snap_changed.emit(SNAP_CHOICES[i][1]))
        self.device_box.activated.connect(lambda i: self.device_chosen.emit(self.device_box.itemData(i)))
        self.device_box.about_to_open.connect(self.devices_requested)

    def _group(self, *widgets: QWidget) -> QWidget:
        group = QWidget(self)
        row = QHBoxLayout(group)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        for w in widgets:
            row.addWidget(w)
        return group

    def _button(self, name: str, tip: str, *, checkable: bool = False, text: str = "") -> QToolButton:
        b = QToolButton(self)
        b.setObjectName(f"{name}Button")
        b.setIcon(icon(name))
        if text and b.icon().isNull():
            b.setText(text)
        b.setIconSize(QSize(22, 22))
        b.setToolTip(tip)
        b.setCheckable(checkable)
        if checkable:
            b.setStyleSheet(TOGGLE_STYLE)
        return b

    # --- state shown --------------------------------------------------------------------------
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

    def set_devices(self, names: Sequence[str], current: str | None = None) -> None:
        """Fill the output picker: the system default first, then ``names``; select ``current``."""
        with QSignalBlocker(self.device_box):
            self.device_box.clear()
            self.device_box.addItem(DEFAULT_DEVICE, None)
            for name in names:
                self.device_box.addItem(name, name)
            index = self.device_box.findData(current) if current is not None else 0
            self.device_box.setCurrentIndex(max(0, index))
        if not names:
            self.device_box.setToolTip("No audio output device was found: plug one in, then open this list again")
        else:
            self.device_box.setToolTip("Audio output: the device playback goes to (the list is re-read when opened)")

    def set_snap(self, snap: str | None) -> None:
        index = next(i for i, (_, value) in enumerate(SNAP_CHOICES) if value == snap)
        with QSignalBlocker(self.snap_box):
            self.snap_box.setCurrentIndex(index)

    def snap(self) -> str | None:
        return SNAP_CHOICES[self.snap_box.currentIndex()][1]


class _DeviceBox(QComboBox):
    """A combo box that says when it is about to open, so the device list is fresh."""

    about_to_open = Signal()

    def showPopup(self) -> None:  # noqa: N802 (Qt's name)
        self.about_to_open.emit()
        super().showPopup()
