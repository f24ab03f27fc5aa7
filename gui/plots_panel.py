"""Live plots of a training run: per-step loss and learning rate, per-epoch loss and accuracy.

Other runs can be overlaid for comparison (`set_overlay`, gui/plot_overlays.py): drawn below
the run on screen, which is then labelled "this run" in the legends; the overlaid runs are
named in a key below the plots (gui/overlay_key.py), never in the legends over the curves
(what each names: gui/plot_legends.py).

The run on screen's curves are gui/run_curves.py's; the plotting pieces, gui/plotting.py's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QGridLayout, QWidget

from engine.events import BatchEnd, EpochEnd, RunStart, SettingsChanged
from gui.change_markers import ChangeMarkers
from gui.contrast import secondary_colour
from gui.group_band import GroupBands
from gui.overlay_key import OverlayKey
from gui.plot_legends import PlotLegends
from gui.plot_overlays import Overlay, OverlayCurves
from gui.plotting import EmptyHint, HoverReadout, make_plot
from gui.run_curves import TEST_COLOR, TRAIN_COLOR, EpochCurves, StepCurves

if TYPE_CHECKING:
    from gui.run_model import RunModel

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
# The plots, left to right and top to bottom: (title, x label, y label).
PLOT_TITLES = {"loss": ("Training loss per batch", "step", "loss"),
               "epoch_loss": ("Loss per epoch", "epoch", "loss"),
               "accuracy": ("Accuracy per epoch", "epoch", "accuracy (%)"),
               "lr": ("Learning rate", "step", "learning rate")}
X_LABELS = {name: x_label for name, (_, x_label, _) in PLOT_TITLES.items()}


class PlotsPanel(QWidget):
    """Four live plots in a 2x2 grid. Call only on the GUI thread, with coalesced data."""

    def __init__(self, parent: QWidget | None = None, smoothing: float = 0.9) -> None:
        super().__init__(parent)
        self._smoothing = smoothing
        self._y_tops: dict[str, float] = {}
        self._overlays: dict[str, OverlayCurves] = {}
        self.group: GroupBands | None = None  # the seed group under way (gui/group_run.py)
        self._x_span: tuple[float, float] | None = None  # the run on screen's planned steps

        palette = self.palette()
        self._fg = palette.color(QPalette.ColorRole.Text)
        self._bg = palette.color(QPalette.ColorRole.Base)

        self.plots: dict[str, pg.PlotWidget] = _four_plots(self._fg, self._bg)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        for i, plot in enumerate(self.plots.values()):
            layout.addWidget(plot, i // 2, i % 2)
        self.key = OverlayKey()  # names the overlaid runs (hidden while there are none)
        layout.addWidget(self.key, 2, 0, 1, 2)

        item = {name: plot.getPlotItem() for name, plot in self.plots.items()}
        self._steps = StepCurves(item["loss"], item["lr"], smoothing)
        item["accuracy"].setXLink(item["epoch_loss"])
        item["accuracy"].setYRange(0, 100, padding=0.03)
        item["accuracy"].setMouseEnabled(x=True, y=False)
        self._epochs = EpochCurves(item["epoch_loss"], item["accuracy"], self._fg)
        self.legends = PlotLegends(self.plots, X_LABELS, self._steps, self._epochs, smoothing,
                                   self.key, self._fg)

        hint_colour = secondary_colour(self._fg, self._bg)
        self._hints = {name: EmptyHint(plot, hint_colour) for name, plot in self.plots.items()}
        self.markers = ChangeMarkers(self.plots, self._fg, self._bg)
        self._waiting_for_epoch: int | None = None  # the epoch a run on screen starts with

        describers = {"loss": self._steps.describe_loss, "lr": self._steps.describe_lr,
                      "epoch_loss": self._epochs.describer("loss", ""),
                      "accuracy": self._epochs.describer("acc", " %")}
        self._readouts = {name: HoverReadout(self.plots[name], describe, self._fg, self._bg)
                          for name, describe in describers.items()}
        self._show_hints()

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
        added = self._steps.add(steps, losses, lrs)
        if not added:
            return
        for name in ("loss", "lr"):
            self._hints[name].show_text(None)
            self.markers.show_on(name, True)
        if self._overlays and len(self._steps) == added:
            self._relist_legends()  # the first batches of a run on screen: "this run" is back
        # y from 0 to just above the peak, changed only when the peak grows (see start_run).
        # For the rate, auto-range would also blow a constant value up into a meaningless
        # band; for the loss, the peak of the smoothed line lets a single spike go off the top
        # rather than squash the rest.
        self._fit_y_tops()
        self._fit_views_now("loss", "lr")  # a no-op for axes given fixed ranges

    def _fit_y_tops(self) -> None:
        """y from 0 to just above the highest peak of the run on screen and the overlays."""
        peaks = [curves.peaks() for curves in self._overlays.values()]
        tops = {"loss": max([self._steps.loss_peak, *(p[1] for p in peaks)]),
                "lr": max([self._steps.lr_peak, *(p[2] for p in peaks)])}
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

    # --- the seed group under way ----------------------------------------------------------

    def show_group(self, histories: Sequence[Sequence[dict]]) -> None:
        """A band (mean ± std, dashed mean) over the group's members done so far, each faint
        behind it; the member training now stays the run on screen, on top."""
        if self.group is None:
            self.group = GroupBands(self.plots, {"test": TEST_COLOR, "train": TRAIN_COLOR},
                                    mean_lines=True)
        self.group.set_members(histories)
        self._relist_legends()
        self._fit_views_now("epoch_loss", "accuracy")
        self._show_hints()

    def clear_group(self) -> None:
        if self.group is not None:
            self.group.remove()
            self.group = None
            self._relist_legends()
            self._show_hints()

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

    def _overlays_changed(self) -> None:
        self._relist_legends()
        self._y_tops = {}
        self._fit_y_tops()
        self._fit_step_axes()
        self._fit_views_now(*self.plots)
        self._show_hints()

    def _relist_legends(self) -> None:  # after any change to what is drawn
        self.legends.relist(self._waiting_for_epoch is not None, self._overlays, self.group)

    def _fit_views_now(self, *plots: str) -> None:
        """Auto-range now rather than in pyqtgraph's paint-time pass: a range change made
        while painting queues a second full repaint of every updated plot."""
        for plot in plots:
            view = self.plots[plot].getPlotItem().getViewBox()
            view.updateAutoRange()
            view.updateMatrix()

    # --- epochs ---------------------------------------------------------------------------

    def add_epoch(self, epoch: EpochEnd) -> None:
        """Add (or replace, if it was already there) one epoch's results."""
        self._add_records([epoch.as_record()])

    def load_history(self, history: list[dict]) -> None:
        """Show the epochs of an earlier run (EpochEnd.as_record() dicts, e.g. from a
        checkpoint), replacing the epoch plots' data. Call it after start_run when resuming."""
        self._epochs.clear()
        self._add_records(history)

    def _add_records(self, records: Iterable[dict]) -> None:
        self._epochs.add(records)
        self._relist_legends()
        self._fit_views_now("epoch_loss", "accuracy")
        self._show_hints()

    def clear(self) -> None:
        """Empty every plot of the run on screen; each shows its hint again (see EMPTY_HINTS)
        unless overlaid runs fill it."""
        self._waiting_for_epoch = None
        self._x_span = None
        self._steps.clear()
        self._y_tops = {}
        for name in ("loss", "lr"):  # start_run fixes them again for the next run
            self.plots[name].enableAutoRange()
        self._epochs.clear()
        self._fit_views_now("epoch_loss", "accuracy")
        self.markers.clear()
        for readout in self._readouts.values():
            readout.hide()
        self._relist_legends()
        self._show_hints()

    # --- what is shown --------------------------------------------------------------------

    def hint_text(self, plot: str) -> str:
        """The note shown on one of `plots` while it is empty ("" once it shows data)."""
        hint = self._hints[plot]
        return "" if hint.isHidden() else hint.text()

    def batch_point_count(self) -> int:
        return len(self._steps)

    def skipped_batch_count(self) -> int:
        """Batches left out of the per-step plots because their loss was not finite."""
        return self._steps.skipped

    def epoch_point_count(self) -> int:
        return len(self._epochs)

    def series(self) -> dict[str, np.ndarray]:
        """Copies of everything plotted. Accuracies are in percent, as drawn; a missing value
        (no validation split, a non-finite loss) is NaN."""
        return self._steps.series() | {name: values.copy()
                                       for name, values in self._epochs.series.items()}

    def readout_text(self, plot: str) -> str:
        """The hover read-out currently shown in one of `plots` ("" when hidden)."""
        return self._readouts[plot].text()

    def best_epoch_marked(self) -> int | None:
        """The epoch marked best on the accuracy plot (None when none is)."""
        return self._epochs.best_epoch_marked()

    def _show_hints(self) -> None:
        """A hint on each plot that has no data yet: what will appear there, and when."""
        running = self._waiting_for_epoch is not None
        overlaid_steps = any(len(c.overlay.steps) for c in self._overlays.values())
        overlaid_epochs = any(c.overlay.history for c in self._overlays.values()) or (
            self.group is not None and self.group.member_count() > 0)
        has_data = {"loss": len(self._steps) > 0 or overlaid_steps,
                    "lr": len(self._steps) > 0 or overlaid_steps,
                    "epoch_loss": len(self._epochs) > 0 or overlaid_epochs,
                    "accuracy": len(self._epochs) > 0 or overlaid_epochs}
        for name, hint in self._hints.items():
            idle, waiting = EMPTY_HINTS[name]
            text = waiting.format(epoch=self._waiting_for_epoch) if running else idle
            hint.show_text(None if has_data[name] else text)
            self.markers.show_on(name, has_data[name])


def _four_plots(fg: QColor, bg: QColor) -> dict[str, pg.PlotWidget]:
    plots = {}
    for name, (title, x_label, y_label) in PLOT_TITLES.items():
        plots[name] = make_plot(title, x_label, y_label, fg, bg,
                                integer_x=x_label == "epoch", compact_y=name == "lr")
        plots[name].setMinimumSize(PLOT_MIN_WIDTH, PLOT_MIN_HEIGHT)
    return plots
