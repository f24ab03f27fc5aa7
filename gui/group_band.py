"""A seed group in the per-epoch plots: one line (the mean over its members) with a band
(mean ± std) and its members faint behind it.

`band` computes the numbers (per epoch, over the members that reached it); `GroupBands` draws
them with pyqtgraph's FillBetweenItem, for the group under way (gui/plots_panel.py: the band
over the members done so far, the live member drawn as ever on top) and for a ticked group
(gui/plot_overlays.py, which draws the mean as an overlaid run's curves).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from engine.stats import summarize

# (plot, record key, scale, split): the curves drawn as bands, test and train.
BAND_CURVES = (("accuracy", "test_acc", 100.0, "test"), ("accuracy", "train_acc", 100.0, "train"),
               ("epoch_loss", "test_loss", 1.0, "test"),
               ("epoch_loss", "train_loss", 1.0, "train"))
BAND_ALPHA = {"test": 60, "train": 35}  # the train band lighter: test is what groups compare
MEMBER_ALPHA = 70
BAND_Z = -20  # under every run's curves, overlaid or live


@dataclass(frozen=True)
class Band:
    """Per epoch: the members' mean, their sample standard deviation (ddof=1; 0 for one
    member) and how many members have a value there."""

    epochs: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    n: np.ndarray


def band(histories: Sequence[Sequence[dict]], key: str, scale: float = 1.0) -> Band:
    """mean ± std of `key` (an epoch record's, e.g. "test_acc") over the members' histories,
    at every epoch some member reached with a finite value; times `scale` (100: percent)."""
    by_epoch: dict[int, list[float]] = {}
    for history in histories:
        for record in history:
            value, epoch = record.get(key), record.get("epoch")
            if epoch is not None and value is not None and math.isfinite(float(value)):
                by_epoch.setdefault(int(epoch), []).append(float(value) * scale)
    epochs = sorted(by_epoch)
    summaries = [summarize(by_epoch[e]) for e in epochs]  # each of at least one value
    return Band(np.asarray(epochs, dtype=np.float64),
                np.asarray([s.mean for s in summaries], dtype=np.float64),
                np.asarray([s.std for s in summaries], dtype=np.float64),
                np.asarray([s.n for s in summaries], dtype=np.int64))


def mean_history(histories: Sequence[Sequence[dict]]) -> tuple[dict, ...]:
    """Epoch records of the members' means (the keys `BAND_CURVES` draw), as one run's."""
    records: dict[int, dict] = {}
    for _plot, key, _scale, _split in BAND_CURVES:
        numbers = band(histories, key)
        for epoch, mean in zip(numbers.epochs.tolist(), numbers.mean.tolist(), strict=True):
            records.setdefault(int(epoch), {"epoch": int(epoch)})[key] = mean
    return tuple(records[e] for e in sorted(records))


class GroupBands:
    """One group's bands and faint member lines in the "epoch_loss" and "accuracy" plots.

    colours: per split ("test", "train"); mean_lines: also draw the mean as a dashed line
    (for the group under way; an overlaid group's mean is its overlay curves)."""

    def __init__(self, plots: dict[str, pg.PlotWidget], colours: dict[str, str],
                 mean_lines: bool = False) -> None:
        self._plots = plots
        self._colours = colours
        self._items: list[tuple[str, pg.GraphicsObject]] = []  # (plot, item): removed at end
        self._bands: dict[str, tuple[pg.PlotCurveItem, pg.PlotCurveItem,
                                     pg.PlotDataItem | None]] = {}
        self._members: list[tuple[str, pg.PlotDataItem]] = []
        for plot, key, _scale, split in BAND_CURVES:
            # Edges drawn with a clear pen: a PlotDataItem without one draws no path to fill.
            low, high = (pg.PlotCurveItem(pen=pg.mkPen(0, 0, 0, 0)) for _ in range(2))
            fill = QColor(colours[split])
            fill.setAlpha(BAND_ALPHA[split])
            between = pg.FillBetweenItem(low, high, brush=pg.mkBrush(fill))
            mean = None
            if mean_lines:
                style = Qt.PenStyle.DashLine if split == "test" else Qt.PenStyle.DotLine
                mean = pg.PlotDataItem(pen=pg.mkPen(colours[split], width=1.6, style=style))
            for item in (low, high, between, mean):
                if item is not None:
                    item.setZValue(BAND_Z)
                    self._add(plot, item)
            self._bands[key] = (low, high, mean)
        self.histories: tuple[tuple[dict, ...], ...] = ()

    def set_members(self, histories: Sequence[Sequence[dict]]) -> None:
        """Draw the band over these members' histories, each member faint behind it."""
        self.histories = tuple(tuple(h) for h in histories)
        for _plot, key, scale, _split in BAND_CURVES:
            numbers = band(self.histories, key, scale)
            low, high, mean = self._bands[key]
            low.setData(numbers.epochs, numbers.mean - numbers.std)
            high.setData(numbers.epochs, numbers.mean + numbers.std)
            if mean is not None:
                mean.setData(numbers.epochs, numbers.mean)
        for plot, item in self._members:
            self._plots[plot].getPlotItem().removeItem(item)
        self._members = []
        faint = QColor(self._colours["test"])
        faint.setAlpha(MEMBER_ALPHA)
        for history in self.histories:  # the test curves: what the members are compared by
            for plot, key, scale in (("accuracy", "test_acc", 100.0),
                                     ("epoch_loss", "test_loss", 1.0)):
                points = [(r["epoch"], float(r[key]) * scale) for r in history
                          if r.get(key) is not None and math.isfinite(float(r[key]))]
                line = pg.PlotDataItem(*zip(*points, strict=True) if points else ([], []),
                                       pen=pg.mkPen(faint, width=1))
                line.setZValue(BAND_Z)
                self._plots[plot].getPlotItem().addItem(line)
                self._members.append((plot, line))

    def band_data(self, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(epochs, lower, upper) of the band drawn for `key` (e.g. "test_acc")."""
        low, high, _mean = self._bands[key]
        epochs, lower = low.getData()
        _epochs, upper = high.getData()
        empty = np.empty(0)
        return (empty, empty, empty) if epochs is None else (epochs, lower, upper)

    def mean_curve(self, key: str) -> pg.PlotDataItem | None:
        """The dashed mean line drawn for `key` (None without mean lines)."""
        return self._bands[key][2]

    def member_count(self) -> int:
        return len(self.histories)

    def remove(self) -> None:
        for plot, item in self._items + self._members:
            self._plots[plot].getPlotItem().removeItem(item)
        self._items, self._members = [], []

    def _add(self, plot: str, item: pg.GraphicsObject) -> None:
        self._plots[plot].getPlotItem().addItem(item)
        self._items.append((plot, item))
