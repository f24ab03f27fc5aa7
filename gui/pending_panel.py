"""A stand-in for a panel that needs PyTorch, shown in its tab until the panel exists."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QLabel, QStackedWidget, QWidget


class PendingPanel(QStackedWidget):
    """Says what will appear here and why not yet; `set_panel` puts the real panel in."""

    def __init__(self, message: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message = QLabel(message)
        self.message.setObjectName("pending_message")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.addWidget(self.message)

    def set_panel(self, panel: QWidget) -> None:
        self.addWidget(panel)
        self.setCurrentWidget(panel)
        self.removeWidget(self.message)
        self.message.deleteLater()

    def show_message(self, text: str) -> None:
        """Replace the waiting text (e.g. with why the panel cannot appear)."""
        self.message.setText(text)
