"""The Sweep tab's charts (pyqtgraph): parallel coordinates, a scatter, importance bars.

- Parallel coordinates: one vertical axis per searched setting and a last one for the
  accuracy, every axis the same height (gui/sweep_axes.py places the values); each trial is
  one polyline coloured by its accuracy (the colour bar beside says the scale); the ticked
  trials are drawn thicker in their overlay colour.
- Scatter: one chosen setting against accuracy (a log x axis for a log setting, the choices
  by name for a choice setting).
- Importance: Optuna's importance of each setting as horizontal bars.
Each shows a sentence saying what to do while it has nothing to draw.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette, QPen
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QStackedWidget, QVBoxLayout, QWidget

from gui.contrast import secondary_colour
from gui.plotting import make_plot
from gui.sweep_axes import ACCURACY_LABEL, Axis, ParallelData, scatter_points, setting_label

COLOUR_MAP = "viridis"
COLOUR_BAR_WIDTH, COLOUR_BAR_AXIS_WIDTH = 14, 62  # pixels
COLOUR_BANDS = 16  # trials are drawn in this many shades of the colour map
NO_TRIALS = "No trial has an accuracy yet. Define a space and press Start, or open a " \
            "sweep folder (File > Open sweep folder…)."


class _WithHint(QStackedWidget):
    """A chart, or in its place a centred sentence while it has nothing to draw."""

    def __init__(self, chart: QWidget, colour: QColor) -> None:
        super().__init__()
        self.hint = QLabel()
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet(f"QLabel {{ color: {colour.name()}; padding: 12px; }}")
        self.addWidget(self.hint)
        self.addWidget(chart)

    def show_text(self, text: str | None) -> None:
        """Show text instead of the chart, or (None) the chart."""
        if text is not None:
            self.hint.setText(text)
        self.setCurrentIndex(0 if text is not None else 1)


def _colours(palette: QPalette) -> tuple[QColor, QColor]:
    return palette.color(QPalette.ColorRole.Text), palette.color(QPalette.ColorRole.Base)


class ParallelCoordinates(_WithHint):
    """Settings against accuracy, one polyline per trial."""

    def __init__(self) -> None:
        self.fg, self.bg = _colours(QWidget().palette())
        self.layout_widget = pg.GraphicsLayoutWidget()
        self.layout_widget.setBackground(self.bg)
        super().__init__(self.layout_widget, secondary_colour(self.fg, self.bg))
        self.plot = self.layout_widget.addPlot(row=0, col=0)
        self.plot.setTitle("Settings against accuracy", color=self.fg.name(), size="11pt",
                           bold=True)
        for side in ("left", "bottom"):
            self.plot.hideAxis(side)
        self.plot.setMouseEnabled(False, False)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.colour_map = pg.colormap.get(COLOUR_MAP)
        self.colour_bar = pg.ColorBarItem(values=(0, 100), colorMap=self.colour_map,
                                          interactive=False, width=COLOUR_BAR_WIDTH)
        self.colour_bar.axis.setTextPen(pg.mkPen(self.fg))
        self.colour_bar.axis.setPen(pg.mkPen(self.fg))
        self.colour_bar.axis.setLabel(ACCURACY_LABEL, color=self.fg.name())
        self.colour_bar.axis.setWidth(COLOUR_BAR_AXIS_WIDTH)  # ticks and label side by side
        # The bar's cell was sized for the axis before it widened: widen it too.
        self.colour_bar.setFixedWidth(COLOUR_BAR_WIDTH + COLOUR_BAR_AXIS_WIDTH + 8)
        self.layout_widget.addItem(self.colour_bar, row=0, col=1)
        self.data: ParallelData | None = None
        self.drawn: set[int] = set()  # the trials drawn
        self.ticked_lines: dict[int, pg.PlotDataItem] = {}
        self._line_items: list[pg.PlotDataItem] = []
        self._axis_items: list[pg.GraphicsObject] = []
        self._axes_drawn: tuple | None = None
        self.show_text(NO_TRIALS)

    def set_data(self, data: ParallelData, ticked: dict[int, str]) -> None:
        """Draw these trials; ticked: number -> colour of the trials drawn thicker.

        The trials not ticked are drawn as one item per band of colour (COLOUR_BANDS), not
        one per trial: 200 trials drew in ~1 s as 200 items, in a few ms this way."""
        self.data = data
        for item in self._line_items:
            self.plot.removeItem(item)
        self._line_items, self.ticked_lines = [], {}
        self.drawn = set(data.numbers)
        if not data.axes or len(data.numbers) == 0:
            self.show_text(NO_TRIALS)
            return
        self.show_text(None)
        count = len(data.axes) + 1
        low, high = data.accuracy_range
        if (data.axes, data.accuracy_range) != self._axes_drawn:
            self._draw_axes(data)
        self.colour_bar.setLevels((low, high))
        shares = (data.accuracies - low) / (high - low)
        bands = np.minimum((shares * COLOUR_BANDS).astype(int), COLOUR_BANDS - 1)
        plain = np.array([n not in ticked for n in data.numbers])
        for band in np.unique(bands[plain]):  # the best band drawn last, on top
            rows = np.flatnonzero(plain & (bands == band))
            colour = self.colour_map.map((band + 0.5) / COLOUR_BANDS, mode="qcolor")
            self._add_lines(data, rows, pg.mkPen(colour, width=1.6), z=0)
        for row in np.flatnonzero(~plain):
            number = data.numbers[row]
            self.ticked_lines[number] = self._add_lines(
                data, np.array([row]), pg.mkPen(ticked[number], width=3.5), z=10)
        # Room on the right for the last axis's tick labels, above for the axis titles.
        self.plot.setRange(xRange=(-0.45, count - 0.45), yRange=(-0.05, 1.42), padding=0)

    def _add_lines(self, data: ParallelData, rows: np.ndarray, pen: QPen, z: float
                   ) -> pg.PlotDataItem:
        """One item drawing the polylines of these rows (nan between them: apart)."""
        count = data.positions.shape[1]
        xs = np.tile(np.append(np.arange(count, dtype=np.float64), np.nan), len(rows))
        ys = np.hstack([data.positions[rows], np.full((len(rows), 1), np.nan)]).ravel()
        item = pg.PlotDataItem(xs, ys, pen=pen, connect="finite")
        item.setZValue(z)
        self.plot.addItem(item)
        self._line_items.append(item)
        return item

    def _draw_axes(self, data: ParallelData) -> None:
        for item in self._axis_items:
            self.plot.removeItem(item)
        self._axis_items = []
        self._axes_drawn = (data.axes, data.accuracy_range)
        axis_pen = pg.mkPen(self.fg, width=1)
        marks = [*(a.ticks() for a in data.axes), self._accuracy_ticks(data)]
        for i, (label, ticks) in enumerate(zip(data.labels, marks, strict=True)):
            line = pg.PlotDataItem([i, i], [0, 1], pen=axis_pen)
            line.setZValue(-5)
            self.plot.addItem(line)
            self._axis_items.append(line)
            # Two lines, staggered: neighbouring titles do not run into each other.
            title = pg.TextItem(label.replace(" (", "\n("), color=self.fg,
                                anchor=(0.5, 1.0))
            title.setPos(i, 1.03 if i % 2 else 1.22)
            self.plot.addItem(title)
            self._axis_items.append(title)
            for position, text in ticks:
                tick = pg.TextItem(text, color=secondary_colour(self.fg, self.bg),
                                   anchor=(0.0, 0.5))
                tick.setPos(i + 0.02, position)
                self.plot.addItem(tick)
                self._axis_items.append(tick)

    @staticmethod
    def _accuracy_ticks(data: ParallelData) -> list[tuple[float, str]]:
        low, high = data.accuracy_range
        return [(0.0, f"{low:.1f}"), (0.5, f"{(low + high) / 2:.1f}"), (1.0, f"{high:.1f}")]


class SettingScatter(QWidget):
    """One setting (chosen in the box above) against accuracy, a point per trial."""

    def __init__(self) -> None:
        super().__init__()
        fg, bg = _colours(self.palette())
        self.choice = QComboBox()
        self.choice.setToolTip("The setting on the x axis")
        self.plot = make_plot("One setting", "", ACCURACY_LABEL, fg, bg)
        self.points = pg.ScatterPlotItem(size=9, pen=pg.mkPen(fg, width=0.5))
        self.plot.addItem(self.points)
        self.chart = _WithHint(self.plot, secondary_colour(fg, bg))
        self._fg = fg
        self._colour_map = pg.colormap.get(COLOUR_MAP)
        self._axes: tuple[Axis, ...] = ()
        self._trials: list = []
        self._ticked: dict[int, str] = {}
        row = QHBoxLayout()
        row.addWidget(QLabel("Setting:"))
        row.addWidget(self.choice, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.chart, 1)
        self.choice.currentIndexChanged.connect(lambda _i: self._draw())
        self.chart.show_text(NO_TRIALS)

    def set_trials(self, axes: tuple[Axis, ...], trials: list, ticked: dict[int, str]) -> None:
        if axes != self._axes:
            self._axes = axes
            self.choice.blockSignals(True)
            self.choice.clear()
            for axis in axes:
                self.choice.addItem(setting_label(axis.name), axis.name)
            self.choice.blockSignals(False)
        self._trials, self._ticked = trials, ticked
        self._draw()

    def chosen(self) -> Axis | None:
        index = self.choice.currentIndex()
        return self._axes[index] if 0 <= index < len(self._axes) else None

    def _draw(self) -> None:
        axis = self.chosen()
        xs, ys, numbers = (scatter_points(axis, self._trials) if axis is not None
                           else (np.empty(0), np.empty(0), []))
        if len(numbers) == 0:
            self.points.clear()
            self.chart.show_text(NO_TRIALS)
            return
        self.chart.show_text(None)
        item = self.plot.getPlotItem()
        item.setLogMode(x=axis.log, y=False)
        bottom = item.getAxis("bottom")
        bottom.setLabel(axis.label, color=self._fg.name())
        if axis.kind == "choice":
            bottom.setTicks([list(enumerate(axis.choices))])
            # Side by side, not on top of each other, where trials share a choice.
            xs = xs + np.linspace(-0.12, 0.12, len(xs)) if len(xs) > 1 else xs
        else:
            bottom.setTicks(None)
        low, high = float(ys.min()), float(ys.max())
        shares = np.full(len(ys), 0.5) if high == low else (ys - low) / (high - low)
        shades = self._colour_map.map(shares, mode="qcolor")
        brushes = [pg.mkBrush(self._ticked.get(n) or shade)
                   for n, shade in zip(numbers, shades, strict=True)]
        self.points.setData(x=xs, y=ys, brush=brushes, data=numbers)
        item.enableAutoRange()


class ImportanceBars(_WithHint):
    """How much each setting mattered to the accuracy (Optuna's fANOVA importance)."""

    def __init__(self) -> None:
        fg, bg = _colours(QWidget().palette())
        self.plot = make_plot("Importance", "share of the variation", "", fg, bg)
        super().__init__(self.plot, secondary_colour(fg, bg))
        self.plot.getPlotItem().setMouseEnabled(False, False)
        self.bars: pg.BarGraphItem | None = None
        self.shown: dict[str, float] = {}
        self.show_importances({}, 0)

    def show_importances(self, importances: dict[str, float], complete: int,
                         alike: bool = False) -> None:
        """Bars, most important on top; a note instead while there are too few complete
        trials, or (alike) while they all have the same accuracy: then every setting gets
        the same share, which says nothing."""
        item = self.plot.getPlotItem()
        if self.bars is not None:
            item.removeItem(self.bars)
            self.bars = None
        self.shown = {} if alike else dict(importances)
        if complete >= 2 and alike:
            self.show_text(f"The {complete} complete trials all have the same accuracy: "
                           "nothing tells the settings apart yet. Widen the ranges, or "
                           "train longer or on more data.")
            return
        if not self.shown:
            self.show_text(
                "Each setting's importance shows once two trials or more have completed "
                f"({complete} so far)." if complete < 2 else
                f"Optuna cannot tell the settings' importance from these {complete} complete "
                "trials yet.")
            return
        self.show_text(None)
        names = sorted(importances, key=importances.get)  # the largest at the top
        widths = [float(importances[n]) for n in names]
        self.bars = pg.BarGraphItem(x0=0, y=np.arange(len(names)), height=0.6, width=widths,
                                    brush=pg.mkBrush("#1f77b4"), pen=pg.mkPen(None))
        item.addItem(self.bars)
        item.getAxis("left").setTicks([[(i, setting_label(n)) for i, n in enumerate(names)]])
        # Shares of one: the same scale from one sweep to the next.
        item.setRange(xRange=(0, 1), yRange=(-0.6, len(names) - 0.4), padding=0)
