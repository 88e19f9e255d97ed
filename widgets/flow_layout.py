"""A layout that lays its widgets out in a row and wraps them onto more rows when narrow.

Qt has no wrapping layout of its own (its "flow layout" is an example, not a class). The
prompt bar's settings and preset pickers use this one, so a narrow window (1280 px with the
Like This Song panel open) gets two rows of controls instead of a minimum width wider than
the screen.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QLayout, QLayoutItem, QSizePolicy, QWidget, QWidgetItem


class FlowLayout(QLayout):
    """Left to right, top to bottom; its minimum width is that of its widest item."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 6) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._spacing = spacing
        self.setContentsMargins(0, 0, 0, 0)

    # --- QLayout's interface ------------------------------------------------------------------
    def addItem(self, item: QLayoutItem) -> None:  # noqa: N802 (Qt's names)
        self._items.append(item)

    def insertWidget(self, index: int, widget: QWidget) -> None:  # noqa: N802
        """Put ``widget`` at ``index`` (like QBoxLayout.insertWidget)."""
        self.addChildWidget(widget)
        self._items.insert(max(0, min(index, len(self._items))), QWidgetItem(widget))
        self.invalidate()

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # noqa: N802
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # noqa: N802
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:  # noqa: N802
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        return self._arrange(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QSize:  # noqa: N802
        """One row of everything: what the layout would like when there is room."""
        visible = [i for i in self._items if not i.isEmpty()]
        if not visible:
            return QSize(0, 0)
        width = sum(i.sizeHint().width() for i in visible) + self._spacing * (len(visible) - 1)
        height = max(i.sizeHint().height() for i in visible)
        m = self.contentsMargins()
        return QSize(width + m.left() + m.right(), height + m.top() + m.bottom())

    def minimumSize(self) -> QSize:  # noqa: N802
        size = QSize(0, 0)
        for item in self._items:
            if not item.isEmpty():
                size = size.expandedTo(item.minimumSize())
        m = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    # --- placing ------------------------------------------------------------------------------
    def rows(self) -> int:
        """How many rows the items take at the current width."""
        tops = {item.geometry().top() for item in self._items if not item.isEmpty()}
        return len(tops)

    def _arrange(self, rect: QRect, *, move: bool) -> int:
        """Place the items row by row; the last item of a row whose widget's size policy is
        Expanding takes the rest of the row; items are centred in their row's height."""
        m = self.contentsMargins()
        area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        rows: list[list[tuple[QLayoutItem, int]]] = [[]]
        x = area.x()
        for item in self._items:
            if item.isEmpty():
                continue
            hint = item.sizeHint()
            if rows[-1] and x + hint.width() > area.right() + 1:
                rows.append([])
                x = area.x()
            width = min(hint.width(), area.width()) if area.width() > 0 else hint.width()
            width = max(width, item.minimumSize().width())
            rows[-1].append((item, width))
            x += width + self._spacing
        y = area.y()
        for row in rows:
            if not row:
                continue
            last, last_width = row[-1]
            used = sum(w for _, w in row) + self._spacing * (len(row) - 1)
            widget = last.widget()
            grows = widget is not None and widget.sizePolicy().horizontalPolicy() == QSizePolicy.Policy.Expanding
            if grows and area.width() > used:
                row[-1] = (last, last_width + area.width() - used)
            heights = [it.heightForWidth(w) if it.hasHeightForWidth() else it.sizeHint().height() for it, w in row]
            row_height = max(heights)
            if move:
                x = area.x()
                for (item, width), height in zip(row, heights):
                    item.setGeometry(QRect(QPoint(x, y + (row_height - height) // 2), QSize(width, height)))
                    x += width + self._spacing
            y += row_height + self._spacing
        return y - self._spacing - rect.y() + m.bottom()
