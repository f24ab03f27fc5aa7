"""The Runs tab's table: one row per run in the runs folder, its columns' text and sort keys.

The first column's check box ticks a run to overlay its curves on the plots
(gui/ticked_runs.py draws them); the run this window trains is marked "on screen" and cannot
be ticked (its curves are the live ones). A seed group is one row (gui/runs_group_rows.py)
that unfolds to its members' rows: the rows stay one flat list, and the sort and filter
(`RunsSortFilter`) keep each member right under its group, shown while the group is
unfolded.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QColor, QPixmap

from engine.catalog import OPTIMIZER_TITLES, arch_title, dataset_title
from engine.durations import rough_duration
from engine.events import SettingsChanged
from engine.records import groups, runs
from gui.plot_overlays import free_colour
from gui.run_lineage import left_out_count, lineage_text
from gui.runs_group_rows import (
    GROUP_STATUS_TITLES,
    MEMBER_INDENT,
    group_sort_key,
    group_text,
    group_tooltip,
    sort_number,
    started_text,
)

STATUS_TITLES = {"running": "Running", "finished": "Finished", "stopped": "Stopped",
                 "diverged": "Diverged", "failed": "Failed", "learned_nothing": "Learned nothing",
                 "interrupted": "Interrupted"}
COLUMNS = ("Name", "Network", "Dataset", "Status", "Best test acc.", "Epochs", "Optimizer",
           "Learning rate", "Duration", "Device", "Started")
STARTED_COLUMN = COLUMNS.index("Started")
NUMBER_COLUMNS = tuple(COLUMNS.index(n) for n in ("Best test acc.", "Epochs", "Learning rate",
                                                   "Duration"))
SORT_ROLE = Qt.ItemDataRole.UserRole + 1


class RunsTableModel(QAbstractTableModel):
    """One row per run; the first column's check box overlays the run on the plots."""

    overlay_toggled = Signal(str, bool)  # folder, ticked
    # A group was unfolded or folded, or arrived (its members move under it): re-sort and
    # re-filter.
    families_changed = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.records: list[runs.RunRecord | groups.GroupRecord] = []
        self.unfolded: set[str] = set()  # the groups whose members are shown
        self.ticked_by_click: str | None = None  # the row a click's check box just ticked
        self._rows: dict[str, int] = {}
        self._named_parents: set[str] = set()  # the parents of the child runs listed
        self.ticked: set[str] = set()
        self.colours: dict[str, str] = {}  # colours of ticked runs
        self.live_folder: str | None = None  # the run on screen in this window

    # -- data ----------------------------------------------------------------------------

    def upsert(self, records: list[runs.RunRecord | groups.GroupRecord]) -> None:
        moved = False  # rows that belong under others arrived
        for record in records:
            row = self._rows.get(record.run_id)
            if row is None:
                self.beginInsertRows(QModelIndex(), len(self.records), len(self.records))
                self._rows[record.run_id] = len(self.records)
                self.records.append(record)
                self.endInsertRows()
                # A group, a child or a child's parent: rows move under others.
                parent = (str(record.config.get("parent") or "")
                          if isinstance(record, runs.RunRecord) else "")
                moved = moved or isinstance(record, groups.GroupRecord) or bool(
                    parent) or record.run_id in self._named_parents
                if parent:
                    self._named_parents.add(parent)
            else:
                old = self.records[row]
                if isinstance(old, runs.RunRecord) and isinstance(record, runs.RunRecord) and (
                        not record.batches and old.batches and record.history == old.history):
                    record.batches = old.batches
                self.records[row] = record
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
        if moved:
            self.families_changed.emit()

    # -- seed groups -----------------------------------------------------------------------

    def group_of(self, record: runs.RunRecord | groups.GroupRecord) -> str | None:
        """The folder of the group listed here that the run is a member of, else None."""
        if isinstance(record, groups.GroupRecord):
            return None
        parent = str(record.folder.parent)
        row = self._rows.get(parent)
        return parent if row is not None and isinstance(self.records[row],
                                                        groups.GroupRecord) else None

    def family(self, record: runs.RunRecord | groups.GroupRecord) -> str:
        """The top row a row belongs under: its group's folder for a member, its eldest
        listed ancestor's for a child run ("Train again without them"), else its own."""
        for _generation in range(len(self.records)):  # a loop of parents ends somewhere
            parent = self.parent_of(record)
            if parent is None:
                break
            record = self.records[self._rows[parent]]
        return self.group_of(record) or record.run_id

    def parent_of(self, record: runs.RunRecord | groups.GroupRecord) -> str | None:
        """The folder of the listed run that this run is a child of, else None."""
        if isinstance(record, groups.GroupRecord):
            return None
        parent = str(record.config.get("parent") or "")
        return parent if parent in self._rows and parent != record.run_id else None

    def _child_text(self, record: runs.RunRecord, name: str) -> str:
        """A child's name, indented under its parent where that is listed."""
        if self.parent_of(record) is None:
            return f"{name} ({lineage_text(record.config)})"
        return f"{MEMBER_INDENT}↳ {name} ({left_out_count(record.config):,} left out)"

    def members_of(self, folder: str) -> list[int]:
        """The rows of the group's members listed here."""
        return [row for row, record in enumerate(self.records)
                if self.group_of(record) == folder]

    def set_unfolded(self, folder: str, unfolded: bool) -> None:
        row = self._rows.get(folder)
        if row is None or not isinstance(self.records[row], groups.GroupRecord) or (
                unfolded == (folder in self.unfolded)):
            return
        (self.unfolded.add if unfolded else self.unfolded.discard)(folder)
        self.dataChanged.emit(self.index(row, 0), self.index(row, 0))  # its arrow
        self.families_changed.emit()

    def remove(self, folders: list[str]) -> None:
        for folder in folders:
            row = self._rows.get(folder)
            if row is None:
                continue
            self.beginRemoveRows(QModelIndex(), row, row)
            del self.records[row]
            self.endRemoveRows()
            self._rows = {r.run_id: i for i, r in enumerate(self.records)}
            if folder in self.ticked:
                self.ticked.discard(folder)
                self.overlay_toggled.emit(folder, False)

    def clear(self) -> None:
        for folder in list(self.ticked):
            self.ticked.discard(folder)
            self.overlay_toggled.emit(folder, False)
        self.beginResetModel()
        self.records, self._rows, self._named_parents = [], {}, set()
        self.endResetModel()

    def row_of(self, folder: str) -> int | None:
        return self._rows.get(folder)

    def record(self, folder: str) -> runs.RunRecord | None:
        row = self._rows.get(folder)
        return None if row is None else self.records[row]

    def set_live(self, folder: str | None) -> None:
        self.live_folder = folder
        if folder in self.ticked:
            self.set_ticked(folder, False)
        if self.records:  # its row's text, font and check box change
            self.dataChanged.emit(self.index(0, 0),
                                  self.index(len(self.records) - 1, len(COLUMNS) - 1))

    def set_ticked(self, folder: str, ticked: bool) -> None:
        row = self._rows.get(folder)
        if row is None or ticked == (folder in self.ticked):
            return
        if ticked:
            self.ticked.add(folder)
            self.colours[folder] = self._colour_for(folder)
        else:
            self.ticked.discard(folder)
        self.dataChanged.emit(self.index(row, 0), self.index(row, 0))
        self.overlay_toggled.emit(folder, ticked)

    def _colour_for(self, folder: str) -> str:
        """The run's colour while ticked: the one it had before if free, else the first
        free one, so the first runs compared get the most distinct colours."""
        taken = {self.colours[f] for f in self.ticked if f != folder and f in self.colours}
        before = self.colours.get(folder)
        if before is not None and before not in taken:
            return before
        return free_colour(taken)

    # -- Qt model ------------------------------------------------------------------------

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802, B008 - Qt's names
        return 0 if parent.isValid() else len(self.records)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def flags(self, index):
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == 0 and self.records[index.row()].run_id != self.live_folder:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if role == Qt.ItemDataRole.CheckStateRole and index.column() == 0:
            checked = Qt.CheckState(value) == Qt.CheckState.Checked
            # The view's click on the check box comes next: it must not also fold a group.
            self.ticked_by_click = self.records[index.row()].run_id
            self.set_ticked(self.ticked_by_click, checked)
            return True
        return False

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        record = self.records[index.row()]
        column = index.column()
        live = record.run_id == self.live_folder
        group = isinstance(record, groups.GroupRecord)
        if role == Qt.ItemDataRole.DisplayRole:
            if group:
                return group_text(record, COLUMNS[column], self._status_title(record.status),
                                  record.run_id in self.unfolded)
            text = self._text(record, column, live)
            if column == 0 and lineage_text(record.config):
                return self._child_text(record, text)
            return MEMBER_INDENT + text if column == 0 and self.group_of(record) else text
        if role == SORT_ROLE:
            return group_sort_key(record, column) if group else self._sort_key(record, column)
        if role == Qt.ItemDataRole.ToolTipRole and group:
            return group_tooltip(record)
        if role == Qt.ItemDataRole.CheckStateRole and column == 0 and not live:
            ticked = record.run_id in self.ticked
            return Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.DecorationRole and column == 0 and (
                record.run_id in self.ticked):
            swatch = QPixmap(12, 12)
            swatch.fill(QColor(self.colours[record.run_id]))
            return swatch
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(record, live)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in NUMBER_COLUMNS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole and live:
            font = self.parent().font() if self.parent() is not None else None
            if font is not None:
                font.setBold(True)
            return font
        return None

    @staticmethod
    def _text(record: runs.RunRecord, column: int, live: bool) -> str:
        name = COLUMNS[column]
        if name == "Optimizer":
            return _setting_text(record, "optimizer", lambda v: OPTIMIZER_TITLES.get(v, v))
        if name == "Learning rate":
            return _setting_text(record, "lr", lambda v: f"{v:g}")
        if name == "Duration":
            return "" if record.duration is None else rough_duration(record.duration)
        if name == "Device":
            return record.device
        if name == "Started":
            return started_text(record.started)
        if column == 0:
            return record.name
        if column == 1:
            return arch_title(record.arch)
        if column == 2:
            return dataset_title(record.dataset)
        if column == 3:
            status = STATUS_TITLES.get(record.status, record.status)
            if record.status == "running" and record.epochs_planned:
                status += f" ({record.epochs_done}/{record.epochs_planned})"
            return status + (" · on screen" if live else "")
        if column == 4:
            acc = record.best_test_acc
            return "" if acc is None else f"{acc:.2%}"
        return str(record.epochs_done)

    @staticmethod
    def _status_title(status: str) -> str:
        return STATUS_TITLES.get(status) or GROUP_STATUS_TITLES.get(status, status)

    @staticmethod
    def _sort_key(record: runs.RunRecord, column: int):
        keys = (record.name.lower(), arch_title(record.arch), dataset_title(record.dataset),
                record.status, record.best_test_acc if record.best_test_acc is not None else -1,
                record.epochs_done, str(record.config.get("optimizer", "")),
                sort_number(record.config.get("lr")), record.duration or 0.0,
                (record.world_size, record.device), record.started or 0.0)
        return keys[column]

    @staticmethod
    def _tooltip(record: runs.RunRecord, live: bool) -> str:
        lines = [str(record.folder)]
        if lineage_text(record.config):
            lines.append(f"A child of {record.config['parent']}: trained again with its "
                         "settings and seed, leaving out "
                         f"{len(record.config.get('leave_out') or ()):,} training and "
                         f"{len(record.config.get('leave_out_test') or ()):,} test images. "
                         "Tick both to compare them.")
        if live:
            lines.append("The run on screen: its curves are the ones on top.")
        if record.message:
            lines.append(record.message)
        if record.world_size > 1:
            lines.append(f"Trained by {record.world_size} processes together (torchrun) on "
                         f"{record.device}.")
        if record.best_epoch is not None:
            by = "validation" if record.best_by == "val_acc" else "test"
            lines.append(f"Best epoch by {by} accuracy: {record.best_epoch}")
        if record.note:
            lines.append(f"Note: {record.note}")
        if record.damaged_lines:
            lines.append(f"{record.damaged_lines} damaged line(s) in its record were skipped.")
        return "\n".join(lines)


class RunsSortFilter(QSortFilterProxyModel):
    """Sorts by the column's sort key, each group's members right under it (in seed order,
    whichever way the column sorts); shows a group's members while it is unfolded, and a
    group whose member matches the filter."""

    def lessThan(self, left, right) -> bool:  # noqa: N802 - Qt's name
        model: RunsTableModel = self.sourceModel()
        a, b = model.records[left.row()], model.records[right.row()]
        family_a, family_b = model.family(a), model.family(b)
        if family_a != family_b:
            def top_key(family: str):
                return model.index(model.row_of(family), left.column()).data(SORT_ROLE)

            return (top_key(family_a), family_a) < (top_key(family_b), family_b)
        # One family: the group first, then its members by folder (seed-<seed>).
        first = (a.run_id != family_a, str(a.folder)) < (b.run_id != family_b, str(b.folder))
        return first if self.sortOrder() == Qt.SortOrder.AscendingOrder else not first

    def filterAcceptsRow(self, row: int, parent) -> bool:  # noqa: N802 - Qt's name
        model: RunsTableModel = self.sourceModel()
        record = model.records[row]
        matches = super().filterAcceptsRow(row, parent)
        if isinstance(record, groups.GroupRecord):
            return matches or any(super(RunsSortFilter, self).filterAcceptsRow(member, parent)
                                  for member in model.members_of(record.run_id))
        group = model.group_of(record)
        if group is None:
            return matches
        return group in model.unfolded and (
            matches or super().filterAcceptsRow(model.row_of(group), parent))


def _setting_text(record: runs.RunRecord, name: str, shown: Callable[[Any], str]) -> str:
    """A setting as the run started with it, "→ the last value" where it was changed mid-run
    (e.g. "0.003 → 0.0003"); "" where the record lacks it."""
    first = record.config.get(name)
    if first is None:
        return ""
    last = first
    for change in readable_changes(record.changes):
        if name in change.changes:
            last = change.changes[name][1]
    try:
        return shown(first) if last == first else f"{shown(first)} → {shown(last)}"
    except (TypeError, ValueError):  # a hand-edited record: show it as it is
        return str(first)


def readable_changes(records: list[dict]) -> tuple[SettingsChanged, ...]:
    """A run's mid-run changes; a line that does not read as one (damaged) is left out."""
    found = []
    for record in records:
        with contextlib.suppress(KeyError, TypeError, ValueError, AttributeError):
            found.append(SettingsChanged.from_record(record))
    return tuple(found)
