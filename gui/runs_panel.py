"""The Runs tab: every run in the runs folder, compared and followed live.

A sortable, filterable table (gui/runs_table.py: name, network, dataset, status, best test
accuracy, epochs, optimizer, learning rate, duration, device, start): a run torchrun trained
on a server shows its processes' devices, "4 x NVIDIA H100". Tick runs to overlay their
curves on the plots, each in its own colour. Rename, note, delete, "use these settings",
open the checkpoint, show the folder, export the metrics of the ticked runs (or all) to one
CSV, refresh. Runs written by another process (the CLI, a server's runs folder on a synced
drive) appear and update live (gui/runs_library.py reads everything off the GUI thread);
what the ticked rows show (overlays, the comparison of two) is gui/ticked_runs.py.

`add_runs_tab(...)` is the one line the main window needs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices
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

from engine.config import TrainConfig
from engine.records import groups, runs
from engine.records.metrics_export import write_metrics_csv
from engine.records.tensorboard_log import tensorboard_installed
from engine.text import plural
from gui.child_comparison_view import ParentChildComparison
from gui.run_controller import RunController
from gui.runs_group_rows import runs_of
from gui.runs_library import RunsLibrary
from gui.runs_table import (
    SORT_ROLE,
    STARTED_COLUMN,
    RunsSortFilter,
    RunsTableModel,
)
from gui.ticked_runs import TickedRuns
from gui.window_places import WindowPlaces

if TYPE_CHECKING:
    from gui.plots_panel import PlotsPanel
    from gui.settings_panel import SettingsPanel


class RunsPanel(QWidget):
    """The table and its actions; `library` reads the runs folder in the background."""

    use_settings_requested = Signal(object)  # TrainConfig
    open_checkpoint_requested = Signal(str)
    notice = Signal(str)  # a sentence for the status bar: what was done, and where

    def __init__(self, runs_dir: str | Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = RunsLibrary(runs_dir, self)
        self.model = RunsTableModel(self)
        self.proxy = RunsSortFilter(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setSortRole(SORT_ROLE)

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
        for column, width in enumerate((200, 160, 175, 130, 140, 60, 80, 95, 75, 110)):
            self.table.setColumnWidth(column, width)
        self.table.doubleClicked.connect(lambda _index: self.open_checkpoint())
        self.table.clicked.connect(self._on_clicked)
        self.model.families_changed.connect(self.proxy.invalidate)
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
            ("refresh", "Refresh", "Read every run in the runs folder again (runs another "
             "program changed are followed on their own; this catches up at once)",
             self.library.rescan),
        ):
            button = QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(lambda _checked=False, s=slot: s())
            (top if key in ("export", "delete", "refresh") else row).addWidget(button)
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
        self.ticked = TickedRuns(self.model, self.library, self)
        layout.addWidget(self.ticked.verdict)
        self.lineage = ParentChildComparison(self.model)  # a ticked parent and child
        layout.addWidget(self.lineage, 2)

        self.library.records_changed.connect(self._on_records)
        self.library.records_removed.connect(self.model.remove)
        self.library.directory_changed.connect(self._on_directory)
        self._on_directory(str(self.library.runs_dir))
        self._update_buttons()

    # -- wiring ----------------------------------------------------------------------------

    def show_overlays_on(self, plots: PlotsPanel) -> None:
        """Draw ticked runs on these plots."""
        self.ticked.show_on(plots)

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
        self.ticked.records_read(records)
        self.lineage.records_read(records)
        self._update_buttons()

    def _on_clicked(self, index) -> None:
        """A click on a group's name unfolds or folds it (not a click that ticked it)."""
        source = self.proxy.mapToSource(index)
        record = self.model.records[source.row()]
        if source.column() != 0 or not isinstance(record, groups.GroupRecord):
            return
        if self.model.ticked_by_click == record.run_id:
            self.model.ticked_by_click = None
            return
        self.model.set_unfolded(record.run_id, record.run_id not in self.model.unfolded)

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
        run = one if isinstance(one, runs.RunRecord) else None  # not a seed group
        self.buttons["use"].setEnabled(one is not None and bool(one.config))
        self.buttons["open"].setEnabled(run is not None and run.checkpoint is not None)
        self.buttons["folder"].setEnabled(one is not None)
        for key in ("rename", "note"):
            self.buttons[key].setEnabled(run is not None)
        self.buttons["export"].setEnabled(any(r.history for r in runs_of(self.model.records)))
        self.buttons["delete"].setEnabled(bool(chosen))

    def use_settings(self) -> bool:
        record = self._one()
        if record is None or not record.config:
            return False
        self.use_settings_requested.emit(TrainConfig.from_dict(record.config))
        return True

    def open_checkpoint(self) -> bool:
        record = self._one()
        if not isinstance(record, runs.RunRecord) or record.checkpoint is None:
            return False
        self.open_checkpoint_requested.emit(str(record.checkpoint))
        return True

    def show_folder(self) -> bool:
        record = self._one()
        return record is not None and QDesktopServices.openUrl(
            QUrl.fromLocalFile(str(record.folder)))

    def rename(self, name: str | None = None) -> bool:
        record = self._one()
        if not isinstance(record, runs.RunRecord):
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
        if not isinstance(record, runs.RunRecord):
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
                (_delete_group if isinstance(record, groups.GroupRecord) else runs.delete_run)(
                    record.folder)
            except (OSError, ValueError) as error:
                failed.append(f"{record.folder}: {error}")
        self.model.remove([r.run_id for r in chosen if not r.folder.exists()])
        if failed:
            QMessageBox.warning(self, "Some runs were not deleted", "\n".join(failed))
        return not failed

    def export_csv(self, path: str | None = None) -> bool:
        """Write the per-epoch metrics of the ticked runs (of every run when none is ticked)
        to one CSV file, asked for unless given; say what was written where."""
        ticked = runs_of([r for r in self.model.records if r.run_id in self.model.ticked])
        every = runs_of(self.model.records)
        which = (f"the {plural(len(ticked), 'ticked run')}" if ticked
                 else f"all {len(every)} runs (none is ticked)")
        chosen = [r for r in (ticked or every) if r.history]
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


def add_runs_tab(window: WindowPlaces, controller: RunController, plots: PlotsPanel,
                 form: SettingsPanel, open_checkpoint: Callable[[str], object]) -> RunsPanel:
    """Compose the Runs tab into the main window: the tab, its File menu entries (the runs
    folder, TensorBoard files), and what it follows (the runs folder, the run on screen)."""
    panel = RunsPanel(controller.runs_dir)
    panel.show_overlays_on(plots)
    panel.use_settings_requested.connect(lambda config: _use_settings(window, controller,
                                                                      form, config))
    panel.open_checkpoint_requested.connect(open_checkpoint)
    panel.notice.connect(lambda text: window.notify(text, 10_000))
    controller.runs_dir_changed.connect(panel.library.set_runs_dir)
    controller.run.run_started.connect(lambda start: panel.set_live_run(start.run_dir))
    controller.run.run_ended.connect(lambda _end: panel.set_live_run(None))

    # A tab beside Training: the table gets the room 500 runs need, and the window still
    # fits a 1024x600 screen (a dock below the plots did not).
    window.add_tab("Runs", panel)
    choose = QAction("Runs &folder…", panel)
    choose.triggered.connect(lambda: _choose_runs_dir(panel, controller))
    tensorboard = QAction("Write &TensorBoard event files", panel)
    tensorboard.setCheckable(True)
    tensorboard.setEnabled(tensorboard_installed())
    tensorboard.setChecked(controller.tensorboard)
    tensorboard.setToolTip("Each run writes TensorBoard event files into its folder"
                           if tensorboard_installed() else
                           'Needs the tensorboard package: pip install "traindesk[tensorboard]"')
    tensorboard.toggled.connect(controller.set_tensorboard)
    window.menu("File").addActions([choose, tensorboard])
    panel.library.follow_window(panel.window())
    return panel


def _delete_group(folder: Path) -> None:
    """Remove a seed group's folder, its members with it (the caller has asked)."""
    import shutil

    if not groups.is_group_folder(folder):
        raise ValueError(f"{folder} does not look like a seed group; it was left as it is.")
    shutil.rmtree(folder)


def _use_settings(window: WindowPlaces, controller: RunController, form: SettingsPanel,
                  config: TrainConfig) -> None:
    if controller.session is not None:
        window.notify("A run is going: stop it before changing the settings.")
        return
    form.set_config(config)
    window.notify("The settings form holds that run's settings.")


def _choose_runs_dir(panel: RunsPanel, controller: RunController) -> None:
    path = QFileDialog.getExistingDirectory(panel, "Runs folder", str(controller.runs_dir))
    if path:
        controller.set_runs_dir(path)
