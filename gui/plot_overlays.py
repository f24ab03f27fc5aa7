"""Other runs' curves drawn under the run on screen, for comparing runs (gui/runs_panel.py).

Each overlaid run has one colour in all four plots and its name in the key below them: its
smoothed per-batch loss, its learning rate, and per epoch its test loss and accuracy (solid)
and train loss and accuracy (dotted, same colour). Overlays are drawn thinner
and below the run on screen, which stays on top. A seed group is overlaid as one run whose
epochs are its members' means, with a band (mean ± std) and its members faint behind it
(gui/group_band.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from engine.events import SettingsChanged
from gui.change_markers import ChangeMarkers
from gui.group_band import GroupBands

# Colours for overlaid runs: distinct from each other and from the run on screen's colours
# (blue, orange, green, purple in gui/plots_panel.py).
OVERLAY_COLOURS = ("#d62728", "#17becf", "#bcbd22", "#e377c2", "#8c564b", "#7f7f7f",
                   "#637939", "#7b4173", "#843c39", "#e7969c")
OVERLAY_Z, LIVE_Z = -10, 10


def free_colour(taken: set[str]) -> str:
    """The first overlay colour not `taken` (the first ones the most distinct), else one
    in turn."""
    free = [c for c in OVERLAY_COLOURS if c not in taken]
    return free[0] if free else OVERLAY_COLOURS[len(taken) % len(OVERLAY_COLOURS)]


@dataclass(frozen=True)
class Overlay:
    """One run's curves: per-batch points (steps increasing) and per-epoch records."""

    name: str
    colour: str
    steps: np.ndarray = field(default_factory=lambda: np.empty(0))
    losses: np.ndarray = field(default_factory=lambda: np.empty(0))
    lrs: np.ndarray = field(default_factory=lambda: np.empty(0))
    history: tuple[dict, ...] = ()
    changes: tuple[SettingsChanged, ...] = ()  # settings changed mid-run, drawn as markers
    # A seed group's members' epoch records (history is then their means): drawn as a band.
    members: tuple[tuple[dict, ...], ...] = ()


def smoothed(steps: np.ndarray, losses: np.ndarray, weight: float) -> np.ndarray:
    """The debiased exponential moving average the live loss curve uses; points stored one
    per bucket of batches are weighted as that many batches."""
    if len(losses) == 0:
        return np.empty(0)
    stride = float(np.median(np.diff(steps))) if len(steps) > 1 else 1.0
    w = weight ** max(stride, 1.0)
    out = np.empty(len(losses))
    biased = 0.0
    for i, value in enumerate(losses.tolist()):
        biased = w * biased + (1.0 - w) * value
        out[i] = biased / (1.0 - w ** (i + 1))
    return out


def _finite(xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = np.isfinite(xs) & np.isfinite(ys)
    return xs[keep], ys[keep]


class OverlayCurves:
    """The curves of one overlaid run in the four plots (PlotsPanel's `plots`)."""

    def __init__(self, plots: dict[str, pg.PlotWidget], overlay: Overlay,
                 smoothing: float, fg: QColor, bg: QColor) -> None:
        self._plots = plots
        self.markers = ChangeMarkers(plots, fg, bg, colour=overlay.colour)
        self._smoothing = smoothing
        pen = pg.mkPen(overlay.colour, width=1.6)
        dotted = pg.mkPen(overlay.colour, width=1.2, style=Qt.PenStyle.DotLine)

        def curve(plot: str, line: pg.QtGui.QPen, symbol: str | None = None
                  ) -> pg.PlotDataItem:
            item = pg.PlotDataItem(pen=line, symbol=symbol, symbolSize=5,
                                   symbolPen=pg.mkPen(overlay.colour),
                                   symbolBrush=pg.mkBrush(overlay.colour))
            item.setZValue(OVERLAY_Z)
            plots[plot].getPlotItem().addItem(item)  # the panel names it in its key
            return item

        self.loss = curve("loss", pen)
        self.lr = curve("lr", pen)
        self.test_loss = curve("epoch_loss", pen, "s")
        self.train_loss = curve("epoch_loss", dotted)
        self.test_acc = curve("accuracy", pen, "s")
        self.train_acc = curve("accuracy", dotted)
        for item in (self.loss, self.lr):
            item.setDownsampling(auto=True, method="peak")
            item.setClipToView(True)
        self.overlay = overlay
        self.bands: GroupBands | None = None
        self.markers.replace(list(overlay.changes))
        self.update(overlay)

    def update(self, overlay: Overlay) -> None:
        if overlay.changes != self.overlay.changes:
            self.markers.replace(list(overlay.changes))
        self.overlay = overlay
        if overlay.members and self.bands is None:
            colours = {"test": overlay.colour, "train": overlay.colour}
            self.bands = GroupBands(self._plots, colours)
        if self.bands is not None:
            self.bands.set_members(overlay.members)
        steps = np.asarray(overlay.steps, dtype=np.float64)
        losses = np.asarray(overlay.losses, dtype=np.float64)
        steps, losses = _finite(steps, losses)
        self.smoothed_losses = smoothed(steps, losses, self._smoothing)
        self.loss.setData(steps, self.smoothed_losses)
        self.lr.setData(*_finite(np.asarray(overlay.steps, dtype=np.float64),
                                 np.asarray(overlay.lrs, dtype=np.float64)))
        epochs = np.array([r.get("epoch", math.nan) for r in overlay.history], dtype=np.float64)
        for item, key, scale in ((self.test_loss, "test_loss", 1.0),
                                 (self.train_loss, "train_loss", 1.0),
                                 (self.test_acc, "test_acc", 100.0),
                                 (self.train_acc, "train_acc", 100.0)):
            values = np.array([math.nan if r.get(key) is None else float(r[key]) * scale
                               for r in overlay.history], dtype=np.float64)
            item.setData(*_finite(epochs, values))

    def peaks(self) -> tuple[float, float, float]:
        """(last step, highest smoothed loss, highest learning rate); 0 where none."""
        steps = np.asarray(self.overlay.steps, dtype=np.float64)
        lrs = np.asarray(self.overlay.lrs, dtype=np.float64)
        finite = lambda a: a[np.isfinite(a)]  # noqa: E731
        return (float(finite(steps).max(initial=0.0)),
                float(finite(self.smoothed_losses).max(initial=0.0)),
                float(finite(lrs).max(initial=0.0)))

    def items(self) -> tuple[pg.PlotDataItem, ...]:
        return (self.loss, self.lr, self.test_loss, self.train_loss, self.test_acc,
                self.train_acc)

    def remove(self) -> None:
        self.markers.clear()
        if self.bands is not None:
            self.bands.remove()
        for plot, items in (("loss", (self.loss,)), ("lr", (self.lr,)),
                            ("epoch_loss", (self.test_loss, self.train_loss)),
                            ("accuracy", (self.test_acc, self.train_acc))):
            plot_item = self._plots[plot].getPlotItem()
            for item in items:
                plot_item.removeItem(item)
