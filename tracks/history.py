"""Undo/redo of document changes as a list of reversible steps, with grouping."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator

from psygnal import Signal


@dataclass
class Step:
    label: str
    undo: Callable[[], None]
    redo: Callable[[], None]


@dataclass
class _Group:
    label: str
    steps: list[Step] = field(default_factory=list)

    def undo(self) -> None:
        for step in reversed(self.steps):
            step.undo()

    def redo(self) -> None:
        for step in self.steps:
            step.redo()


class History:
    """Steps are recorded as changes happen; ``undo``/``redo`` replay them without recording.

    If replaying a step raises (say, a take change on a track that has since been locked),
    the stacks are left as they were and the error propagates.
    """

    changed = Signal()

    def __init__(self, limit: int = 500) -> None:
        self._undo: list[_Group] = []
        self._redo: list[_Group] = []
        self._open: list[_Group] = []
        self._replaying = False
        self._limit = limit

    @property
    def replaying(self) -> bool:
        return self._replaying

    def record(self, step: Step) -> None:
        if self._replaying:
            return
        if self._open:
            self._open[-1].steps.append(step)
            return
        self._push(_Group(step.label, [step]))

    def _push(self, group: _Group) -> None:
        self._undo.append(group)
        del self._undo[: -self._limit]
        self._redo.clear()
        self.changed.emit()

    @contextmanager
    def group(self, label: str) -> Iterator[None]:
        """Record everything inside as one undoable step."""
        g = _Group(label)
        self._open.append(g)
        try:
            yield
        finally:
            self._open.pop()
            if g.steps:
                if self._open:
                    self._open[-1].steps.extend(g.steps)
                else:
                    self._push(g)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_label(self) -> str | None:
        return self._undo[-1].label if self._undo else None

    @property
    def redo_label(self) -> str | None:
        return self._redo[-1].label if self._redo else None

    def undo(self) -> bool:
        if not self._undo:
            return False
        self._replay(self._undo[-1], "undo")
        self._redo.append(self._undo.pop())
        self.changed.emit()
        return True

    def redo(self) -> bool:
        if not self._redo:
            return False
        self._replay(self._redo[-1], "redo")
        self._undo.append(self._redo.pop())
        self.changed.emit()
        return True

    def _replay(self, group: _Group, which: str) -> None:
        self._replaying = True
        try:
            getattr(group, which)()
        finally:
            self._replaying = False

    def clear(self) -> None:
        self._undo.clear()
        self._redo.clear()
        self.changed.emit()
