"""A widget in a scroll area that scrolls up and down only: its content is laid out to the
area's width (panels that must fit a small screen, lists of tiles that wrap)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QScrollArea, QWidget

SCROLLING_MIN_HEIGHT = 120  # FillOrScroll: shorter than its widget needs, it scrolls


def vertical_scroll(widget: QWidget, framed: bool = True) -> QScrollArea:
    scroll = QScrollArea()
    scroll.setWidget(widget)
    scroll.setWidgetResizable(True)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    if not framed:
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    return scroll


class FillOrScroll(QScrollArea):
    """A widget that fills the area, and scrolls up and down only where the area is shorter
    than the widget's minimum height at the area's width (a tall banner above the plots on
    a 600-pixel-high screen). Unlike `vertical_scroll`, never taller than the area otherwise:
    a resizable QScrollArea gives a widget with word-wrapped text its preferred height."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__()
        self.setWidget(widget)
        self.setWidgetResizable(False)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        widget.installEventFilter(self)

    def _fit(self) -> None:
        widget = self.widget()
        width = self.viewport().width()
        layout = widget.layout()
        needed = (layout.minimumHeightForWidth(width) if layout is not None
                  and layout.hasHeightForWidth() else widget.minimumSizeHint().height())
        widget.resize(width, max(self.viewport().height(), needed))

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self._fit()
        return super().eventFilter(watched, event)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        """The widget's width; a height of a few lines only, as it scrolls below that."""
        hint = self.widget().minimumSizeHint()
        return QSize(hint.width(), min(hint.height(), SCROLLING_MIN_HEIGHT))
