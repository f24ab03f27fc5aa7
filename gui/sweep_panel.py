"""The Sweep tab: define a search space, run a sweep, and watch its trials.

Left, the space (gui/sweep_space_form.py) with Start, Pause and Stop; right, the trials
table (gui/sweep_table.py) over the charts (gui/sweep_charts.py). A sweep runs as one job
through the run controller (`RunController.start_job` with engine's `SweepJob`): its
trials one after another on the training thread, each shown on the Training tab as an
ordinary run; Train is off meanwhile, as during any run. The sweep on show is followed
through its folder (gui/sweep_follower.py), whoever runs it: this window, the command line,
or other machines writing to a shared folder ("Open sweep folder…"). Ticking a trial
overlays its curves on the Training tab's plots (gui/plot_overlays.py), as the Runs tab does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QAction, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from engine.config import TrainConfig
from gui.plots_panel import PlotsPanel
from gui.run_controller import RunController, RunState
from gui.sweep_axes import Axis, parallel_data, setting_label, value_text
from gui.sweep_charts import ImportanceBars, ParallelCoordinates, SettingScatter
from gui.sweep_follower import SweepFollower, SweepView, trial_run_folder
from gui.sweep_space_form import SpaceForm
from gui.sweep_table import SORT_ROLE, TrialsTableModel
from gui.ticked_runs import run_overlay
from gui.window_places import WindowPlaces

IDLE_TEXT = ("No sweep on show. Tick the settings to search on the left and press Start, "
             "or open the folder of a sweep the command line runs "
             "(python main.py sweep ... --sweep-dir DIR).")

CHARTS_MIN_HEIGHT = 220  # pixels: the parallel coordinates' titles, axes and ticks


def new_sweep_dir(runs_dir: Path) -> Path:
    """A fresh folder for a sweep this window starts: <runs>/sweep-<date>-<time>."""
    stem = "sweep-" + time.strftime("%Y%m%d-%H%M%S")
    folder, n = runs_dir / stem, 2
    while folder.exists():
        folder, n = runs_dir / f"{stem}-{n}", n + 1
    return folder


class SweepPanel(QWidget):
    """The Sweep tab's widget; `notice(text)` for the status bar."""

    notice = Signal(str)

    def __init__(self, controller: RunController, base: Callable[[], TrainConfig]) -> None:
        super().__init__()
        self.controller = controller
        self._base = base  # the settings form's settings: what the trials start from
        self.running_here = False  # this window runs the sweep on show
        self._planned = 0  # its trials
        self._due_folder: Path | None = None  # the sweep started here, until it has begun
        self._plots: PlotsPanel | None = None
        self._overlaid: dict[int, str] = {}  # trial number -> overlay key on the plots
        self.follower = SweepFollower(self)
        self.follower.set_active(False)  # until the tab shows
        self.form = SpaceForm()
        self.model = TrialsTableModel(self)
        self.parallel = ParallelCoordinates()
        self.scatter = SettingScatter()
        self.importance = ImportanceBars()
        self.status = QLabel(IDLE_TEXT)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons: dict[str, QPushButton] = {}
        self._build()
        self.follower.changed.connect(self.show_view)
        self.follower.failed.connect(lambda text: self.status.setText(
            f"The sweep folder cannot be read: {text}"))
        self.model.overlay_toggled.connect(self._on_ticked)
        controller.state_changed.connect(self._update_buttons)
        # A job's own events (TrialStart), picked out of the run's by the run model.
        controller.run.job_event.connect(self._on_job_event)
        controller.engine_changed.connect(self._update_buttons)
        controller.run_finished.connect(self._on_finished)
        controller.run.run_started.connect(self._on_run_started)
        self.form.changed.connect(self._update_buttons)
        self._update_buttons()

    # -- layout ----------------------------------------------------------------------------

    def _build(self) -> None:
        for key, text, tip, slot in (
                ("start", "Start sweep", "Run the trials one after another, each as a run",
                 self.start),
                ("pause", "Pause", "Hold the trial under way between batches", self.pause),
                ("stop", "Stop", "Stop the trial under way and the sweep", self.stop),
                ("open", "Open sweep folder…", "Show and follow a sweep another process "
                 "runs (the command line, another machine through a shared folder)",
                 self.choose_folder)):
            button = self.buttons[key] = QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(lambda _checked=False, s=slot: s())
        space = QGroupBox("Search space")
        inner = QVBoxLayout(space)
        scroll = QScrollArea()  # the form scrolls; the buttons below it stay in sight
        scroll.setWidget(self.form)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setMinimumWidth(self.form.sizeHint().width() + 20)
        inner.addWidget(scroll, 1)
        controls = QHBoxLayout()
        for key in ("start", "pause", "stop"):
            controls.addWidget(self.buttons[key])
        inner.addLayout(controls)
        inner.addWidget(self.buttons["open"])

        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        # Fitted when rows come or go, not at each live update (fitting measures every cell).
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.model.modelReset.connect(self.table.resizeColumnsToContents)
        self.table.setToolTip("Tick a trial to overlay its curves on the Training tab's plots")
        trials = QWidget()
        trials_layout = QVBoxLayout(trials)
        trials_layout.setContentsMargins(0, 0, 0, 0)
        trials_layout.addWidget(self.status)
        trials_layout.addWidget(self.table, 1)

        # Above, the space and the trials; below, the charts across the whole width (they
        # need it more than the height).
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(space)
        top.addWidget(trials)
        top.setStretchFactor(0, 0)
        top.setStretchFactor(1, 1)
        charts = QSplitter(Qt.Orientation.Horizontal)
        for widget in (self.parallel, self.scatter, self.importance):
            charts.addWidget(widget)
        charts.setStretchFactor(0, 2)
        charts.setStretchFactor(1, 1)
        charts.setStretchFactor(2, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(charts)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        split.setSizes([1000, 1000])  # halves, whatever the long form would ask for
        charts.setMinimumHeight(CHARTS_MIN_HEIGHT)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(split)

    @property
    def folder(self) -> Path | None:
        """The sweep on show (or starting here)."""
        return self._due_folder or self.follower.folder

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        # Ranges offered around the settings form's values as they are now.
        if not self.running_here:
            self.form.set_base(self._base())
        self.follower.set_active(True)
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 - Qt's name
        self.follower.set_active(False)  # no reading for a tab nobody sees
        super().hideEvent(event)

    # -- running a sweep -------------------------------------------------------------------

    def start(self) -> bool:
        """Start a sweep over the form's space from the settings form's settings; False
        (and the reason in the status line) where it cannot start."""
        base = self._base()
        problems = self.form.problems() + list(base.problems().values())
        if problems:
            self.status.setText("Cannot start the sweep: " + " ".join(problems))
            return False
        from engine.experiments.search_space import SearchDim
        from engine.experiments.sweep import SweepJob, SweepPlan

        folder = new_sweep_dir(self.controller.runs_dir)
        plan = SweepPlan(base=base, space=tuple(SearchDim.from_dict(d) for d in self.form.space()),
                         sweep_dir=folder, **self.form.sweep_options())
        job = SweepJob(plan, tensorboard=self.controller.tensorboard)
        if not self.controller.start_job(job, base, folder):
            self.status.setText("Cannot start the sweep while a run is going.")
            return False
        self.running_here, self._planned = True, plan.trials
        # Followed once its first trial has started: by then the job has made its storage
        # (a reader opening it while it is being made could get in the way).
        self._due_folder = folder
        self.follower.follow(None)
        self.model.show_view(None)
        self.status.setText(f"Sweep starting in {folder}…")
        self._update_buttons()
        return True

    def pause(self) -> None:
        """Pause the sweep's trial under way, or go on where it is paused."""
        if self.controller.state is RunState.PAUSED:
            self.controller.resume()
        else:
            self.controller.pause(self._base())

    def stop(self) -> None:
        self.controller.stop()

    def _on_job_event(self, event: object) -> None:
        """Say in the status bar which trial the Training tab shows now."""
        from engine.events import TrialStart

        if isinstance(event, TrialStart):
            settings = ", ".join(f"{setting_label(k).lower()} {value_text(v)}"
                                 for k, v in event.params.items())
            self.notice.emit(f"Sweep: trial {event.index} of {event.trials} "
                             f"(number {event.number}): {settings}")

    def _on_run_started(self, _start: object) -> None:
        if self._due_folder is not None:
            folder, self._due_folder = self._due_folder, None
            self.follow(folder)

    def _on_finished(self, _end: object) -> None:
        if self._due_folder is not None:  # ended before its first trial began
            self._on_run_started(None)
        if self.running_here:
            self.running_here = False
            self.follower.poll()
        self._update_buttons()

    def _update_buttons(self, *_args: object) -> None:
        state = self.controller.state
        idle = state is RunState.IDLE and self.controller.engine_ready
        ours = self.running_here
        self.buttons["start"].setEnabled(idle and not self.form.problems())
        self.buttons["start"].setToolTip(
            "Run the trials one after another, each as a run" if idle else
            "A run is going: Start waits for it to end" if self.controller.engine_ready else
            "Waiting for PyTorch to load")
        self.buttons["pause"].setEnabled(ours and state in (RunState.LOADING, RunState.RUNNING,
                                                             RunState.PAUSED))
        self.buttons["pause"].setText("Resume" if ours and state is RunState.PAUSED
                                      else "Pause")
        self.buttons["stop"].setEnabled(ours and state is not RunState.STOPPING
                                        and self.controller.session is not None)
        self.form.set_editable(not ours)

    # -- following a sweep folder ----------------------------------------------------------

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open sweep folder",
                                                  str(self.controller.runs_dir))
        if folder:
            self.follow(folder)

    def follow(self, folder: str | Path) -> None:
        """Show the sweep in folder and follow it live."""
        for number in list(self.model.ticked):
            self.model.set_ticked(number, False)
        self.follower.follow(folder)
        self.status.setText(f"Reading the sweep in {folder}…")

    def show_view(self, view: SweepView) -> None:
        """Show the sweep as just read: table, charts and the line above them."""
        self.model.show_view(view)
        self.status.setText(self._summary(view))
        axes = tuple(Axis.from_dim(d) for d in view.space)
        trials = view.trials
        ticked = dict(self.model.ticked)
        self.parallel.set_data(parallel_data(view.space, trials), ticked)
        self.scatter.set_trials(axes, trials, ticked)
        values = {t.value for t in trials if t.state == "complete"}
        self.importance.show_importances(view.importances, len(
            [t for t in trials if t.state == "complete"]), alike=len(values) == 1)
        self._update_overlays(view)

    def _summary(self, view: SweepView) -> str:
        if view.waiting:
            return f"Sweep in {view.folder}: waiting for its first trial to start…"
        if view.error is not None:
            return f"The sweep in {view.folder} cannot be read yet: {view.error}"
        record = view.record
        trials = view.trials
        # A sweep's size is each worker's own; this window knows its own sweep's.
        planned = self._planned if self.running_here else 0
        count = (f"{len(trials)} of {planned} trials" if planned >= len(trials)
                 else f"{len(trials)} trials")
        running = [t.number for t in trials if t.state == "running"]
        name = "" if record.study == view.folder.name else f" {record.study}"
        parts = [f"Sweep{name} in {view.folder}: {count}"]
        if running:
            parts.append("running trial " + ", ".join(str(n) for n in running))
        if record.best is not None and record.best.value is not None:
            parts.append(f"best {100 * record.best.value:.2f}% (trial {record.best.number})")
        return "; ".join(parts) + "."

    # -- overlays --------------------------------------------------------------------------

    def show_overlays_on(self, plots: PlotsPanel) -> None:
        self._plots = plots

    def _on_ticked(self, number: int, ticked: bool) -> None:
        self.follower.set_ticked(set(self.model.ticked))
        view = self.follower.view
        if ticked and view is not None:
            self._update_overlays(view)
            self.parallel.set_data(parallel_data(view.space, view.trials), self.model.ticked)
        elif not ticked and number in self._overlaid and self._plots is not None:
            self._plots.remove_overlay(self._overlaid.pop(number))

    def _update_overlays(self, view: SweepView) -> None:
        if self._plots is None:
            return
        for number, colour in self.model.ticked.items():
            run = view.runs.get(number)
            if run is None:
                continue  # read on the next poll, now that it is ticked
            key = str(trial_run_folder(run.folder))
            self._overlaid[number] = key
            self._plots.set_overlay(key, run_overlay(run, f"Trial {number}", colour))


def add_sweep_tab(window: WindowPlaces, controller: RunController, plots: PlotsPanel,
                  base: Callable[[], TrainConfig]) -> SweepPanel:
    """Compose the Sweep tab into the main window: the tab, File > Open sweep folder…,
    and the trials' overlays on the plots. base: the settings form's settings now."""
    panel = SweepPanel(controller, base)
    panel.show_overlays_on(plots)
    panel.notice.connect(lambda text: window.notify(text, 10_000))
    window.add_tab("Sweep", panel)
    action = QAction("Open s&weep folder…", panel)
    action.triggered.connect(panel.choose_folder)
    window.menu("File").addAction(action)
    return panel
