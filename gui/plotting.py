"""Plotting pieces any panel can use (pyqtgraph): growing numpy columns for live data,
TensorBoard's smoothing, axes with tidy ticks, a hover read-out, a note over an empty plot,
and a plot styled in the window's colours.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel

# A describer maps a hovered x to (x of the nearest point, its read-out text), or None.
Describer = Callable[[float], tuple[float, str] | None]


class GrowingColumns:
    """Named float64 columns in one preallocated array that doubles its capacity when full."""

    def __init__(self, names: Sequence[str], capacity: int = 1024) -> None:
        self._index = {name: i for i, name in enumerate(names)}
        self._data = np.empty((len(names), max(1, capacity)))
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def reserve(self, capacity: int) -> None:
        if capacity > self._data.shape[1]:
            grown = np.empty((self._data.shape[0], capacity))
            grown[:, : self._size] = self._data[:, : self._size]
            self._data = grown

    def append(self, columns: dict[str, np.ndarray]) -> None:
        count = len(next(iter(columns.values())))
        needed = self._size + count
        if needed > self._data.shape[1]:
            self.reserve(max(needed, 2 * self._data.shape[1]))
        for name, values in columns.items():
            self._data[self._index[name], self._size : needed] = values
        self._size = needed

    def view(self, name: str) -> np.ndarray:
        """The filled part of a column; a view, so it costs nothing and must not be kept."""
        return self._data[self._index[name], : self._size]

    def clear(self) -> None:
        self._size = 0


class DebiasedEma:
    """TensorBoard's scalar smoothing: an exponential moving average, bias-corrected so the
    first values are not pulled towards zero. Fed incrementally, chunk by chunk."""

    def __init__(self, weight: float) -> None:
        if not 0.0 <= weight < 1.0:
            raise ValueError(f"Smoothing weight must be in [0, 1), got {weight}.")
        self.weight = weight
        self.reset()

    def reset(self) -> None:
        self._biased = 0.0
        self._count = 0

    def update(self, values: np.ndarray) -> np.ndarray:
        w = self.weight
        biased, count = self._biased, self._count
        smoothed = np.empty(len(values))
        # A plain loop: the recurrence is sequential, and a closed form over w**-i overflows.
        for i, value in enumerate(values.tolist()):
            biased = w * biased + (1.0 - w) * value
            count += 1
            smoothed[i] = biased / (1.0 - w**count)
        self._biased, self._count = biased, count
        return smoothed


class IntegerAxis(pg.AxisItem):
    """An axis for epochs: ticks only at whole numbers."""

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list:  # noqa: N802
        levels = [
            (spacing, [v for v in values if float(v).is_integer()])
            for spacing, values in super().tickValues(minVal, maxVal, size)
            if spacing >= 1
        ]
        if not levels:  # zoomed in closer than one epoch: still label the whole ones in view
            low, high = sorted((minVal, maxVal))
            levels = [(1.0, [float(v) for v in range(math.ceil(low), math.floor(high) + 1)])]
        return levels


class CompactAxis(pg.AxisItem):
    """Ticks with just enough significant digits, in scientific notation when tiny (1e-05)."""

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # noqa: N802
        largest = max((abs(v * scale) for v in values), default=0.0)
        if largest == 0.0 or spacing <= 0.0:
            return super().tickStrings(values, scale, spacing)
        digits = max(1, math.ceil(math.log10(largest / (spacing * scale))) + 1)
        return [f"{v * scale:.{digits}g}" for v in values]


class HoverReadout:
    """Under the mouse, a vertical line at the nearest data point and a box with its values."""

    def __init__(self, plot: pg.PlotWidget, describe: Describer, fg: QColor, bg: QColor) -> None:
        self._plot = plot
        self._describe = describe
        self._line = pg.InfiniteLine(angle=90, movable=False,
                                     pen=pg.mkPen(fg, style=Qt.PenStyle.DashLine))
        fill = QColor(bg)
        fill.setAlpha(225)
        self._box = pg.TextItem(color=fg, fill=pg.mkBrush(fill), border=pg.mkPen(fg))
        for item in (self._line, self._box):
            item.setZValue(100)
            plot.addItem(item, ignoreBounds=True)
        self.hide()
        plot.scene().sigMouseMoved.connect(self._on_mouse_moved)

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        view = self._plot.getPlotItem().getViewBox()
        if not view.sceneBoundingRect().contains(scene_pos):
            self.hide()
            return
        point = view.mapSceneToView(scene_pos)
        self.show_at(point.x(), point.y())

    def show_at(self, x: float, y: float) -> None:
        """Show the read-out for the data point nearest to x, its box at height y."""
        found = self._describe(x)
        if found is None:
            self.hide()
            return
        nearest_x, text = found
        (x_low, x_high), _ = self._plot.getPlotItem().getViewBox().viewRange()
        # Keep the box inside the plot: it opens away from the nearer edge.
        self._box.setAnchor((1.05, 0.5) if nearest_x > (x_low + x_high) / 2 else (-0.05, 0.5))
        self._box.setText(text)
        self._box.setPos(nearest_x, y)
        self._line.setPos(nearest_x)
        self._line.show()
        self._box.show()

    def hide(self) -> None:
        self._line.hide()
        self._box.hide()

    def text(self) -> str:
        return self._box.toPlainText() if self._box.isVisible() else ""


def nearest_index(sorted_xs: np.ndarray, x: float) -> int | None:
    if sorted_xs.size == 0:
        return None
    i = min(int(np.searchsorted(sorted_xs, x)), sorted_xs.size - 1)
    if i > 0 and abs(sorted_xs[i - 1] - x) <= abs(sorted_xs[i] - x):
        i -= 1
    return i


class EmptyHint(QLabel):
    """A centred note over an empty plot; the plot's axes are hidden while it shows."""

    def __init__(self, plot: pg.PlotWidget, colour: QColor) -> None:
        super().__init__(plot)
        self._plot = plot
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setStyleSheet(f"QLabel {{ color: {colour.name()}; background: transparent;"
                           " padding: 28px 16px 8px 16px; }")  # top: clear of the title
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        plot.installEventFilter(self)
        self.setGeometry(plot.rect())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if watched is self._plot and event.type() == QEvent.Type.Resize:
            self.setGeometry(self._plot.rect())
        return False

    def show_text(self, text: str | None) -> None:
        """Show `text` over bare axes, or (None) hide the note and show the axes."""
        if text is None and self.isHidden():
            return  # already showing data: called on every live update, so it costs nothing
        item = self._plot.getPlotItem()
        for side in ("left", "bottom"):
            item.showAxis(side, text is None)
        if text is not None:
            self.setText(text)
        self.setVisible(text is not None)


def make_plot(title: str, x_label: str, y_label: str, fg: QColor, bg: QColor, *,
              integer_x: bool = False, compact_y: bool = False) -> pg.PlotWidget:
    """A plot in the window's colours: a bold title, labelled axes with plain numbers, a
    light grid; `integer_x` ticks only whole numbers, `compact_y` tiny ones as 1e-05."""
    axes = {}
    if integer_x:
        axes["bottom"] = IntegerAxis("bottom")
    if compact_y:
        axes["left"] = CompactAxis("left")
    widget = pg.PlotWidget(background=bg, axisItems=axes)
    widget.setAntialiasing(True)
    item = widget.getPlotItem()
    item.setTitle(title, color=fg.name(), size="11pt", bold=True)
    for side, text in (("bottom", x_label), ("left", y_label)):
        axis = item.getAxis(side)
        axis.setPen(pg.mkPen(fg))
        axis.setTextPen(pg.mkPen(fg))
        axis.setLabel(text, color=fg.name(), **{"font-size": "10pt"})
        # Plain numbers: a loss of 0.5 reads "0.5", not "500" on a "loss (x0.001)" axis,
        # step 20,000 not "20" on "step (x1000)", a rate "0.0003" not "0.3 (x0.001)".
        axis.enableAutoSIPrefix(False)
        # Grid lines at major and minor ticks only: the third, finest level adds clutter
        # and is the costliest part of a live redraw.
        axis.setStyle(maxTickLevel=1)
    item.showGrid(x=True, y=True, alpha=0.2)
    item.setMenuEnabled(True)
    return widget
