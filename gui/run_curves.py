"""The run on screen's curves in the live plots: per step (`StepCurves`: the loss, raw and
smoothed, and the learning rate) and per epoch (`EpochCurves`: loss and accuracy of each
data split, and the best epoch marked).

Built for long runs: per-step data lives in preallocated numpy buffers that double when full,
curves get views of the filled part, and the per-step curves downsample ("peak") and clip to
the visible range, so 100k+ steps still redraw quickly.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from engine.analysis import best_epoch
from gui.plot_overlays import LIVE_Z
from gui.plotting import DebiasedEma, Describer, GrowingColumns, nearest_index

# One colour per data split, the same in every plot (matplotlib's "tab10" hues).
TRAIN_COLOR = "#1f77b4"
TEST_COLOR = "#ff7f0e"
VAL_COLOR = "#2ca02c"
LR_COLOR = "#9467bd"

SPLITS = ("train", "test", "val")
SPLIT_STYLE = {  # split -> (legend name, colour, marker)
    "train": ("train", TRAIN_COLOR, "o"),
    "test": ("test", TEST_COLOR, "s"),
    "val": ("validation", VAL_COLOR, "t"),
}
STEP_COLUMNS = ("step", "loss", "loss_smooth", "lr")


class StepCurves:
    """The loss of every batch (raw and smoothed) and the learning rate at every step, in
    the "loss" and "lr" plots. Batches whose loss or rate is not finite are left out."""

    def __init__(self, loss_plot: pg.PlotItem, lr_plot: pg.PlotItem, smoothing: float) -> None:
        self.smoothing = smoothing
        self._ema = DebiasedEma(smoothing)
        self._columns = GrowingColumns(STEP_COLUMNS)
        self.skipped = 0  # batches left out: their loss or rate was not finite
        self.loss_peak = self.lr_peak = 0.0  # highest smoothed loss, highest rate
        raw_color = QColor(TRAIN_COLOR)
        raw_color.setAlpha(70)
        self.raw_loss = loss_plot.plot(pen=pg.mkPen(raw_color, width=1), name="per batch")
        self.smooth_loss = loss_plot.plot(pen=pg.mkPen(TRAIN_COLOR, width=2),
                                          name=f"smoothed ({smoothing:g})")
        self.lr = lr_plot.plot(pen=pg.mkPen(LR_COLOR, width=2))
        for curve in (self.raw_loss, self.smooth_loss, self.lr):
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
            curve.setSkipFiniteCheck(True)  # non-finite values are filtered out on arrival
            curve.setZValue(LIVE_Z)

    def __len__(self) -> int:
        return len(self._columns)

    def view(self, name: str) -> np.ndarray:
        """The filled part of one of STEP_COLUMNS; a view, not to be kept."""
        return self._columns.view(name)

    def reserve(self, steps: int) -> None:
        self._columns.reserve(steps)

    def add(self, steps: np.ndarray, losses: np.ndarray, lrs: np.ndarray) -> int:
        """Append per-step points (steps increasing); how many were finite and added."""
        steps, losses, lrs = (np.asarray(a, dtype=np.float64).ravel() for a in (steps, losses, lrs))
        if not len(steps) == len(losses) == len(lrs):
            raise ValueError(
                f"add_batches needs one loss and one learning rate per step; got {len(steps)} "
                f"steps, {len(losses)} losses and {len(lrs)} learning rates."
            )
        finite = np.isfinite(losses) & np.isfinite(lrs) & np.isfinite(steps)
        if not finite.all():
            self.skipped += int((~finite).sum())
            steps, losses, lrs = steps[finite], losses[finite], lrs[finite]
        if len(steps) == 0:
            return 0
        self._columns.append({"step": steps, "loss": losses,
                              "loss_smooth": self._ema.update(losses), "lr": lrs})
        step = self.view("step")
        self.raw_loss.setData(step, self.view("loss"))
        self.smooth_loss.setData(step, self.view("loss_smooth"))
        self.lr.setData(step, self.view("lr"))
        self.lr_peak = max(self.lr_peak, float(lrs.max()))
        smooth = self.view("loss_smooth")[-len(lrs):]
        self.loss_peak = max(self.loss_peak, float(smooth.max()))
        return len(steps)

    def clear(self) -> None:
        self._columns.clear()
        self._ema.reset()
        self.loss_peak = self.lr_peak = 0.0
        self.skipped = 0
        for curve in (self.raw_loss, self.smooth_loss, self.lr):
            curve.setData([], [])

    def series(self) -> dict[str, np.ndarray]:
        """Copies of every column."""
        return {name: self.view(name).copy() for name in STEP_COLUMNS}

    def describe_loss(self, x: float) -> tuple[float, str] | None:
        i = nearest_index(self.view("step"), x)
        if i is None:
            return None
        return (self.view("step")[i],
                f"step {self.view('step')[i]:,.0f}\n"
                f"loss {self.view('loss')[i]:.4g}\n"
                f"smoothed {self.view('loss_smooth')[i]:.4g}")

    def describe_lr(self, x: float) -> tuple[float, str] | None:
        i = nearest_index(self.view("step"), x)
        if i is None:
            return None
        step = self.view("step")[i]
        return step, f"step {step:,.0f}\nlr {self.view('lr')[i]:.3g}"


class EpochCurves:
    """Each split's loss and accuracy after every epoch, in the "epoch_loss" and "accuracy"
    plots, and a dotted line at the best epoch (engine.analysis.best_epoch)."""

    def __init__(self, epoch_loss: pg.PlotItem, accuracy: pg.PlotItem, fg: QColor) -> None:
        self._records: dict[int, dict[str, float | int | None]] = {}
        self.series: dict[str, np.ndarray] = _empty_series()
        self.curves: dict[str, dict[str, pg.PlotDataItem]] = {
            "epoch_loss": {split: _split_curve(epoch_loss, split) for split in SPLITS},
            "accuracy": {split: _split_curve(accuracy, split) for split in SPLITS},
        }
        self.best = pg.InfiniteLine(  # at the best epoch, labelled
            angle=90, movable=False, pen=pg.mkPen(fg, width=1, style=Qt.PenStyle.DotLine),
            label="best", labelOpts={"position": 0.97, "color": fg,
                                     "anchors": [(0, 0), (0, 0)]})
        accuracy.addItem(self.best, ignoreBounds=True)
        self.best.hide()

    def __len__(self) -> int:
        return len(self._records)

    def add(self, records: Iterable[dict]) -> None:
        """Add (or replace, epoch by epoch) records (EpochEnd.as_record() dicts)."""
        for record in records:
            if record.get("epoch") is None:
                raise ValueError(f"An epoch record needs an 'epoch' number; got {record!r}.")
            self._records[int(record["epoch"])] = dict(record)
        self._redraw()

    def clear(self) -> None:
        self._records.clear()
        self._redraw()

    def val_shown(self) -> bool:
        """Whether any epoch has a validation result."""
        return bool(np.isfinite(self.series["val_loss"]).any())

    def best_epoch_marked(self) -> int | None:
        return int(self.best.value()) if self.best.isVisible() else None

    def describer(self, kind: str, unit: str) -> Describer:
        """The hover read-out of every split's `kind` ("loss", "acc") at the nearest epoch."""
        def describe(x: float) -> tuple[float, str] | None:
            epochs = self.series["epoch"]
            i = nearest_index(epochs, x)
            if i is None:
                return None
            lines = [f"epoch {epochs[i]:.0f}"]
            for split in SPLITS:
                value = self.series[f"{split}_{kind}"][i]
                if np.isfinite(value):
                    lines.append(f"{SPLIT_STYLE[split][0]} {value:.4g}{unit}")
            return epochs[i], "\n".join(lines)

        return describe

    def _redraw(self) -> None:
        records = [self._records[e] for e in sorted(self._records)]
        series = {"epoch": np.array([r["epoch"] for r in records], dtype=np.float64)}
        for split in SPLITS:
            for kind, scale in (("loss", 1.0), ("acc", 100.0)):
                values = [r.get(f"{split}_{kind}") for r in records]
                series[f"{split}_{kind}"] = np.array(
                    [np.nan if v is None else float(v) * scale for v in values], dtype=np.float64
                )
        self.series = series
        for plot, kind in (("epoch_loss", "loss"), ("accuracy", "acc")):
            for split, curve in self.curves[plot].items():
                ys = series[f"{split}_{kind}"]
                shown = np.isfinite(ys)
                curve.setData(series["epoch"][shown], ys[shown])
        self._mark_best_epoch(records)

    def _mark_best_epoch(self, records: list[dict]) -> None:
        best = best_epoch(records)
        self.best.setVisible(best is not None)
        if best is not None:
            self.best.setPos(best)
            self.best.label.setFormat(f"best: epoch {best}")
            # Written on the side of the line with room for it: left of a late best epoch,
            # which would otherwise run off the plot's right edge.
            epochs = [record["epoch"] for record in records]
            late = best > (min(epochs) + max(epochs)) / 2
            self.best.label.anchors = [(1, 0), (1, 0)] if late else [(0, 0), (0, 0)]
            self.best.label.updatePosition()


def _empty_series() -> dict[str, np.ndarray]:
    names = ["epoch"] + [f"{split}_{kind}" for kind in ("loss", "acc") for split in SPLITS]
    return {name: np.empty(0) for name in names}


def _split_curve(plot: pg.PlotItem, split: str) -> pg.PlotDataItem:
    name, color, symbol = SPLIT_STYLE[split]
    curve = plot.plot(pen=pg.mkPen(color, width=2), symbol=symbol, symbolSize=8,
                      symbolPen=pg.mkPen(color), symbolBrush=pg.mkBrush(color), name=name)
    curve.setZValue(LIVE_Z)
    return curve
