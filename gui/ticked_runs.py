"""What ticking rows in the Runs tab shows: each ticked run's curves on the plots (a seed
group as its mean with a band over its members), and, for exactly two ticked rows, a line
that says whether they differ by more than the seed-to-seed noise."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel

from engine.records import groups, runs
from gui.group_band import mean_history
from gui.plot_overlays import Overlay
from gui.runs_group_rows import comparison_sentence
from gui.runs_library import RunsLibrary
from gui.runs_table import RunsTableModel, readable_changes

if TYPE_CHECKING:
    from gui.plots_panel import PlotsPanel


class TickedRuns(QObject):
    """Follows the table's ticks: overlays on the plots (once `show_on` names them) and the
    comparison line `verdict`, a label for the Runs tab to place."""

    def __init__(self, model: RunsTableModel, library: RunsLibrary,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model, self._library = model, library
        self._plots: PlotsPanel | None = None
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        self.verdict.hide()
        model.overlay_toggled.connect(self._on_toggled)

    def show_on(self, plots: PlotsPanel) -> None:
        """Draw ticked runs on these plots."""
        self._plots = plots

    def records_read(self, records: list) -> None:
        """Runs read again (after the table took them): redraw and recompare the ticked ones."""
        if any(r.run_id in self._model.ticked for r in records):
            self._show_verdict()
        if self._plots is not None:
            for record in records:
                if record.run_id in self._model.ticked:
                    self._plots.set_overlay(record.run_id, self._overlay(record))

    def verdict_text(self) -> str:
        """Whether the two ticked rows differ by more than the seed-to-seed noise
        (`comparison_sentence`); "" unless exactly two rows are ticked."""
        ticked = [r for r in self._model.records if r.run_id in self._model.ticked]
        if len(ticked) != 2:
            return ""
        return comparison_sentence(*ticked)

    def _show_verdict(self) -> None:
        text = self.verdict_text()
        self.verdict.setText(f"Best test accuracy: {text}" if text else "")
        self.verdict.setVisible(bool(text))

    def _on_toggled(self, folder: str, ticked: bool) -> None:
        self._library.set_overlaid(set(self._model.ticked))
        self._show_verdict()
        if self._plots is None:
            return
        record = self._model.record(folder)
        if ticked and record is not None:
            self._plots.set_overlay(folder, self._overlay(record))  # batches follow
        elif not ticked:
            self._plots.remove_overlay(folder)

    def _overlay(self, record: runs.RunRecord | groups.GroupRecord) -> Overlay:
        colour = self._model.colours[record.run_id]
        if isinstance(record, groups.GroupRecord):  # its mean, with a band over its members
            members = tuple(tuple(m.history) for m in record.members)
            return Overlay(name=f"mean of {len(members)}: {record.name}",
                           colour=colour, history=mean_history(members), members=members)
        return run_overlay(record, record.name, colour)


def run_overlay(run: runs.RunRecord, name: str, colour: str) -> Overlay:
    """A run's curves as the plots overlay them: its batches, epochs and changed settings."""
    batches = run.batches or {}
    return Overlay(name=name, colour=colour,
                   steps=np.asarray(batches.get("step", []), dtype=np.float64),
                   losses=np.asarray(batches.get("loss", []), dtype=np.float64),
                   lrs=np.asarray(batches.get("lr", []), dtype=np.float64),
                   history=tuple(run.history), changes=readable_changes(run.changes))
