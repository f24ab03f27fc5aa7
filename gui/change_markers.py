"""Labelled vertical markers where settings were changed mid-run ("lr 0.003 → 0.0003").

Drawn on all four plots: on the per-step plots at the first step taken with the new
settings, on the per-epoch plots at the same point of the run in epochs (epoch k's results
sit at x = k, its end). Markers do not count in the plots' ranges, and show only on a plot
that shows data (an opened checkpoint has epochs but no batches).
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from engine.events import SettingsChanged
from engine.training.changes import change_label

MARKER_COLOR = "#d62728"  # tab10 red: apart from the splits' and the rate's colours
# Where a label sits along its line (0 bottom, 1 top); neighbours step down so that
# markers close together do not cover each other's labels.
LABEL_POSITIONS = (0.6, 0.47, 0.34, 0.21)  # below the legends, above falling loss curves
STEP_PLOTS = ("loss", "lr")


def marker_x(plot: str, change: SettingsChanged) -> float:
    """Where a change is drawn on one of the plots (see the module docstring)."""
    if plot in STEP_PLOTS:
        return change.step - 0.5  # between the last step of the old settings and the first
    return change.epoch - 1 + (change.batch - 1) / max(change.batches_per_epoch, 1)


class ChangeMarkers:
    """The markers of one run on a set of plots."""

    def __init__(self, plots: dict[str, pg.PlotWidget], fg: QColor, bg: QColor,
                 colour: str = MARKER_COLOR) -> None:
        """colour: the lines' and labels' border (an overlaid run's markers take its own)."""
        self._plots = plots
        self._fg = fg
        self._colour = colour
        fill = QColor(bg)
        fill.setAlpha(225)
        self._fill = pg.mkBrush(fill)
        self._lines: dict[str, list[pg.InfiniteLine]] = {name: [] for name in plots}
        self._hidden_on: set[str] = set()

    def add(self, change: SettingsChanged) -> None:
        text = change_label(change.changes)
        count = len(next(iter(self._lines.values()), []))
        position = LABEL_POSITIONS[count % len(LABEL_POSITIONS)]
        for name, plot in self._plots.items():
            x = marker_x(name, change)
            (low, high), _ = plot.getPlotItem().getViewBox().viewRange()
            # Near the right edge the label reads leftwards, so it is not cut off.
            anchor = (1, 0.5) if name in STEP_PLOTS and x > low + 0.7 * (high - low) else (0, 0.5)
            line = pg.InfiniteLine(
                pos=x, angle=90, movable=False,
                pen=pg.mkPen(self._colour, width=1.5, style=Qt.PenStyle.DashLine),
                label=text, labelOpts={"position": position, "color": self._fg,
                                       "fill": self._fill, "border": pg.mkPen(self._colour),
                                       "anchors": [anchor, anchor]})
            line.setToolTip(f"Changed at epoch {change.epoch}, batch {change.batch} "
                            f"(step {change.step:,}): {text}")
            line.setZValue(50)  # over the curves, under the hover read-out
            line.setVisible(name not in self._hidden_on)
            plot.addItem(line, ignoreBounds=True)
            self._lines[name].append(line)

    def replace(self, changes: list[SettingsChanged]) -> None:
        self.clear()
        for change in changes:
            self.add(change)

    def clear(self) -> None:
        for name, lines in self._lines.items():
            for line in lines:
                self._plots[name].removeItem(line)
            lines.clear()

    def show_on(self, plot: str, shown: bool) -> None:
        """Show or hide the markers of one plot (cheap when nothing changes)."""
        if shown == (plot not in self._hidden_on):
            return
        (self._hidden_on.discard if shown else self._hidden_on.add)(plot)
        for line in self._lines[plot]:
            line.setVisible(shown)

    def shown(self, plot: str) -> list[tuple[float, str]]:
        """(x, label) of each marker shown on one plot, in the order they were added."""
        if plot in self._hidden_on:
            return []
        return [(line.value(), line.label.toPlainText()) for line in self._lines[plot]]
