"""An action of the main window: a menu entry whose shortcut works wherever the focus is in
the window (listed by Help > Keyboard shortcuts, which reads the window's actions)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget


def window_action(window: QWidget, text: str, shortcut: str | QKeySequence.StandardKey,
                  slot: Callable[[], object]) -> QAction:
    act = QAction(text, window)
    act.setShortcut(QKeySequence(shortcut))
    act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    act.triggered.connect(lambda _checked=False: slot())
    window.addAction(act)
    return act
