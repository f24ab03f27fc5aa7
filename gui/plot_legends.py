"""What the plots name: each plot's legend (in its x-axis label, gui/axis_legend.py) lists
the run on screen's lines and the seed group's mean; the key below the plots
(gui/overlay_key.py) names the overlaid runs, never the legends over the curves.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyqtgraph as pg
from PySide6.QtGui import QColor

from gui.axis_legend import label_with_legend
from gui.group_band import GroupBands
from gui.overlay_key import OverlayKey
from gui.plot_overlays import OverlayCurves
from gui.run_curves import SPLIT_STYLE, EpochCurves, StepCurves


class PlotLegends:
    """The legends of a PlotsPanel's plots and its overlay key. Call on the GUI thread."""

    def __init__(self, plots: Mapping[str, pg.PlotWidget], x_labels: Mapping[str, str],
                 steps: StepCurves, epochs: EpochCurves, smoothing: float, key: OverlayKey,
                 fg: QColor) -> None:
        self._plots = plots
        self._x_labels = x_labels
        self._steps = steps
        self._epochs = epochs
        self._smoothing = smoothing
        self._key = key
        self._fg = fg
        self._state: tuple | None = None  # what the legends list now (see relist)
        self._entries: dict[str, list[tuple[pg.PlotDataItem, str]]] = {
            name: [] for name in plots}

    def names(self, plot: str) -> list[str]:
        """The names listed in one plot's legend (its x-axis label), left to right."""
        return [name for _, name in self._entries[plot]]

    def relist(self, running: bool, overlays: Mapping[str, OverlayCurves],
               group: GroupBands | None) -> None:
        """Each legend lists the run on screen's lines (left out while there is no run on
        screen: nothing plotted and no run `running`); the key names the overlaid runs.
        Rebuilt only when what is listed changes, not on every update."""
        live = bool(len(self._steps) or len(self._epochs) or running)
        val_shown = self._epochs.val_shown()
        named = tuple((key, c.overlay.name) for key, c in overlays.items())
        members = group.member_count() if group is not None else 0
        state = (live, val_shown, named, members)
        if state == self._state:
            return
        self._state = state
        # The overlaid runs are named once, in the key below the plots: legends listing
        # them grew over the curves (gui/overlay_key.py).
        self._key.set_runs([(c.overlay.name, c.overlay.colour) for c in overlays.values()])
        listed: dict[str, list[tuple[pg.PlotDataItem, str]]] = {
            name: [] for name in self._plots}
        if live or not named:
            listed["loss"] += [(self._steps.raw_loss, "per batch"),
                               (self._steps.smooth_loss, f"smoothed ({self._smoothing:g})")]
            for plot in ("epoch_loss", "accuracy"):
                for split, curve in self._epochs.curves[plot].items():
                    if split != "val" or val_shown:
                        listed[plot].append((curve, SPLIT_STYLE[split][0]))
        if members:  # the seed group under way: its mean over the members done, dashed
            for plot, key in (("epoch_loss", "test_loss"), ("accuracy", "test_acc")):
                listed[plot].append((group.mean_curve(key), f"{members}-seed mean"))
        for plot, entries in listed.items():
            # Written into the x-axis label, never over the curves (gui/axis_legend.py).
            self._entries[plot] = entries
            self._plots[plot].getPlotItem().getAxis("bottom").setLabel(
                label_with_legend(self._x_labels[plot], entries), color=self._fg.name(),
                **{"font-size": "10pt"})
