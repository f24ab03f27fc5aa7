"""The Runs tab: every run in the runs folder, compared and followed live.

A sortable, filterable table (name, network, dataset, status, best test accuracy, epochs,
optimizer, learning rate, duration, device, start): a run torchrun trained on a server
shows its processes' devices, "4 x NVIDIA H100". Tick runs to overlay their curves on the
plots, each in its own colour. Rename, note, delete, "use these settings", open the
checkpoint, show the folder, export the metrics of the ticked runs (or all) to one CSV.
Runs written by another process (the CLI, a server's runs folder on a synced drive) appear
and update live (gui/runs_library.py reads everything off the GUI thread).

`add_runs_tab(window)` is the one line the main window needs.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QSettings,
    QSortFilterProxyModel,
    Qt,
    QUrl,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QDesktopServices, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from engine.catalog import OPTIMIZER_TITLES, arch_title, dataset_title
from engine.config import DEFAULT_RUNS_DIR, TrainConfig
from engine.durations import rough_duration
from engine.events import SettingsChanged
from engine.records import runs
from engine.records.metrics_export import write_metrics_csv
from engine.records.tensorboard_log import tensorboard_installed
from engine.text import plural
from gui.plot_overlays import OVERLAY_COLOURS, Overlay
from gui.runs_library import RunsLibrary

if TYPE_CHECKING:
    from gui.main_window import MainWindow

RUNS_DIR_KEY = "runs/dir"
TENSORBOARD_KEY = "runs/tensorboard"
STATUS_TITLES = {"running": "Running", "finished": "Finished", "stopped": "Stopped",
                 "diverged": "Diverged", "failed": "Failed", "learned_nothing": "Learned nothing",
                 "interrupted": "Interrupted"}
COLUMNS = ("Name", "Network", "Dataset", "Status", "Best test acc.", "Epochs", "Optimizer",
           "Learning rate", "Duration", "Device", "Started")
STARTED_COLUMN = COLUMNS.index("Started")
NUMBER_COLUMNS = tuple(COLUMNS.index(n) for n in ("Best test acc.", "Epochs", "Learning rate",
                                                   "Duration"))
SORT_ROLE = Qt.ItemDataRole.UserRole + 1


def _started_text(record: runs.RunRecord) -> str:
    if record.started is None:
        return ""
    return datetime.datetime.fromtimestamp(record.started).strftime("%Y-%m-%d %H:%M")


class RunsTableModel(QAbstractTableModel):
    """One row per run; the first column's check box overlays the run on the plots."""

    overlay_toggled = Signal(str, bool)  # folder, ticked

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.records: list[runs.RunRecord] = []
        self._rows: dict[str, int] = {}
        self.ticked: set[str] = set()
        self.colours: dict[str, str] = {}  # colours of ticked runs
        self.live_folder: str | None = None  # the run on screen in this window

    # -- data ----------------------------------------------------------------------------

    def upsert(self, records: list[runs.RunRecord]) -> None:
        for record in records:
            row = self._rows.get(record.run_id)
            if row is None:
                self.beginInsertRows(QModelIndex(), len(self.records), len(self.records))
                self._rows[record.run_id] = len(self.records)
                self.records.append(record)
                self.endInsertRows()
            else:
                old = self.records[row]
                if not record.batches and old.batches and record.history == old.history:
                    record.batches = old.batches
                self.records[row] = record
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

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
        self.records, self._rows = [], {}
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
        free = [c for c in OVERLAY_COLOURS if c not in taken]
        return free[0] if free else OVERLAY_COLOURS[len(taken) % len(OVERLAY_COLOURS)]

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
            self.set_ticked(self.records[index.row()].run_id, checked)
            return True
        return False

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        record = self.records[index.row()]
        column = index.column()
        live = record.run_id == self.live_folder
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(record, column, live)
        if role == SORT_ROLE:
            return self._sort_key(record, column)
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
            return _started_text(record)
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
    def _sort_key(record: runs.RunRecord, column: int):
        keys = (record.name.lower(), arch_title(record.arch), dataset_title(record.dataset),
                record.status, record.best_test_acc if record.best_test_acc is not None else -1,
                record.epochs_done, str(record.config.get("optimizer", "")),
                _number(record.config.get("lr")), record.duration or 0.0,
                (record.world_size, record.device), record.started or 0.0)
        return keys[column]

    @staticmethod
    def _tooltip(record: runs.RunRecord, live: bool) -> str:
        lines = [str(record.folder)]
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


class _SortFilter(QSortFilterProxyModel):
    def lessThan(self, left, right) -> bool:  # noqa: N802 - Qt's name
        return left.data(SORT_ROLE) < right.data(SORT_ROLE)


class RunsPanel(QWidget):
    """The table and its actions; `library` reads the runs folder in the background."""

    use_settings_requested = Signal(object)  # TrainConfig
    open_checkpoint_requested = Signal(str)
    notice = Signal(str)  # a sentence for the status bar: what was done, and where

    def __init__(self, runs_dir: str | Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = RunsLibrary(runs_dir, self)
        self.model = RunsTableModel(self)
        self.proxy = _SortFilter(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setSortRole(SORT_ROLE)
        self._plots = None

        self.filter_box = QLineEdit()
        self.filter_box.setClearButtonEnabled(True)
        self.filter_box.textChanged.connect(self.proxy.setFilterFixedString)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(STARTED_COLUMN, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        row_height = self.fontMetrics().height() + 8
        self.table.verticalHeader().setDefaultSectionSize(row_height)
        self.table.setMinimumHeight(3 * row_height)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in enumerate((200, 160, 175, 130, 95, 60, 80, 95, 75, 110)):
            self.table.setColumnWidth(column, width)
        self.table.doubleClicked.connect(lambda _index: self.open_checkpoint())
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)

        self.buttons: dict[str, QPushButton] = {}
        # Two rows, so that the tab fits beside the settings on a 1024-pixel-wide screen:
        # the filter and what acts on many runs above, what acts on one run below.
        top, row = QHBoxLayout(), QHBoxLayout()
        top.addWidget(self.filter_box, 1)
        for key, text, tip, slot in (
            ("use", "Use settings", "Fill the settings form with this run's settings",
             self.use_settings),
            ("open", "Open checkpoint", "Open this run's model (for Draw, Save, Continue)",
             self.open_checkpoint),
            ("folder", "Show folder", "Open this run's folder in the file manager",
             self.show_folder),
            ("rename", "Rename…", "Give this run a name of your own", self.rename),
            ("note", "Note…", "Write a note about this run", self.edit_note),
            ("export", "Export CSV…", "The per-epoch metrics of the ticked runs (of every run "
             "when none is ticked), in one CSV file", self.export_csv),
            ("delete", "Delete…", "Delete the selected runs' folders", self.delete_selected),
        ):
            button = QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(lambda _checked=False, s=slot: s())
            (top if key in ("export", "delete") else row).addWidget(button)
            self.buttons[key] = button
        row.addStretch(1)
        for buttons in (top, row):
            buttons.setSpacing(4)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addLayout(row)
        layout.addWidget(self.table, 1)

        self.library.records_changed.connect(self._on_records)
        self.library.records_removed.connect(self.model.remove)
        self.library.directory_changed.connect(self._on_directory)
        self.model.overlay_toggled.connect(self._on_overlay_toggled)
        self._on_directory(str(self.library.runs_dir))
        self._update_buttons()

    # -- wiring ----------------------------------------------------------------------------

    def show_overlays_on(self, plots) -> None:
        """Draw ticked runs on these plots (a gui.plots_panel.PlotsPanel)."""
        self._plots = plots

    def set_live_run(self, folder: str | Path | None) -> None:
        """The run this window trains now (shown in the plots already; not overlaid)."""
        previous = self.model.live_folder
        self.model.set_live(None if folder is None else str(folder))
        if previous is not None:
            self.library.reread(previous)

    # -- the library -----------------------------------------------------------------------

    def _on_directory(self, path: str) -> None:
        self.model.clear()
        self.filter_box.setPlaceholderText(f"Filter the runs in {path}")
        self.filter_box.setToolTip(f"Runs folder: {path} (File > Runs folder… changes it). "
                                   "Type to show only the runs whose name, network, dataset "
                                   "or status contain the text.")

    def _on_records(self, records: list) -> None:
        self.model.upsert(records)
        if self._plots is not None:
            for record in records:
                if record.run_id in self.model.ticked:
                    self._plots.set_overlay(record.run_id, self._overlay(record))
        self._update_buttons()

    def _on_overlay_toggled(self, folder: str, ticked: bool) -> None:
        self.library.set_overlaid(set(self.model.ticked))
        if self._plots is None:
            return
        record = self.model.record(folder)
        if ticked and record is not None:
            self._plots.set_overlay(folder, self._overlay(record))  # batches follow
        elif not ticked:
            self._plots.remove_overlay(folder)

    def _overlay(self, record: runs.RunRecord) -> Overlay:
        batches = record.batches or {}
        return Overlay(name=record.name, colour=self.model.colours[record.run_id],
                       steps=np.asarray(batches.get("step", []), dtype=np.float64),
                       losses=np.asarray(batches.get("loss", []), dtype=np.float64),
                       lrs=np.asarray(batches.get("lr", []), dtype=np.float64),
                       history=tuple(record.history),
                       changes=_readable_changes(record.changes))

    # -- actions ---------------------------------------------------------------------------

    def selected(self) -> list[runs.RunRecord]:
        rows = {self.proxy.mapToSource(i).row() for i in self.table.selectionModel().selectedRows()}
        return [self.model.records[r] for r in sorted(rows)]

    def select(self, folder: str | Path) -> None:
        row = self.model.row_of(str(folder))
        if row is not None:
            index = self.proxy.mapFromSource(self.model.index(row, 0))
            self.table.selectRow(index.row())

    def tick(self, folder: str | Path, ticked: bool = True) -> None:
        self.model.set_ticked(str(folder), ticked)

    def _one(self) -> runs.RunRecord | None:
        chosen = self.selected()
        return chosen[0] if len(chosen) == 1 else None

    def _update_buttons(self, *_args) -> None:
        chosen = self.selected()
        one = chosen[0] if len(chosen) == 1 else None
        self.buttons["use"].setEnabled(one is not None and bool(one.config))
        self.buttons["open"].setEnabled(one is not None and one.checkpoint is not None)
        for key in ("folder", "rename", "note"):
            self.buttons[key].setEnabled(one is not None)
        self.buttons["export"].setEnabled(any(r.history for r in self.model.records))
        self.buttons["delete"].setEnabled(bool(chosen))

    def use_settings(self) -> bool:
        record = self._one()
        if record is None or not record.config:
            return False
        self.use_settings_requested.emit(TrainConfig.from_dict(record.config))
        return True

    def open_checkpoint(self) -> bool:
        record = self._one()
        if record is None or record.checkpoint is None:
            return False
        self.open_checkpoint_requested.emit(str(record.checkpoint))
        return True

    def show_folder(self) -> bool:
        record = self._one()
        return record is not None and QDesktopServices.openUrl(
            QUrl.fromLocalFile(str(record.folder)))

    def rename(self, name: str | None = None) -> bool:
        record = self._one()
        if record is None:
            return False
        if name is None:
            name, ok = QInputDialog.getText(self, "Rename run", "Name:", text=record.name)
            if not ok:
                return False
        if not name.strip():
            return False
        return self._write_meta(record, name=name)

    def edit_note(self, note: str | None = None) -> bool:
        record = self._one()
        if record is None:
            return False
        if note is None:
            note, ok = QInputDialog.getMultiLineText(self, "Note", f"Note on {record.name}:",
                                                     record.note)
            if not ok:
                return False
        return self._write_meta(record, note=note)

    def _write_meta(self, record: runs.RunRecord, **meta: str) -> bool:
        try:
            runs.write_meta(record.folder, **meta)
        except OSError as error:
            QMessageBox.warning(self, "Cannot change the run",
                                f"{record.folder} cannot be written ({error.strerror or error}); "
                                "the run is as it was.")
            return False
        self.library.reread(record.run_id)
        return True

    def delete_selected(self) -> bool:
        chosen = self.selected()
        if not chosen:
            return False
        busy = [r for r in chosen if r.status == "running"]
        if busy:
            QMessageBox.information(self, "Run still going",
                                    f"{busy[0].name} is still running: stop it first, then "
                                    "delete it.")
            return False
        names = ", ".join(r.name for r in chosen[:3]) + ("…" if len(chosen) > 3 else "")
        answer = QMessageBox.question(
            self, "Delete runs",
            f"Delete {len(chosen)} run folder{'s' if len(chosen) > 1 else ''} ({names}) with "
            "their checkpoints and records? This cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel)
        if answer != QMessageBox.StandardButton.Yes:
            return False
        failed = []
        for record in chosen:
            try:
                runs.delete_run(record.folder)
            except (OSError, ValueError) as error:
                failed.append(f"{record.folder}: {error}")
        self.model.remove([r.run_id for r in chosen if not r.folder.exists()])
        if failed:
            QMessageBox.warning(self, "Some runs were not deleted", "\n".join(failed))
        return not failed

    def export_csv(self, path: str | None = None) -> bool:
        """Write the per-epoch metrics of the ticked runs (of every run when none is ticked)
        to one CSV file, asked for unless given; say what was written where."""
        ticked = [r for r in self.model.records if r.run_id in self.model.ticked]
        which = (f"the {plural(len(ticked), 'ticked run')}" if ticked
                 else f"all {len(self.model.records)} runs (none is ticked)")
        chosen = [r for r in (ticked or self.model.records) if r.history]
        if not chosen:
            self.notice.emit(f"Nothing to export: no finished epoch in {which}.")
            return False
        if path is None:
            suggested = str(self.library.runs_dir / "metrics.csv")
            path, _ = QFileDialog.getSaveFileName(self, f"Export the metrics of {which}",
                                                  suggested, "CSV (*.csv)")
            if not path:
                return False
        try:
            rows = write_metrics_csv(path, chosen)
        except OSError as error:
            QMessageBox.warning(self, "Cannot export metrics",
                                f"{path} cannot be written ({error.strerror or error}).")
            return False
        self.notice.emit(f"Exported the metrics of {plural(len(chosen), 'run')} ({rows} epoch "
                         f"rows) to {path}.")
        return True


def add_runs_tab(window: MainWindow) -> RunsPanel:
    """Compose the Runs tab into the main window: the tab, its File and View menu entries, and
    what it needs from the window (plots, settings form, checkpoint opening, run on screen)."""
    settings: QSettings = window.app_settings
    panel = RunsPanel(window.runs_dir, window)
    panel.show_overlays_on(window.plots)
    panel.use_settings_requested.connect(lambda config: _use_settings(window, config))
    panel.open_checkpoint_requested.connect(window.files.open_checkpoint)
    panel.notice.connect(lambda text: window.statusBar().showMessage(text, 10_000))
    window.run.run_started.connect(
        lambda _start: panel.set_live_run(window.session.trainer.run_dir
                                          if window.session is not None else None))
    window.run.run_ended.connect(lambda _end: panel.set_live_run(None))

    # A tab beside Training: the table gets the room 500 runs need, and the window still
    # fits a 1024x600 screen (a dock below the plots did not).
    window.tabs.addTab(panel, "Runs")
    panel.tab_action = QAction("Runs tab", window)
    panel.tab_action.setShortcut(QKeySequence(f"Ctrl+{window.tabs.indexOf(panel) + 1}"))
    panel.tab_action.triggered.connect(lambda: window.tabs.setCurrentWidget(panel))
    window.addAction(panel.tab_action)  # works with the menu bar hidden, listed in Help

    file_menu = window.menuBar().actions()[0].menu()
    first = file_menu.actions()[-2] if len(file_menu.actions()) >= 2 else None  # above Quit
    choose = QAction("Runs &folder…", window)
    choose.triggered.connect(lambda: _choose_runs_dir(window, panel, settings))
    tensorboard = QAction("Write &TensorBoard event files", window)
    tensorboard.setCheckable(True)
    tensorboard.setEnabled(tensorboard_installed())
    tensorboard.setChecked(tensorboard_installed() and str(
        settings.value(TENSORBOARD_KEY, "true")).lower() == "true")
    tensorboard.setToolTip("Each run writes TensorBoard event files into its folder"
                           if tensorboard_installed() else
                           'Needs the tensorboard package: pip install "traindesk[tensorboard]"')
    tensorboard.toggled.connect(lambda on: settings.setValue(TENSORBOARD_KEY, bool(on)))
    panel.tensorboard_action = tensorboard
    for act in (choose, tensorboard):
        file_menu.insertAction(first, act)
    window.menuBar().actions()[2].menu().addAction(panel.tab_action)  # View
    panel.library.follow_window(window)
    return panel


def saved_runs_dir(settings: QSettings) -> Path:
    return Path(str(settings.value(RUNS_DIR_KEY, DEFAULT_RUNS_DIR))).expanduser()


def _use_settings(window: MainWindow, config: TrainConfig) -> None:
    if window.session is not None:
        window.statusBar().showMessage("A run is going: stop it before changing the settings.",
                                       5000)
        return
    window.settings_panel.set_config(config)
    window.statusBar().showMessage("The settings form holds that run's settings.", 5000)


def _choose_runs_dir(window: MainWindow, panel: RunsPanel, settings: QSettings) -> None:
    path = QFileDialog.getExistingDirectory(window, "Runs folder", str(panel.library.runs_dir))
    if path:
        set_runs_dir(window, panel, settings, path)


def set_runs_dir(window: MainWindow, panel: RunsPanel, settings: QSettings,
                 path: str | Path) -> None:
    """New runs go to path, and the Runs tab lists it (remembered for the next start)."""
    settings.setValue(RUNS_DIR_KEY, str(path))
    window.runs_dir = Path(path)
    panel.library.set_runs_dir(path)


def _number(value: object) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return -1.0


def _setting_text(record: runs.RunRecord, name: str, shown: Callable[[Any], str]) -> str:
    """A setting as the run started with it, "→ the last value" where it was changed mid-run
    (e.g. "0.003 → 0.0003"); "" where the record lacks it."""
    first = record.config.get(name)
    if first is None:
        return ""
    last = first
    for change in _readable_changes(record.changes):
        if name in change.changes:
            last = change.changes[name][1]
    try:
        return shown(first) if last == first else f"{shown(first)} → {shown(last)}"
    except (TypeError, ValueError):  # a hand-edited record: show it as it is
        return str(first)


def _readable_changes(records: list[dict]) -> tuple[SettingsChanged, ...]:
    """A run's mid-run changes; a line that does not read as one (damaged) is left out."""
    found = []
    for record in records:
        with contextlib.suppress(KeyError, TypeError, ValueError, AttributeError):
            found.append(SettingsChanged.from_record(record))
    return tuple(found)
