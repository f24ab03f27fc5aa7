"""A widget in a scroll area that scrolls up and down only: its content is laid out to the
area's width (panels that must fit a small screen, lists of tiles that wrap)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QScrollArea, QWidget


def vertical_scroll(widget: QWidget, framed: bool = True) -> QScrollArea:
    scroll = QScrollArea()
    scroll.setWidget(widget)
    scroll.setWidgetResizable(True)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    if not framed:
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    return scroll
