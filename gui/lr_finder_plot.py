"""The learning-rate finder's plot: the loss against the rate on a log axis, the rates
checked as dots, and the rate suggested and the lowest loss marked (gui/lr_finder_dialog.py)."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette

from engine.lr_finder.lr_range import lr_text

SUGGESTED_COLOR = "#d62728"
MIN_COLOR = "#2ca02c"
CHECK_COLOR = "#ff7f0e"
CURVE_COLOR = "#1f77b4"
MIN_DECADES_SHOWN = 1.0  # the narrowest rate range the plot shows while a test starts


class LRCurvePlot(pg.PlotWidget):
    """The range test's curve as it comes, then its suggestions (`mark`)."""

    def __init__(self, palette: QPalette) -> None:
        """palette: the dialog's, whose text and base colours the plot takes."""
        fg, bg = palette.color(QPalette.ColorRole.Text), palette.color(QPalette.ColorRole.Base)
        super().__init__(background=bg)
        self.setMinimumSize(480, 220)
        item = self.getPlotItem()
        item.setLogMode(x=True, y=False)
        item.showGrid(x=True, y=True, alpha=0.2)
        for side, text in (("bottom", "learning rate (log scale)"), ("left", "training loss")):
            axis = item.getAxis(side)
            axis.setPen(pg.mkPen(fg))
            axis.setTextPen(pg.mkPen(fg))
            axis.setLabel(text, color=fg.name(), **{"font-size": "10pt"})
            axis.enableAutoSIPrefix(False)  # a loss of 0.5 is "0.5", not "500 (x0.001)"
        legend_fill = QColor(bg)
        legend_fill.setAlpha(200)
        # Bottom left: the curve starts high there, and descends on the right.
        item.addLegend(offset=(10, -10), labelTextColor=fg, brush=pg.mkBrush(legend_fill),
                       labelTextSize="9pt")
        raw = QColor(CURVE_COLOR)
        raw.setAlpha(70)
        self.raw_curve = item.plot(pen=pg.mkPen(raw, width=1), name="per batch")
        self.smooth_curve = item.plot(pen=pg.mkPen(CURVE_COLOR, width=2), name="smoothed")
        self.check_points = item.plot(pen=None, symbol="o", symbolSize=9,
                                      symbolBrush=pg.mkBrush(CHECK_COLOR),
                                      symbolPen=pg.mkPen(fg), name="rates checked")
        # Labels at two heights, so they never overlap when the rates are close.
        self.markers = {
            "suggested": self._marker(SUGGESTED_COLOR, 0.95, bg),
            "lowest": self._marker(MIN_COLOR, 0.8, bg),
        }

    def _marker(self, colour: str, height: float, bg: QColor) -> pg.InfiniteLine:
        fill = QColor(bg)
        fill.setAlpha(220)
        line = pg.InfiniteLine(angle=90, movable=False,
                               pen=pg.mkPen(colour, width=2, style=Qt.PenStyle.DashLine),
                               label="", labelOpts={"position": height, "color": colour,
                                                    "fill": pg.mkBrush(fill),
                                                    "anchors": [(0, 0.5), (0, 0.5)]})
        self.getPlotItem().addItem(line, ignoreBounds=True)
        line.hide()
        return line

    def show_curve(self, lrs: list[float], losses: list[float], smoothed: list[float],
                   checks: list[tuple[float, float]]) -> None:
        """The losses per batch and smoothed, and each rate checked as (rate, loss)."""
        rates = np.asarray(lrs, dtype=float)
        self.raw_curve.setData(rates, np.asarray(losses, dtype=float))
        self.smooth_curve.setData(rates, np.asarray(smoothed, dtype=float))
        if not smoothed:
            return
        # The descent fills the plot; the explosion after the minimum runs off the top.
        self.check_points.setData([lr for lr, _ in checks], [loss for _, loss in checks])
        lowest = int(np.argmin(smoothed))
        low = min([*smoothed, *losses[:lowest + 1], *(loss for _, loss in checks)])
        high = max(smoothed[:lowest + 1])
        span = max(high - low, 1e-3 * max(abs(high), 1.0))
        self.getPlotItem().setYRange(low - 0.05 * span, high + 0.35 * span, padding=0)
        # The rates tried so far fill the width: the view grows as the test goes on.
        first, last = math.log10(lrs[0]), math.log10(lrs[-1])
        self.getPlotItem().setXRange(first, max(last, first + MIN_DECADES_SHOWN), padding=0.02)

    def clear_marks(self) -> None:
        for line in self.markers.values():
            line.hide()

    def mark(self, key: str, lr: float, title: str, lrs: list[float]) -> None:
        """Mark rate `lr` ("suggested" or "lowest"), labelled on the side that has room
        within the rates tested (`lrs`)."""
        line = self.markers[key]
        line.show()  # before the label is set: a hidden line's label is not updated
        line.setValue(math.log10(lr))  # the x axis is in log10 units in log mode
        first, last = math.log10(lrs[0]), math.log10(lrs[-1])
        share = (math.log10(lr) - first) / max(last - first, 1e-9)
        side = 1.1 if share > 0.6 else -0.1  # a little off the line
        line.label.anchors = [(side, 0.5), (side, 0.5)]
        line.label.setFormat(f" {title} {lr_text(lr)} ")
