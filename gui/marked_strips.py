"""A gallery strip whose thumbnails can be marked "mislabelled" or "leave out".

Each thumbnail offers both marks in its context menu (a mark chosen again is taken off), and
a marked thumbnail wears a coloured frame and a tag naming its mark. The marks live in the
window's `ImageMarks` (gui/image_marks.py), by split and ORIGINAL dataset index: `original`
turns a strip's index (a row of the run's test or training images) into that.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, QRect, Qt
from PySide6.QtGui import QColor, QContextMenuEvent, QPainter, QPen
from PySide6.QtWidgets import (
    QMenu,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from gui.image_marks import LEAVE_OUT, MISLABELLED, ImageMarks
from gui.thumbnails import ImageStrip, ThumbnailCache

MARK_COLOURS = {MISLABELLED: "#c62828", LEAVE_OUT: "#8a5300"}
MARK_TITLES = {MISLABELLED: "Mislabelled", LEAVE_OUT: "Leave out"}
MARK_TIPS = {
    MISLABELLED: "Its label is wrong: leave it out of a run trained again without the "
                 "marked images (Run > Train again without them)",
    LEAVE_OUT: "Leave it out of a run trained again without the marked images",
}


def mark_actions(menu: QMenu, marks: ImageMarks, split: str, index: int) -> None:
    """Add the two marks to `menu`, ticked as the image is marked; one chosen again is
    taken off (a thumbnail's context menu; the image's detail has buttons)."""
    current = marks.reason(split, index)
    for reason in (MISLABELLED, LEAVE_OUT):
        action = menu.addAction(MARK_TITLES[reason])
        action.setCheckable(True)
        action.setChecked(current == reason)
        action.setToolTip(MARK_TIPS[reason])
        action.triggered.connect(
            lambda _checked=False, r=reason: marks.toggle(split, index, r))
    menu.setToolTipsVisible(True)


class MarkDelegate(QStyledItemDelegate):
    """Paints a marked thumbnail's frame and tag over the usual thumbnail and caption."""

    def __init__(self, strip: MarkedStrip) -> None:
        super().__init__(strip)
        self._strip = strip

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        super().paint(painter, option, index)
        reason = self._strip.reason_at(int(index.data(Qt.ItemDataRole.UserRole)))
        if reason is None:
            return
        colour = QColor(MARK_COLOURS[reason])
        painter.save()
        painter.setPen(QPen(colour, 3))
        frame = option.rect.adjusted(2, 2, -2, -2)
        painter.drawRect(frame)
        font = painter.font()
        font.setPointSizeF(max(font.pointSizeF() * 0.75, 6))
        painter.setFont(font)
        tag = reason
        height = painter.fontMetrics().height() + 2
        width = painter.fontMetrics().horizontalAdvance(tag) + 6
        box = QRect(frame.left(), frame.top(), min(width, frame.width()), height)
        painter.fillRect(box, colour)
        painter.setPen(QColor("white"))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, tag)
        painter.restore()


class MarkedStrip(ImageStrip):
    """An `ImageStrip` with marks: `split` is "test" or "train", `original(index)` the
    image's original dataset index. Without `marks` it is a plain strip."""

    def __init__(self, cache: ThumbnailCache, empty_text: str, marks: ImageMarks | None,
                 split: str, original: Callable[[int], int],
                 parent: QWidget | None = None) -> None:
        super().__init__(cache, empty_text, parent)
        self.marks, self.split, self.original = marks, split, original
        if marks is not None:
            self.setItemDelegate(MarkDelegate(self))
            marks.changed.connect(self.viewport().update)

    def reason_at(self, index: int) -> str | None:
        """The mark of the image at strip index `index` (a row of the run's images)."""
        if self.marks is None:
            return None
        return self.marks.reason(self.split, self.original(index))

    def menu_at(self, pos: QPoint) -> QMenu | None:
        """The context menu for the thumbnail at `pos` (viewport coordinates); None where
        there is none or nothing can be marked."""
        item = self.indexAt(pos)
        if self.marks is None or not item.isValid():
            return None
        menu = QMenu(self)
        original = self.original(int(item.data(Qt.ItemDataRole.UserRole)))
        mark_actions(menu, self.marks, self.split, original)
        return menu

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802 - Qt's name
        menu = self.menu_at(event.pos())  # the viewport's coordinates (a scroll area's)
        if menu is None:
            super().contextMenuEvent(event)
            return
        menu.exec(event.globalPos())
        menu.deleteLater()
