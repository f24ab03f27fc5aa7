"""The Results tab's training-health sentence (engine/analysis.py `training_health`), with a
left border coloured by its kind: red when training goes wrong, amber when it needs a change,
blue when it has stalled, green when it improves."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QWidget

from engine import analysis

NOTE_COLOURS = {  # health kind -> the note's left border
    "diverging": "#c62828", "lr_too_high": "#c62828", "overfitting": "#8a5300",
    "lr_too_low": "#8a5300", "plateaued": "#1565c0", "improving": "#2e7d32",
    "steady": "#6c757d",
}


class HealthNoteLabel(QLabel):
    """The sentence for a run's history; hidden while there is none."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._kind = ""

    def show_health(self, history: list[dict], class_count: int) -> None:
        """Say how training goes by `history` (the epochs' records) of a `class_count`-class
        run; hidden without a history or classes."""
        note = (analysis.training_health(history, class_count)
                if history and class_count else None)
        self.setVisible(note is not None)
        if note is None:
            return
        if note.kind != self._kind:  # a style sheet is costly to apply: only on change
            self._kind = note.kind
            colour = QColor(NOTE_COLOURS.get(note.kind, "#6c757d"))
            self.setStyleSheet(f"QLabel {{ border-left: 4px solid {colour.name()}; "
                               "padding: 4px 8px; }")
        self.setText(note.sentence)

    def text_shown(self) -> str:
        """The sentence on screen ("" when there is none)."""
        return "" if self.isHidden() else self.text()
