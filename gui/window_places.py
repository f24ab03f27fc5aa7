"""What the main window offers the parts that add themselves to it (the Runs tab, the
learning-rate finder...): its menus and tabs by name, and the status bar. A part takes
these, never the window itself, so no part imports the main window."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QWidget


class WindowPlaces(Protocol):
    def menu(self, title: str) -> QMenu:
        """The menu called `title` ("File", "Run", "View", "Help")."""

    def add_tab(self, title: str, widget: QWidget) -> QAction:
        """A tab in the centre, with its View menu entry and Ctrl+number shortcut."""

    def notify(self, text: str, timeout_ms: int = 5000) -> None:
        """Say `text` in the status bar for a while."""
