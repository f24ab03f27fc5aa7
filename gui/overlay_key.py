"""The key to the runs overlaid on the plots, below them, instead of in their legends.

Each plot's own legend names only the run on screen's lines (a few short entries in a
corner); the overlaid runs, however many and however long their names, are named once here,
each with its colour, so no legend grows over the curves. A long name is shortened in the
key and whole in its tooltip.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QWidget

from gui.contrast import make_secondary

NAME_CHARACTERS = 32  # a longer name is cut to this, with "…"


def short_name(name: str, limit: int = NAME_CHARACTERS) -> str:
    return name if len(name) <= limit else name[: limit - 1].rstrip() + "…"


class OverlayKey(QLabel):
    """One wrapped line or two: "Compared: ━ name ━ name …"."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        make_secondary(self)
        self._names: list[str] = []
        self.hide()

    def set_runs(self, runs: list[tuple[str, str]]) -> None:
        """The overlaid runs as (name, colour), in the order they were ticked."""
        self._names = [name for name, _ in runs]
        if not runs:
            self.clear()
            self.setToolTip("")
            self.hide()
            return
        entries = " &nbsp; ".join(
            f'<span style="color: {QColor(colour).name()}; font-weight: bold">━━</span>'
            f"&nbsp;{html.escape(short_name(name))}" for name, colour in runs)
        self.setText(f"Compared: {entries}")
        self.setToolTip("Thin lines: the runs ticked in the Runs tab (per epoch: solid test, "
                        "dotted train); thick lines: this run.\n" + "\n".join(self._names))
        self.show()

    def names(self) -> list[str]:
        """The overlaid runs' whole names, in the key's order."""
        return list(self._names)
