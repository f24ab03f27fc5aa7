"""A read-only, timestamped run log; warnings and errors stand out in colour."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtGui import QFontDatabase, QPalette
from PySide6.QtWidgets import QPlainTextEdit, QVBoxLayout, QWidget

from engine.events import LogLine
from gui.contrast import secondary_colour

if TYPE_CHECKING:
    from gui.run_model import RunModel

MAX_LINES = 5000
LEVEL_COLOURS = {"warning": "#b35900", "error": "#c62828"}  # AA (>= 4.5:1) on white
LEVEL_STYLE = {  # level -> (tag in the text, CSS); info stays in the palette's text colour
    "info": ("", ""),
    "warning": ("WARNING ", f"color:{LEVEL_COLOURS['warning']}; font-weight:bold;"),
    "error": ("ERROR ", f"color:{LEVEL_COLOURS['error']}; font-weight:bold;"),
}


class LogPanel(QWidget):
    """Call only on the GUI thread. Keeps the newest MAX_LINES lines. Follows new lines while
    the view is at the bottom and stays put when the user has scrolled up (QPlainTextEdit's
    own behaviour for appended paragraphs)."""

    def __init__(self, parent: QWidget | None = None,
                 now: Callable[[], datetime] = datetime.now) -> None:
        super().__init__(parent)
        self._now = now
        self._view = QPlainTextEdit()
        self._view.setReadOnly(True)
        self._view.setMaximumBlockCount(MAX_LINES)
        self._view.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self._view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        # Two lines at least, not Qt's default of about five: a 600-pixel-high screen
        # needs the height for the plots (the log scrolls, and can be enlarged or closed).
        self._view.setMinimumHeight(2 * self._view.fontMetrics().lineSpacing()
                                    + 2 * self._view.frameWidth() + 8)
        palette = self._view.palette()
        # Timestamps are secondary: dimmed, yet readable on the log's background.
        self._stamp_colour = secondary_colour(palette.color(QPalette.ColorRole.Text),
                                              palette.color(QPalette.ColorRole.Base)).name()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._view)

    def follow(self, run: RunModel) -> None:
        """Log the run's lines as they come (gui/run_model.py)."""
        run.log_line.connect(lambda line: self.append(line))

    def append(self, line: LogLine) -> None:
        self.append_text(line.message, line.level)

    def append_text(self, message: str, level: str = "info") -> None:
        """Add one timestamped line; an unknown level is shown as info."""
        tag, style = LEVEL_STYLE.get(level, LEVEL_STYLE["info"])
        stamp = self._now().strftime("%H:%M:%S")
        # Escaped, so a message can never inject markup; pre-wrap keeps its spacing.
        body = html.escape(f"{tag}{message}")
        self._view.appendHtml(
            f'<span style="color:{self._stamp_colour};">{stamp}</span> '
            f'<span style="white-space:pre-wrap; {style}">{body}</span>'
        )

    def clear(self) -> None:
        self._view.clear()

    def text(self) -> str:
        return self._view.toPlainText()

    def line_count(self) -> int:
        """Lines held (empty log: 0)."""
        document = self._view.document()
        return 0 if document.isEmpty() else document.blockCount()

    def stamp_colour(self) -> str:
        """The timestamps' colour, e.g. "#6b6b6b"."""
        return self._stamp_colour

    def view(self) -> QPlainTextEdit:
        """The text view itself (for tests and for the main window's find/copy actions)."""
        return self._view
