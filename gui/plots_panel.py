"""Live plots of a training run: per-step loss and learning rate, per-epoch loss and accuracy.

Other runs can be overlaid for comparison (`set_overlay`, gui/plot_overlays.py): drawn below
the run on screen, which is then labelled "this run" in the legends; the overlaid runs are
named in a key below the plots (gui/overlay_key.py), never in the legends over the curves.

Built for long runs: per-step data lives in preallocated numpy buffers that double when full,
curves get views of the filled part, and the per-step curves downsample ("peak") and clip to
the visible range, so 100k+ steps still redraw quickly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from engine.analysis import best_epoch
from engine.events import BatchEnd, EpochEnd, RunStart, SettingsChanged
from gui.axis_legend import label_with_legend
from gui.change_markers import ChangeMarkers
from gui.contrast import secondary_colour
from gui.overlay_key import OverlayKey
from gui.plot_overlays import LIVE_Z, Overlay, OverlayCurves

if TYPE_CHECKING:
    from gui.run_model import RunModel

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

# Preallocating for a whole run is cheap up to here (4 float64 columns: 32 MiB); longer
# runs grow by doubling as they go.
MAX_PREALLOCATED_STEPS = 1 << 20

# What an empty plot says instead of showing meaningless 0-1 axes: (before any run, while a
# run has not reached it yet).
EMPTY_HINTS = {
    "loss": ("The loss of every batch appears here as the network learns.\nClick Train to start.",
             "The loss of every batch appears here after the first batches."),
    "epoch_loss": ("Train and test loss after each epoch.\nClick Train to start.",
                   "Train and test loss appear here when epoch {epoch} ends."),
    "accuracy": ("Train and test accuracy after each epoch.\nClick Train to start.",
                 "Train and test accuracy appear here when epoch {epoch} ends."),
    "lr": ("The learning rate at every step (it changes with a schedule).\n"
           "Click Train to start.",
           "The learning rate at every step appears here after the first batches."),
}
# Small enough for a 1024x600 screen, large enough for readable axes and three y ticks.
PLOT_MIN_WIDTH, PLOT_MIN_HEIGHT = 260, 140

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


class PlotsPanel(QWidget):
    """Four live plots in a 2x2 grid. Call only on the GUI thread, with coalesced data."""

    def __init__(self, parent: QWidget | None = None, smoothing: float = 0.9) -> None:
        super().__init__(parent)
        self._ema = DebiasedEma(smoothing)
        self._steps = GrowingColumns(("step", "loss", "loss_smooth", "lr"))
        self._epochs: dict[int, dict[str, float | int | None]] = {}
        self._epoch_series: dict[str, np.ndarray] = self._empty_epoch_series()
        self._skipped_batches = 0
        self._lr_peak = self._loss_peak = 0.0
        self._y_tops: dict[str, float] = {}
        self._smoothing = smoothing
        self._overlays: dict[str, OverlayCurves] = {}
        self._x_span: tuple[float, float] | None = None  # the run on screen's planned steps
        self._legend_state: tuple | None = None  # what the legends list (_relist_legends)
        self._x_labels = {"loss": "step", "epoch_loss": "epoch", "accuracy": "epoch",
                          "lr": "step"}
        self._legend_entries: dict[str, list[tuple[pg.PlotDataItem, str]]] = {
            name: [] for name in self._x_labels}

        palette = self.palette()
        self._fg = palette.color(QPalette.ColorRole.Text)
        self._bg = palette.color(QPalette.ColorRole.Base)

        self.plots: dict[str, pg.PlotWidget] = {
            name: self._make_plot(title, self._x_labels[name], y_label,
                                  integer_x=self._x_labels[name] == "epoch",
                                  compact_y=name == "lr")
            for name, title, y_label in (("loss", "Training loss per batch", "loss"),
                                         ("epoch_loss", "Loss per epoch", "loss"),
                                         ("accuracy", "Accuracy per epoch", "accuracy (%)"),
                                         ("lr", "Learning rate", "learning rate"))
        }
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        for i, plot in enumerate(self.plots.values()):
            layout.addWidget(plot, i // 2, i % 2)
        self.key = OverlayKey()  # names the overlaid runs (hidden while there are none)
        layout.addWidget(self.key, 2, 0, 1, 2)

        loss = self.plots["loss"].getPlotItem()
        raw_color = QColor(TRAIN_COLOR)
        raw_color.setAlpha(70)
        self._raw_loss = loss.plot(pen=pg.mkPen(raw_color, width=1), name="per batch")
        self._smooth_loss = loss.plot(pen=pg.mkPen(TRAIN_COLOR, width=2),
                                      name=f"smoothed ({smoothing:g})")
        self._lr = self.plots["lr"].getPlotItem().plot(pen=pg.mkPen(LR_COLOR, width=2))
        for curve in (self._raw_loss, self._smooth_loss, self._lr):
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
            curve.setSkipFiniteCheck(True)  # non-finite values are filtered out on arrival
            curve.setZValue(LIVE_Z)

        epoch_loss = self.plots["epoch_loss"].getPlotItem()
        accuracy = self.plots["accuracy"].getPlotItem()
        accuracy.setXLink(epoch_loss)
        accuracy.setYRange(0, 100, padding=0.03)
        accuracy.setMouseEnabled(x=True, y=False)
        self._epoch_curves: dict[str, dict[str, pg.PlotDataItem]] = {
            "epoch_loss": {split: self._epoch_curve(epoch_loss, split) for split in SPLITS},
            "accuracy": {split: self._epoch_curve(accuracy, split) for split in SPLITS},
        }
        # The best epoch (highest validation, else test, accuracy: engine.analysis).
        self._best = pg.InfiniteLine(
            angle=90, movable=False, pen=pg.mkPen(self._fg, width=1, style=Qt.PenStyle.DotLine),
            label="best", labelOpts={"position": 0.97, "color": self._fg,
                                     "anchors": [(0, 0), (0, 0)]})
        accuracy.addItem(self._best, ignoreBounds=True)
        self._best.hide()

        hint_colour = secondary_colour(self._fg, self._bg)
        self._hints = {name: EmptyHint(plot, hint_colour) for name, plot in self.plots.items()}
        self.markers = ChangeMarkers(self.plots, self._fg, self._bg)
        self._waiting_for_epoch: int | None = None  # the epoch a run on screen starts with

        self._readouts = {
            "loss": HoverReadout(self.plots["loss"], self._describe_loss, self._fg, self._bg),
            "lr": HoverReadout(self.plots["lr"], self._describe_lr, self._fg, self._bg),
            "epoch_loss": HoverReadout(self.plots["epoch_loss"], self._describer("loss", ""),
                                       self._fg, self._bg),
            "accuracy": HoverReadout(self.plots["accuracy"], self._describer("acc", " %"),
                                     self._fg, self._bg),
        }
        self._show_hints()

    # --- building -------------------------------------------------------------------------

    def _make_plot(self, title: str, x_label: str, y_label: str, *, integer_x: bool = False,
                   compact_y: bool = False) -> pg.PlotWidget:
        axes = {}
        if integer_x:
            axes["bottom"] = IntegerAxis("bottom")
        if compact_y:
            axes["left"] = CompactAxis("left")
        widget = pg.PlotWidget(background=self._bg, axisItems=axes)
        widget.setAntialiasing(True)
        widget.setMinimumSize(PLOT_MIN_WIDTH, PLOT_MIN_HEIGHT)
        item = widget.getPlotItem()
        fg = self._fg.name()
        item.setTitle(title, color=fg, size="11pt", bold=True)
        for side, text in (("bottom", x_label), ("left", y_label)):
            axis = item.getAxis(side)
            axis.setPen(pg.mkPen(self._fg))
            axis.setTextPen(pg.mkPen(self._fg))
            axis.setLabel(text, color=fg, **{"font-size": "10pt"})
            # Plain numbers: a loss of 0.5 reads "0.5", not "500" on a "loss (x0.001)" axis,
            # step 20,000 not "20" on "step (x1000)", a rate "0.0003" not "0.3 (x0.001)".
            axis.enableAutoSIPrefix(False)
            # Grid lines at major and minor ticks only: the third, finest level adds clutter
            # and is the costliest part of a live redraw.
            axis.setStyle(maxTickLevel=1)
        item.showGrid(x=True, y=True, alpha=0.2)
        item.setMenuEnabled(True)
        return widget


    def _epoch_curve(self, plot: pg.PlotItem, split: str) -> pg.PlotDataItem:
        name, color, symbol = SPLIT_STYLE[split]
        curve = plot.plot(pen=pg.mkPen(color, width=2), symbol=symbol, symbolSize=8,
                          symbolPen=pg.mkPen(color), symbolBrush=pg.mkBrush(color), name=name)
        curve.setZValue(LIVE_Z)
        return curve

    # --- public API -----------------------------------------------------------------------

    def follow(self, run: RunModel) -> None:
        """Show the run on screen as it goes (gui/run_model.py)."""
        run.run_started.connect(lambda start: self._show_start(start))
        run.batches_arrived.connect(lambda batches: self.add_batch_events(batches))
        run.epoch_ended.connect(lambda epoch: self.add_epoch(epoch))
        run.history_replaced.connect(lambda history: self._show_history(history))
        run.batches_restored.connect(lambda columns: self._show_batches(columns))
        run.settings_changed.connect(lambda change: self.markers.add(change))
        run.changes_replaced.connect(lambda changes: self.markers.replace(changes))

    def _show_start(self, run: RunStart) -> None:
        self.start_run(run)
        if run.history:  # a resumed run: show the epochs it continues from
            self.load_history(list(run.history))
        self.markers.replace([SettingsChanged.from_record(r) for r in run.changes])

    def _show_history(self, history: list[dict]) -> None:
        self.clear()
        if history:
            self.load_history(history)

    def _show_batches(self, columns: dict[str, list[float]]) -> None:
        """The per-batch curves an opened run's folder recorded (engine/records/runs.py)."""
        if columns.get("step"):
            self.add_batches(*(np.asarray(columns[name], dtype=np.float64)
                               for name in ("step", "loss", "lr")))

    def add_batch_events(self, batches: Sequence[BatchEnd]) -> None:
        self.add_batches(np.array([b.step for b in batches], dtype=np.float64),
                         np.array([b.loss for b in batches], dtype=np.float64),
                         np.array([b.lr for b in batches], dtype=np.float64))

    def start_run(self, run: RunStart) -> None:
        """Clear every plot and preallocate room for the whole run's steps.

        A run that continues the one on screen (start_epoch > 0) keeps its batches up to
        the step it continues from; later ones (a stopped run's unfinished epoch) go.
        """
        first_step = run.steps_done or run.start_epoch * run.batches_per_epoch
        kept = 0
        if run.start_epoch > 0:
            kept = int(np.searchsorted(self._steps.view("step"), first_step, side="right"))
        earlier = [self._steps.view(name)[:kept].copy() for name in ("step", "loss", "lr")]
        self.clear()
        self._waiting_for_epoch = run.start_epoch + 1
        self._relist_legends()
        self._show_hints()
        run_steps = max(0, run.epochs - run.start_epoch) * run.batches_per_epoch
        # The per-step plots span the whole run from the start: the curve grows across a
        # fixed axis instead of the axes changing (and repainting) on every update, which
        # more than halves the cost of a live redraw.
        x_from = 0 if kept else first_step
        self._x_span = (x_from, first_step + max(run_steps, 1))
        self._fit_step_axes()
        self._steps.reserve(min(kept + run_steps, MAX_PREALLOCATED_STEPS))
        if kept:
            self.add_batches(*earlier)

    def add_batches(self, steps: np.ndarray, losses: np.ndarray, lrs: np.ndarray) -> None:
        """Append per-step points (steps increasing). Batches whose loss or learning rate is
        not finite (a diverging run) are left out rather than wrecking the axes."""
        steps, losses, lrs = (np.asarray(a, dtype=np.float64).ravel() for a in (steps, losses, lrs))
        if not len(steps) == len(losses) == len(lrs):
            raise ValueError(
                f"add_batches needs one loss and one learning rate per step; got {len(steps)} "
                f"steps, {len(losses)} losses and {len(lrs)} learning rates."
            )
        finite = np.isfinite(losses) & np.isfinite(lrs) & np.isfinite(steps)
        if not finite.all():
            self._skipped_batches += int((~finite).sum())
            steps, losses, lrs = steps[finite], losses[finite], lrs[finite]
        if len(steps) == 0:
            return
        self._steps.append({"step": steps, "loss": losses, "loss_smooth": self._ema.update(losses),
                            "lr": lrs})
        for name in ("loss", "lr"):
            self._hints[name].show_text(None)
            self.markers.show_on(name, True)
        if self._overlays and len(self._steps) == len(steps):
            self._relist_legends()  # the first batches of a run on screen: "this run" is back
        step = self._steps.view("step")
        self._raw_loss.setData(step, self._steps.view("loss"))
        self._smooth_loss.setData(step, self._steps.view("loss_smooth"))
        self._lr.setData(step, self._steps.view("lr"))
        # y from 0 to just above the peak, changed only when the peak grows (see start_run).
        # For the rate, auto-range would also blow a constant value up into a meaningless
        # band; for the loss, the peak of the smoothed line lets a single spike go off the top
        # rather than squash the rest.
        self._lr_peak = max(self._lr_peak, float(lrs.max()))
        smooth = self._steps.view("loss_smooth")[-len(lrs):]
        self._loss_peak = max(self._loss_peak, float(smooth.max()))
        self._fit_y_tops()
        self._fit_views_now("loss", "lr")  # a no-op for axes given fixed ranges

    def _fit_y_tops(self) -> None:
        """y from 0 to just above the highest peak of the run on screen and the overlays."""
        peaks = [curves.peaks() for curves in self._overlays.values()]
        tops = {"loss": max([self._loss_peak, *(p[1] for p in peaks)]),
                "lr": max([self._lr_peak, *(p[2] for p in peaks)])}
        for name, headroom in (("lr", 1.1), ("loss", 1.25)):
            peak = tops[name]
            if peak > 0 and self._y_tops.get(name) != peak:
                self._y_tops[name] = peak
                self.plots[name].setYRange(0, peak * headroom, padding=0)

    def _fit_step_axes(self) -> None:
        """The step axes span the run on screen's planned steps and every overlaid run."""
        if self._x_span is None:
            return  # no run on screen: the axes follow the overlays (auto-range)
        last = max([self._x_span[1], *(c.peaks()[0] for c in self._overlays.values())])
        for name in ("loss", "lr"):
            self.plots[name].setXRange(self._x_span[0], last, padding=0.02)

    # --- overlays -------------------------------------------------------------------------

    def set_overlay(self, key: str, overlay: Overlay) -> None:
        """Draw (or update) another run's curves under the run on screen."""
        curves = self._overlays.get(key)
        if curves is None:
            self._overlays[key] = OverlayCurves(self.plots, overlay, self._smoothing,
                                                self._fg, self._bg)
        else:
            curves.update(overlay)
        self._overlays_changed()

    def remove_overlay(self, key: str) -> None:
        curves = self._overlays.pop(key, None)
        if curves is not None:
            curves.remove()
            self._overlays_changed()

    def overlay_keys(self) -> list[str]:
        return list(self._overlays)

    def overlay_curves(self, key: str) -> OverlayCurves:
        return self._overlays[key]

    def legend_names(self, plot: str) -> list[str]:
        """The names listed in one plot's legend (its x-axis label), left to right."""
        return [name for _, name in self._legend_entries[plot]]

    def _overlays_changed(self) -> None:
        self._relist_legends()
        self._y_tops = {}
        self._fit_y_tops()
        self._fit_step_axes()
        self._fit_views_now(*self.plots)
        self._show_hints()

    def _relist_legends(self) -> None:
        """Each legend lists the run on screen's lines (left out while there is no run on
        screen); the key below the plots names the overlaid runs. Rebuilt only when what is
        listed changes, not on every update."""
        live = bool(len(self._steps) or self._epochs or self._waiting_for_epoch is not None)
        val_shown = bool(np.isfinite(self._epoch_series["val_loss"]).any())
        overlays = tuple((key, c.overlay.name) for key, c in self._overlays.items())
        state = (live, val_shown, overlays)
        if state == self._legend_state:
            return
        self._legend_state = state
        # The overlaid runs are named once, in the key below the plots: legends listing
        # them grew over the curves (gui/overlay_key.py).
        self.key.set_runs([(c.overlay.name, c.overlay.colour) for c in self._overlays.values()])
        listed: dict[str, list[tuple[pg.PlotDataItem, str]]] = {
            name: [] for name in self.plots}
        if live or not overlays:
            listed["loss"] += [(self._raw_loss, "per batch"),
                               (self._smooth_loss, f"smoothed ({self._smoothing:g})")]
            for plot in ("epoch_loss", "accuracy"):
                for split, curve in self._epoch_curves[plot].items():
                    if split != "val" or val_shown:
                        listed[plot].append((curve, SPLIT_STYLE[split][0]))
        for plot, entries in listed.items():
            # Written into the x-axis label, never over the curves (gui/axis_legend.py).
            self._legend_entries[plot] = entries
            self.plots[plot].getPlotItem().getAxis("bottom").setLabel(
                label_with_legend(self._x_labels[plot], entries), color=self._fg.name(),
                **{"font-size": "10pt"})

    def _fit_views_now(self, *plots: str) -> None:
        """Auto-range now rather than in pyqtgraph's paint-time pass: a range change made
        while painting queues a second full repaint of every updated plot."""
        for plot in plots:
            view = self.plots[plot].getPlotItem().getViewBox()
            view.updateAutoRange()
            view.updateMatrix()

    def add_epoch(self, epoch: EpochEnd) -> None:
        """Add (or replace, if it was already there) one epoch's results."""
        self._add_records([epoch.as_record()])

    def load_history(self, history: list[dict]) -> None:
        """Show the epochs of an earlier run (EpochEnd.as_record() dicts, e.g. from a
        checkpoint), replacing the epoch plots' data. Call it after start_run when resuming."""
        self._epochs.clear()
        self._add_records(history)

    def clear(self) -> None:
        """Empty every plot of the run on screen; each shows its hint again (see EMPTY_HINTS)
        unless overlaid runs fill it."""
        self._waiting_for_epoch = None
        self._x_span = None
        self._steps.clear()
        self._ema.reset()
        self._lr_peak = self._loss_peak = 0.0
        self._y_tops = {}
        for name in ("loss", "lr"):  # start_run fixes them again for the next run
            self.plots[name].enableAutoRange()
        self._skipped_batches = 0
        for curve in (self._raw_loss, self._smooth_loss, self._lr):
            curve.setData([], [])
        self._epochs.clear()
        self._redraw_epochs()
        self.markers.clear()
        for readout in self._readouts.values():
            readout.hide()
        self._relist_legends()
        self._show_hints()

    def hint_text(self, plot: str) -> str:
        """The note shown on one of `plots` while it is empty ("" once it shows data)."""
        hint = self._hints[plot]
        return "" if hint.isHidden() else hint.text()

    def batch_point_count(self) -> int:
        return len(self._steps)

    def skipped_batch_count(self) -> int:
        """Batches left out of the per-step plots because their loss was not finite."""
        return self._skipped_batches

    def epoch_point_count(self) -> int:
        return len(self._epochs)

    def series(self) -> dict[str, np.ndarray]:
        """Copies of everything plotted. Accuracies are in percent, as drawn; a missing value
        (no validation split, a non-finite loss) is NaN."""
        per_step = {name: self._steps.view(name).copy()
                    for name in ("step", "loss", "loss_smooth", "lr")}
        return per_step | {name: values.copy() for name, values in self._epoch_series.items()}

    def readout_text(self, plot: str) -> str:
        """The hover read-out currently shown in one of `plots` ("" when hidden)."""
        return self._readouts[plot].text()

    # --- epochs ---------------------------------------------------------------------------

    def _add_records(self, records: Iterable[dict]) -> None:
        for record in records:
            if record.get("epoch") is None:
                raise ValueError(f"An epoch record needs an 'epoch' number; got {record!r}.")
            self._epochs[int(record["epoch"])] = dict(record)
        self._redraw_epochs()

    @staticmethod
    def _empty_epoch_series() -> dict[str, np.ndarray]:
        names = ["epoch"] + [f"{split}_{kind}" for kind in ("loss", "acc") for split in SPLITS]
        return {name: np.empty(0) for name in names}

    def _redraw_epochs(self) -> None:
        records = [self._epochs[e] for e in sorted(self._epochs)]
        series = {"epoch": np.array([r["epoch"] for r in records], dtype=np.float64)}
        for split in SPLITS:
            for kind, scale in (("loss", 1.0), ("acc", 100.0)):
                values = [r.get(f"{split}_{kind}") for r in records]
                series[f"{split}_{kind}"] = np.array(
                    [np.nan if v is None else float(v) * scale for v in values], dtype=np.float64
                )
        self._epoch_series = series

        for plot, kind in (("epoch_loss", "loss"), ("accuracy", "acc")):
            for split, curve in self._epoch_curves[plot].items():
                ys = series[f"{split}_{kind}"]
                shown = np.isfinite(ys)
                curve.setData(series["epoch"][shown], ys[shown])
        self._relist_legends()
        self._mark_best_epoch(records)
        self._fit_views_now("epoch_loss", "accuracy")
        self._show_hints()

    def _mark_best_epoch(self, records: list[dict]) -> None:
        best = best_epoch(records)
        self._best.setVisible(best is not None)
        if best is not None:
            self._best.setPos(best)
            self._best.label.setFormat(f"best: epoch {best}")
            # Written on the side of the line with room for it: left of a late best epoch,
            # which would otherwise run off the plot's right edge.
            epochs = [record["epoch"] for record in records]
            late = best > (min(epochs) + max(epochs)) / 2
            self._best.label.anchors = [(1, 0), (1, 0)] if late else [(0, 0), (0, 0)]
            self._best.label.updatePosition()

    def best_epoch_marked(self) -> int | None:
        """The epoch marked best on the accuracy plot (None when none is)."""
        return int(self._best.value()) if self._best.isVisible() else None

    def _show_hints(self) -> None:
        """A hint on each plot that has no data yet: what will appear there, and when."""
        running = self._waiting_for_epoch is not None
        overlaid_steps = any(len(c.overlay.steps) for c in self._overlays.values())
        overlaid_epochs = any(c.overlay.history for c in self._overlays.values())
        has_data = {"loss": len(self._steps) > 0 or overlaid_steps,
                    "lr": len(self._steps) > 0 or overlaid_steps,
                    "epoch_loss": bool(self._epochs) or overlaid_epochs,
                    "accuracy": bool(self._epochs) or overlaid_epochs}
        for name, hint in self._hints.items():
            idle, waiting = EMPTY_HINTS[name]
            text = waiting.format(epoch=self._waiting_for_epoch) if running else idle
            hint.show_text(None if has_data[name] else text)
            self.markers.show_on(name, has_data[name])

    # --- hover read-outs ------------------------------------------------------------------

    def _describe_loss(self, x: float) -> tuple[float, str] | None:
        i = nearest_index(self._steps.view("step"), x)
        if i is None:
            return None
        return (self._steps.view("step")[i],
                f"step {self._steps.view('step')[i]:,.0f}\n"
                f"loss {self._steps.view('loss')[i]:.4g}\n"
                f"smoothed {self._steps.view('loss_smooth')[i]:.4g}")

    def _describe_lr(self, x: float) -> tuple[float, str] | None:
        i = nearest_index(self._steps.view("step"), x)
        if i is None:
            return None
        step = self._steps.view("step")[i]
        return step, f"step {step:,.0f}\nlr {self._steps.view('lr')[i]:.3g}"

    def _describer(self, kind: str, unit: str) -> Describer:
        def describe(x: float) -> tuple[float, str] | None:
            epochs = self._epoch_series["epoch"]
            i = nearest_index(epochs, x)
            if i is None:
                return None
            lines = [f"epoch {epochs[i]:.0f}"]
            for split in SPLITS:
                value = self._epoch_series[f"{split}_{kind}"][i]
                if np.isfinite(value):
                    lines.append(f"{SPLIT_STYLE[split][0]} {value:.4g}{unit}")
            return epochs[i], "\n".join(lines)

        return describe
