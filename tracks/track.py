"""A track: a role, mixer settings, a lock, and a history of takes with one active."""

from __future__ import annotations

import math
import uuid

from psygnal import Signal

from tracks.errors import LockedTrackError
from tracks.take import Take

ROLES = ("drums", "bass", "harmony", "melody", "other")

MIN_GAIN_DB, MAX_GAIN_DB = -60.0, 12.0


class Track:
    """Setters validate, return early when nothing changed, then emit ``changed``.

    ``changed(field, old, new)`` fires for every property change (``active_take`` included),
    ``take_added(track, take)`` when a take is appended. A locked track refuses new takes and
    a change of active take: its content never changes.
    """

    changed = Signal(str, object, object)
    take_added = Signal(object, object)

    def __init__(self, name: str, role: str = "other", *, locked: bool = False, muted: bool = False,
                 solo: bool = False, gain_db: float = 0.0, pan: float = 0.0, id: str | None = None) -> None:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
        if not name.strip():
            raise ValueError("a track needs a name")
        self.id = id or uuid.uuid4().hex[:12]
        self._role = role
        self._name = name
        self._locked = bool(locked)
        self._muted = bool(muted)
        self._solo = bool(solo)
        self._gain_db = self._check_gain(gain_db)
        self._pan = self._check_pan(pan)
        self._takes: list[Take] = []
        self._active: int | None = None

    def __repr__(self) -> str:
        lock = " locked" if self._locked else ""
        return f"<Track {self._name!r} {self.role}{lock} takes={len(self._takes)}>"

    # --- validation ---------------------------------------------------------------------
    @staticmethod
    def _check_gain(v: float) -> float:
        v = float(v)
        if not math.isfinite(v) or not (MIN_GAIN_DB <= v <= MAX_GAIN_DB):
            raise ValueError(f"gain must be between {MIN_GAIN_DB:g} and {MAX_GAIN_DB:g} dB, not {v}")
        return v

    @staticmethod
    def _check_pan(v: float) -> float:
        v = float(v)
        if not math.isfinite(v) or not (-1.0 <= v <= 1.0):
            raise ValueError(f"pan must be between -1 (left) and 1 (right), not {v}")
        return v

    def _set(self, field: str, value: object) -> None:
        old = getattr(self, "_" + field)
        if old == value:
            return
        setattr(self, "_" + field, value)
        self.changed.emit(field, old, value)

    # --- properties -----------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        if not str(value).strip():
            raise ValueError("a track needs a name")
        self._set("name", str(value))

    @property
    def role(self) -> str:
        """drums | bass | harmony | melody | other: what the engines take the track for. A
        locked track's role may change (it changes how others fit it, not its audio)."""
        return self._role

    @role.setter
    def role(self, value: str) -> None:
        if value not in ROLES:
            raise ValueError(f"unknown role {value!r}: choose one of {', '.join(ROLES)}")
        self._set("role", str(value))

    @property
    def locked(self) -> bool:
        return self._locked

    @locked.setter
    def locked(self, value: bool) -> None:
        self._set("locked", bool(value))

    @property
    def muted(self) -> bool:
        return self._muted

    @muted.setter
    def muted(self, value: bool) -> None:
        self._set("muted", bool(value))

    @property
    def solo(self) -> bool:
        return self._solo

    @solo.setter
    def solo(self, value: bool) -> None:
        self._set("solo", bool(value))

    @property
    def gain_db(self) -> float:
        return self._gain_db

    @gain_db.setter
    def gain_db(self, value: float) -> None:
        self._set("gain_db", self._check_gain(value))

    @property
    def pan(self) -> float:
        return self._pan

    @pan.setter
    def pan(self, value: float) -> None:
        self._set("pan", self._check_pan(value))

    # --- takes ----------------------------------------------------------------------------
    @property
    def takes(self) -> tuple[Take, ...]:
        return tuple(self._takes)

    @property
    def active_index(self) -> int | None:
        return self._active

    @active_index.setter
    def active_index(self, index: int | None) -> None:
        if index is not None and not (0 <= index < len(self._takes)):
            raise IndexError(f"track {self._name!r} has no take {index}")
        if index == self._active:
            return
        if self._locked:
            raise LockedTrackError(f"track {self._name!r} is locked: unlock it before choosing another take")
        self._set("active", index)

    @property
    def active_take(self) -> Take | None:
        return None if self._active is None else self._takes[self._active]

    def add_take(self, take: Take, *, activate: bool = True) -> int:
        """Append ``take`` (never replacing one) and make it active. Refused when locked."""
        if self._locked:
            raise LockedTrackError(f"track {self._name!r} is locked: unlock it before regenerating")
        self._takes.append(take)
        index = len(self._takes) - 1
        self.take_added.emit(self, take)
        if activate:
            self._set("active", index)
        return index

    def _restore_takes(self, takes: list[Take], active: int | None) -> None:
        """Used by project loading only: set the history without events or lock checks."""
        self._takes = list(takes)
        self._active = active
