"""The Sweep tab's trials table: one row per trial, newest last, updated as the sweep goes.

Columns: the trial's number (its check box overlays its curves on the plots, in the colour
its swatch shows), its status, its best accuracy (the best so far, in italics, for a trial
under way), its duration, then one column per searched setting.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPixmap

from engine.durations import rough_duration
from gui.plot_overlays import free_colour
from gui.sweep_axes import Axis, accuracy_percent, value_text
from gui.sweep_follower import SweepView, best_so_far

STATE_TITLES = {"running": "Running", "complete": "Complete", "pruned": "Pruned",
                "fail": "Failed", "failed": "Failed", "stopped": "Stopped",
                "waiting": "Waiting"}
FIXED_COLUMNS = ("Trial", "Status", "Best acc. (%)", "Duration")
SORT_ROLE = Qt.ItemDataRole.UserRole + 1


class TrialsTableModel(QAbstractTableModel):
    """The trials of the sweep on show; `overlay_toggled(number, ticked)` from the ticks."""

    overlay_toggled = Signal(int, bool)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.trials: list[Any] = []  # TrialRecord
        self.axes: tuple[Axis, ...] = ()
        self.runs: dict[int, Any] = {}  # number -> RunRecord of the trials under way
        self.ticked: dict[int, str] = {}  # number -> overlay colour
        self.best_number: int | None = None

    # -- what is shown ---------------------------------------------------------------------

    def show_view(self, view: SweepView | None) -> None:
        """Show the sweep as last read (None: no sweep)."""
        axes = tuple(Axis.from_dim(d) for d in view.space) if view is not None else ()
        trials = sorted(view.trials, key=lambda t: t.number) if view is not None else []
        best = getattr(view.record, "best", None) if view is not None else None
        numbers = {t.number for t in trials}
        if axes != self.axes or [t.number for t in trials] != [t.number for t in self.trials]:
            self.beginResetModel()
            self.axes, self.trials = axes, trials
            self.endResetModel()
        else:
            self.trials = trials
            if trials:
                self.dataChanged.emit(self.index(0, 0),
                                      self.index(len(trials) - 1, self.columnCount() - 1))
        self.runs = dict(view.runs) if view is not None else {}
        self.best_number = best.number if best is not None else None
        for number in [n for n in self.ticked if n not in numbers]:
            self.set_ticked(number, False)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(FIXED_COLUMNS) + len(self.axes)

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.trials)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        if section < len(FIXED_COLUMNS):
            return FIXED_COLUMNS[section]
        return self.axes[section - len(FIXED_COLUMNS)].label

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        trial, column = self.trials[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(trial, column)
        if role == SORT_ROLE:
            return self._sort_key(trial, column)
        if role == Qt.ItemDataRole.CheckStateRole and column == 0:
            ticked = trial.number in self.ticked
            return Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.DecorationRole and column == 0 and trial.number in self.ticked:
            swatch = QPixmap(10, 10)
            swatch.fill(QColor(self.ticked[trial.number]))
            return swatch
        if role == Qt.ItemDataRole.FontRole and column == 2:
            font = QFont()
            font.setBold(trial.number == self.best_number)
            font.setItalic(trial.value is None)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (0, 2, 3):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and column == 2:
            return self._accuracy_tip(trial)
        if role == Qt.ItemDataRole.ToolTipRole and column == 1:
            return getattr(trial, "message", "") or None  # how its run ended
        return None

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        flags = super().flags(index)
        if index.column() == 0:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags

    def setData(self, index: QModelIndex, value: Any,  # noqa: N802 - Qt's name
                role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.CheckStateRole or index.column() != 0:
            return False
        ticked = Qt.CheckState(value) == Qt.CheckState.Checked
        self.set_ticked(self.trials[index.row()].number, ticked)
        return True

    # -- ticks -----------------------------------------------------------------------------

    def set_ticked(self, number: int, ticked: bool) -> None:
        """Tick (overlay) or untick a trial; each ticked one keeps a colour of its own."""
        if ticked == (number in self.ticked):
            return
        if ticked:
            self.ticked[number] = free_colour(set(self.ticked.values()))
        else:
            del self.ticked[number]
        row = next((i for i, t in enumerate(self.trials) if t.number == number), None)
        if row is not None:
            self.dataChanged.emit(self.index(row, 0), self.index(row, 0))
        self.overlay_toggled.emit(number, ticked)

    # -- cells -----------------------------------------------------------------------------

    def accuracy(self, trial: Any) -> float | None:
        """The trial's value in percent, or for one under way its best so far; None."""
        if trial.value is not None:
            return accuracy_percent(trial.value)
        so_far = best_so_far(self.runs.get(trial.number))
        return None if so_far is None else 100.0 * so_far

    def _text(self, trial: Any, column: int) -> str:
        if column == 0:
            return f"{trial.number}"
        if column == 1:
            return STATE_TITLES.get(trial.state, str(trial.state).capitalize())
        if column == 2:
            accuracy = self.accuracy(trial)
            return "" if accuracy is None else f"{accuracy:.2f}"
        if column == 3:
            return rough_duration(trial.seconds) if trial.seconds else ""
        axis = self.axes[column - len(FIXED_COLUMNS)]
        return value_text(trial.params.get(axis.name))

    def _sort_key(self, trial: Any, column: int) -> Any:
        if column == 0:
            return trial.number
        if column == 2:
            accuracy = self.accuracy(trial)
            return -1.0 if accuracy is None else accuracy
        if column == 3:
            return trial.seconds or 0.0
        if column >= len(FIXED_COLUMNS):
            value = trial.params.get(self.axes[column - len(FIXED_COLUMNS)].name)
            return value if isinstance(value, (int, float)) else str(value)
        return self._text(trial, column)

    def _accuracy_tip(self, trial: Any) -> str:
        if trial.number == self.best_number:
            return "The best trial so far"
        if trial.value is None and trial.state == "running":
            return "Best so far of the epochs this trial has finished"
        return ""
