"""A lane's header: name, role colour, lock, regenerate, mute, solo, gain, pan, meter, takes.

Bound to one ``Track`` both ways: document events update the controls (under a signal
blocker, so nothing echoes back), and the controls write to the track. The header holds no
logic beyond that; regenerating is a request the timeline passes up. A control that is
off says why in its tooltip (a locked lane's regenerate button, the take list while locked).
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from tracks import Track
from tracks.errors import TracksError
from widgets.level_meter import LevelMeter
from widgets.mix_sliders import gain_slider, pan_slider, pan_text
from tracks.track import ROLES
from widgets.theme import icon, icon_with_dim_disabled, role_colour

HEADER_WIDTH = 270
STRIP_WIDTH = 6
LOCKED_TINT = QColor(255, 204, 51, 48)  # amber wash over a locked header


class TrackHeader(QFrame):
    regenerate_requested = Signal(object)   # the Track
    error = Signal(str)                     # a refused change, as a sentence

    def __init__(self, track: Track | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trackHeader")
        self.setFixedWidth(HEADER_WIDTH)
        self.track: Track | None = None

        self._colour = role_colour("other")
        self._locked_shown = False
        self._busy = False
        self.name_label = QLabel("", self)
        self.name_label.setObjectName("trackName")
        self.name_label.setMinimumWidth(60)
        self.role_box = QComboBox(self)
        self.role_box.setObjectName("roleBox")
        for role in ROLES:
            self.role_box.addItem(role, role)
        self.role_box.setToolTip("The track's role: what the engines take it for (a bass follows the kicks of "
                                 "any drums track, harmony and melody follow the chords of tonal tracks)")
        self.role_box.currentIndexChanged.connect(self._role_picked)

        self.lock_button = self._tool("lockButton", checkable=True)
        self.lock_button.setIconSize(QSize(18, 18))
        self.regenerate_button = self._tool("regenerateButton")
        self.regenerate_button.setIcon(icon_with_dim_disabled("regenerate"))
        self.mute_button = self._tool("muteButton", text="M", checkable=True)
        self.solo_button = self._tool("soloButton", text="S", checkable=True)

        self.gain_slider = gain_slider(self)
        self.gain_label = QLabel(self)
        self.gain_label.setFixedWidth(58)
        self.gain_label.setToolTip("Gain in dB")
        self.pan_slider = pan_slider(self)
        self.pan_label = QLabel("C", self)
        self.pan_label.setFixedWidth(34)
        self.pan_label.setToolTip("Pan: C is centre, L100 hard left, R100 hard right")
        self.meter = LevelMeter(self, vertical=True)
        self.meter.setFixedWidth(10)

        self.take_box = QComboBox(self)
        self.take_box.setToolTip("Takes of this track: pick one to hear it (undo brings the previous one back)")
        self.take_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)

        top = QHBoxLayout()
        top.setSpacing(4)
        names = QVBoxLayout()
        names.setSpacing(0)
        names.addWidget(self.name_label)
        names.addWidget(self.role_box)
        top.addLayout(names, 1)
        for b in (self.lock_button, self.regenerate_button, self.mute_button, self.solo_button):
            top.addWidget(b)
        gain_row = QHBoxLayout()
        gain_row.setSpacing(3)
        gain_row.addWidget(self.gain_slider, 1)
        gain_row.addWidget(self.gain_label)
        gain_row.addWidget(self.pan_slider)
        gain_row.addWidget(self.pan_label)
        body = QVBoxLayout()
        body.setContentsMargins(6, 4, 6, 4)
        body.setSpacing(3)
        body.addLayout(top)
        body.addWidget(self.take_box)
        body.addLayout(gain_row)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(STRIP_WIDTH, 0, 0, 0)
        outer.setSpacing(0)
        outer.addLayout(body, 1)
        outer.addWidget(self.meter)

        self.lock_button.toggled.connect(self._write_locked)
        self.mute_button.toggled.connect(lambda v: self._write("muted", v))
        self.solo_button.toggled.connect(lambda v: self._write("solo", v))
        self.regenerate_button.clicked.connect(lambda: self.regenerate_requested.emit(self.track))
        self.gain_slider.valueChanged.connect(self._on_gain_moved)
        self.gain_slider.sliderReleased.connect(self._commit_gain)
        self.gain_slider.reset.connect(self._commit_gain)
        self.pan_slider.valueChanged.connect(self._on_pan_moved)
        self.pan_slider.sliderReleased.connect(self._commit_pan)
        self.pan_slider.reset.connect(self._commit_pan)
        self.take_box.activated.connect(self._write_take)

        if track is not None:
            self.bind(track)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        """The role colour down the left edge; an amber wash when locked (no restyling needed)."""
        super().paintEvent(event)
        painter = QPainter(self)
        painter.fillRect(0, 0, STRIP_WIDTH, self.height(), self._colour)
        if self._locked_shown:
            painter.fillRect(STRIP_WIDTH, 0, self.width() - STRIP_WIDTH, self.height(), LOCKED_TINT)
        painter.end()

    def set_busy(self, busy: bool) -> None:
        """While a generation runs, regenerating is not offered."""
        self._busy = busy
        self._refresh_all()

    def shows_locked(self) -> bool:
        return self._locked_shown

    def _tool(self, name: str, *, text: str = "", tip: str = "", checkable: bool = False) -> QToolButton:
        b = QToolButton(self)
        b.setObjectName(name)
        b.setText(text)
        b.setToolTip(tip)
        b.setCheckable(checkable)
        b.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        return b

    def bind(self, track: Track) -> None:
        """Show ``track`` and edit it (a header is reused for another track after ``unbind``)."""
        self.unbind()
        self.track = track
        self._show_role(track)
        self.mute_button.setToolTip(f"Mute {track.name}: leave it out of the mix")
        self.solo_button.setToolTip(f"Solo {track.name}: hear only soloed tracks")
        track.changed.connect(self._on_track_changed, max_args=3)  # max_args: no signature inspection
        track.take_added.connect(self._on_take_added, max_args=2)
        self._refresh_all()

    def unbind(self) -> None:
        """Stop listening to the track (before the header is reused or thrown away)."""
        if self.track is not None:
            self.track.changed.disconnect(self._on_track_changed)
            self.track.take_added.disconnect(self._on_take_added)
            self.track = None

    # --- document -> widgets ----------------------------------------------------------------
    def _on_track_changed(self, field: str, old: object, new: object) -> None:
        if field == "role" and self.track is not None:
            self._show_role(self.track)
        self._refresh_all()

    def _show_role(self, track: Track) -> None:
        self._colour = role_colour(track.role)
        with QSignalBlocker(self.role_box):
            self.role_box.setCurrentIndex(max(0, self.role_box.findData(track.role)))
        self.role_box.setStyleSheet(f"QComboBox {{ color: {self._colour.name()}; font-size: 8pt; }}")
        self.update()
        self.name_label.setToolTip(f"{track.name} ({track.role})")

    def _role_picked(self, _index: int) -> None:
        role = self.role_box.currentData()
        if self.track is not None and role and role != self.track.role:
            self.track.role = role  # undoable: the session records it

    def _on_take_added(self, track: Track, take: object) -> None:
        self._refresh_takes()

    def _refresh_all(self) -> None:
        t = self.track
        if t is None:
            return
        for button, value in ((self.lock_button, t.locked), (self.mute_button, t.muted),
                              (self.solo_button, t.solo)):
            with QSignalBlocker(button):
                button.setChecked(value)
        self.lock_button.setIcon(icon("lock" if t.locked else "unlock"))
        self.lock_button.setToolTip(f"{t.name} is locked: it never changes, and new parts fit it. Click to unlock"
                                    if t.locked else f"Lock {t.name}: keep it as it is and make new parts fit it")
        self.regenerate_button.setEnabled(not t.locked and not self._busy)
        self.regenerate_button.setToolTip(self._regenerate_tip(t))
        self.name_label.setText(t.name)
        if t.locked != self._locked_shown:
            self._locked_shown = t.locked
            self.update()
        with QSignalBlocker(self.gain_slider):
            self.gain_slider.setValue(int(round(t.gain_db * 10)))
        self._show_gain(t.gain_db)
        with QSignalBlocker(self.pan_slider):
            self.pan_slider.setValue(int(round(t.pan * 100)))
        self._show_pan(t.pan)
        self._refresh_takes()

    def _regenerate_tip(self, t: Track) -> str:
        if t.locked:
            return f"{t.name} is locked, so it cannot be regenerated: unlock it first"
        if self._busy:
            return "A generation is running: wait for it to finish (or cancel it) to regenerate this track"
        return f"Regenerate {t.name} alone, fitting the other tracks (locked tracks never change)"

    def _refresh_takes(self) -> None:
        t = self.track
        if t is None:
            return
        with QSignalBlocker(self.take_box):
            self.take_box.clear()
            for i, take in enumerate(t.takes):
                seed = "" if take.seed is None else f" seed {take.seed}"
                source = take.backend or "imported"
                self.take_box.addItem(f"Take {i + 1} · {source}{seed}")
            if not t.takes:
                self.take_box.addItem("no takes yet")
            if t.active_index is not None:
                self.take_box.setCurrentIndex(t.active_index)
        self.take_box.setEnabled(len(t.takes) > 1 and not t.locked)
        if t.locked:
            tip = f"{t.name} is locked: unlock it to pick another take"
        elif len(t.takes) <= 1:
            tip = f"{t.name} has {'one take' if t.takes else 'no take yet'}: regenerate it to get more to choose from"
        else:
            tip = "Takes of this track: pick one to hear it (undo brings the previous one back)"
        self.take_box.setToolTip(tip)

    def _show_gain(self, db: float) -> None:
        self.gain_label.setText(f"{db:+.1f} dB")

    def _show_pan(self, pan: float) -> None:
        self.pan_label.setText(pan_text(pan))

    # --- widgets -> document ----------------------------------------------------------------
    def _write(self, field: str, value: object) -> None:
        if self.track is None:
            return
        try:
            setattr(self.track, field, value)
        except (TracksError, ValueError, IndexError) as exc:
            self.error.emit(str(exc))
            self._refresh_all()

    def _write_locked(self, value: bool) -> None:
        if self.track is None:
            return
        if value and self.track.active_take is None:
            self.error.emit(f"{self.track.name} has no take yet: generate it before locking it")
            self._refresh_all()
            return
        self._write("locked", value)

    def _on_gain_moved(self, tenths: int) -> None:
        self._show_gain(tenths / 10.0)
        if not self.gain_slider.isSliderDown():  # keyboard or click on the groove: commit at once
            self._commit_gain()

    def _commit_gain(self) -> None:
        self._write("gain_db", self.gain_slider.value() / 10.0)

    def _on_pan_moved(self, hundredths: int) -> None:
        self._show_pan(hundredths / 100.0)
        if not self.pan_slider.isSliderDown():
            self._commit_pan()

    def _commit_pan(self) -> None:
        self._write("pan", self.pan_slider.value() / 100.0)

    def _write_take(self, index: int) -> None:
        if self.track is not None and 0 <= index < len(self.track.takes):
            self._write("active_index", index)
