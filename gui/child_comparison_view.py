"""The Runs tab's comparison of a parent run and its child, when exactly those two are ticked.

"Train again without them" makes a child run (gui/train_again.py); ticking it and its parent
shows what leaving the images out changed, on the test images both were tested on
(engine/child_comparison.py): the child's confusion matrix minus the parent's (green where
the child does better: more right answers on the diagonal, fewer mistakes off it; red where
it does worse) and each class's accuracy, the child's minus the parent's, in points. The run
folders' samples.npz are read on a background thread.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from engine.child_comparison import compare_run_folders
from gui.background import JobFailed, LatestJob
from gui.class_charts import (
    DARK_TEXT,
    ClassAccuracyBars,
    ConfusionMatrixView,
    HeatCells,
    elide,
)
from gui.run_lineage import parent_and_child
from gui.runs_table import RunsTableModel

BETTER, WORSE = "#2e7d32", "#c62828"
# Worse (red) through no change (white) to better (green).
CHANGE_COLOURS = (WORSE, "#f4a6a6", "#ffffff", "#a5d6a7", BETTER)


class ConfusionChangeView(ConfusionMatrixView):
    """A confusion matrix of changes: the child's counts minus the parent's."""

    HINT = "Hover over a cell to read how the child's answers differ from the parent's."

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        item = self.plot.getPlotItem()
        item.removeItem(self.cells)
        self.cells = HeatCells(CHANGE_COLOURS)
        self.cells.setZValue(-1)  # under the numbers and the outline
        item.addItem(self.cells)

    def set_counts(self, counts: np.ndarray) -> None:
        """Show a change of counts (row = true class, column = predicted class)."""
        self._counts = counts
        # Better is more on the diagonal (right answers), fewer off it (mistakes).
        better = counts * np.where(np.eye(len(counts), dtype=bool), 1, -1)
        scale = max(int(np.abs(counts).max(initial=0)), 1)
        self.cells.set_shares(0.5 + better / (2 * scale))
        rows, cols = np.nonzero(counts)
        texts = [(c + 0.5, r + 0.5, f"{int(counts[r, c]):+d}", DARK_TEXT)
                 for r, c in zip(rows.tolist(), cols.tolist(), strict=True)]
        self.cell_texts.set_texts(texts, QRectF(0, 0, counts.shape[1], counts.shape[0]))

    def describe(self, true_class: int, predicted: int) -> str:
        change = int(self._counts[true_class, predicted])
        what = "right" if true_class == predicted else (
            f"taken for {self._names[predicted]}")
        more = "more" if change >= 0 else "fewer"
        return (f"True {self._names[true_class]}, predicted {self._names[predicted]}: "
                f"{abs(change):,} {more} images {what} in the child than in the parent.")


class AccuracyChangeBars(ClassAccuracyBars):
    """Each class's accuracy, the child's minus the parent's, in percentage points."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot.getPlotItem().setLabel("bottom", "child − parent accuracy (points)")
        self._span = 10.0

    def _redraw(self) -> None:
        order = self.order()
        count = len(order)
        change = np.nan_to_num(self._accuracy[order] * 100) if count else np.zeros(0)
        self._span = max(5.0, float(np.abs(change).max(initial=0)) * 1.6)
        ys = np.arange(count) + 0.5
        self.bars.setOpts(x0=np.zeros(count), y=ys, width=change, height=0.7,
                          brushes=[pg.mkBrush(BETTER if c >= 0 else WORSE) for c in change])
        item = self.plot.getPlotItem()
        self._left.setTicks([[(y, elide(self._names[c]))
                              for y, c in zip(ys.tolist(), order, strict=True)], []])
        item.getAxis("bottom").setTicks(None)
        fg = self.palette().color(QPalette.ColorRole.Text)
        texts = [(max(c, 0.0), y, "no images" if np.isnan(self._accuracy[k]) else f"{c:+.1f}",
                  fg) for c, y, k in zip(change.tolist(), ys.tolist(), order, strict=True)]
        self.values.set_texts(texts, QRectF(-self._span, 0, 2 * self._span, max(count, 1)),
                              Qt.AlignmentFlag.AlignLeft)
        item.getViewBox().setRange(xRange=(-self._span, self._span),
                                   yRange=(0, max(count, 1)), padding=0)


class ParentChildComparison(QWidget):
    """Hidden unless exactly a parent and its child are ticked in `model`; then their
    difference, read in the background."""

    def __init__(self, model: RunsTableModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._job = LatestJob(self)
        self._job.done.connect(self._on_done)
        self._pair: tuple[str, str] | None = None  # (parent, child) folders shown
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.confusion = ConfusionChangeView()
        self.accuracy = AccuracyChangeBars()
        charts = QHBoxLayout()
        charts.addWidget(self.confusion, 3)
        charts.addWidget(self.accuracy, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addLayout(charts, 1)
        for chart in (self.confusion, self.accuracy):
            chart.hide()
        self.hide()
        model.overlay_toggled.connect(lambda _folder, _ticked: self.refresh())

    def refresh(self) -> None:
        """Follow the ticks: compare a ticked parent and child (again, runs read anew)."""
        ticked = [r for r in self._model.records if r.run_id in self._model.ticked]
        pair = parent_and_child(ticked)
        if pair is None:
            self._pair = None
            self.hide()
            return
        parent, child = pair
        self._pair = (str(parent.folder), str(child.folder))
        self.title.setText(f"Comparing {child.name} with its parent {parent.name}…")
        self.show()
        self._job.submit(self._pair, partial(compare_run_folders, parent.folder, child.folder))

    def records_read(self, records: list) -> None:
        """Runs read again: compare anew when one of the two shown has changed."""
        if self._pair is not None and any(r.run_id in self._pair for r in records):
            self.refresh()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the comparison being read has been (tests)."""
        self._job.wait(timeout)

    def _on_done(self, pair: tuple[str, str], result: object) -> None:
        if pair != self._pair:
            return  # the ticks changed meanwhile
        names = [Path(folder).name for folder in pair]
        if isinstance(result, JobFailed):
            self.title.setText(f"{names[1]} and its parent {names[0]} cannot be compared: "
                               f"{result.error}")
            for chart in (self.confusion, self.accuracy):
                chart.hide()
            return
        class_names = list(result.class_names)
        before, after = result.overall()
        self.title.setText(
            f"<b>{names[1]}</b> (child) − <b>{names[0]}</b> (parent), on the "
            f"{result.images:,} test images both were tested on, at their last epochs "
            f"({result.child_epoch} and {result.parent_epoch}): accuracy "
            f"{before:.2%} → {after:.2%} "
            f"(<span style='color:{BETTER if after >= before else WORSE}'>"
            f"{(after - before) * 100:+.2f} points</span>).")
        for chart in (self.confusion, self.accuracy):
            chart.set_classes(class_names)
            chart.show()
        self.confusion.set_counts(result.confusion_change)
        self.accuracy.set_accuracy(result.accuracy_change)
