"""The TrainDesk main window: composes the panels and owns the training run's lifecycle.

The window is built and shown without PyTorch: right after its first paint, PyTorch and
the engine load on a background thread (gui/engine_loader.py) while the status bar says so
and the settings form is usable. The parts that need PyTorch wait for it: the Model and Draw
tabs show a stand-in, opening a checkpoint is off, and a click on Train is held and the run
starts as soon as PyTorch has loaded (Stop cancels it meanwhile).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QSettings, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QTabWidget, QVBoxLayout, QWidget

from engine.catalog import DATASET_INFO, arch_title, dataset_title
from engine.config import TrainConfig
from engine.durations import estimate_sentence
from engine.events import EpochEnd, RunEnd, RunEstimate, RunStart
from engine.records.run_folder import run_dir_for
from engine.training.changes import changeable_fields, requested_changes
from gui.checkpoint_files import CheckpointFiles
from gui.data_panel import DataPanel
from gui.engine_loader import EngineLoader
from gui.errors import reported_errors
from gui.field_guard import guard_fields
from gui.help_dialogs import add_help_menu
from gui.log_panel import LogPanel
from gui.lr_finder_dialog import add_lr_finder
from gui.model_export import ExportModelAction
from gui.pending_panel import PendingPanel
from gui.plots_panel import PlotsPanel
from gui.progress_panel import ProgressPanel
from gui.results_panel import ResultsPanel
from gui.run_banner import RunBanner, is_long
from gui.run_model import RunModel, more_epochs
from gui.runs_panel import add_runs_tab, saved_runs_dir
from gui.scrolling import FillOrScroll
from gui.settings_dock import SettingsDock
from gui.settings_panel import SettingsPanel
from gui.stop_question import STOP_AFTER_EPOCH, STOP_NOW, confirm_stop, stop_consequence
from gui.window_actions import window_action
from gui.window_geometry import restore_window_state, save_window_state

if TYPE_CHECKING:  # these import PyTorch: the window imports them once it has loaded
    from engine.records.checkpoint import Checkpoint
    from engine.training.trainer import Trainer
    from gui.draw_panel import DrawPanel
    from gui.summary_panel import SummaryPanel
    from gui.worker import TrainingSession

PAUSED_STATUS = "Paused: change the unlocked settings if you like, then Resume"


class MainWindow(QMainWindow):
    """Settings on the left, live training / model / draw tabs in the centre, log below."""

    def __init__(self, settings: QSettings | None = None,
                 runs_dir: str | Path | None = None) -> None:
        """runs_dir: where runs are written and listed (None: the one chosen in File > Runs
        folder, else the default)."""
        super().__init__()
        self.setWindowTitle("TrainDesk")
        self._settings = settings if settings is not None else QSettings()
        self.runs_dir = Path(runs_dir) if runs_dir is not None else saved_runs_dir(self._settings)
        self.session: TrainingSession | None = None
        self.run = RunModel(parent=self)  # the run on screen; panels follow it
        self._paused = False
        self._config_at_pause: TrainConfig | None = None  # the form when the run paused
        self._run_status = ""  # what the status bar says while the run goes (not paused)
        self._stopping = False  # a stop was asked for and the run has not ended yet
        self._close_after_run = False  # the window was closed mid-run: close once it ends
        self._stop_after_epoch: int | None = None  # stop once this epoch has ended
        self._engine_ready = False  # PyTorch and the engine are imported
        self._engine_error: str | None = None  # why they could not be
        self._start_waiting = False  # Train was clicked before PyTorch had loaded
        self._waiting_resume_from: str | None = None
        self._painted = False

        self.settings_panel = SettingsPanel()
        self.plots = PlotsPanel()
        self.progress = ProgressPanel()
        self.log = LogPanel()
        # The Model and Draw panels need PyTorch: stand-ins hold their tabs until it loads.
        self.summary: SummaryPanel | None = None
        self.draw: DrawPanel | None = None
        self._model_tab = PendingPanel("The layers of the chosen network appear here once "
                                       "PyTorch has loaded (a few seconds).")
        self._draw_tab = PendingPanel("The drawing canvas opens here once PyTorch has loaded "
                                      "(a few seconds).")
        self._inside_tab = PendingPanel("What the network sees appears here once PyTorch has "
                                        "loaded (a few seconds).")
        self.engine_loader = EngineLoader(self)
        self.engine_loader.loaded.connect(self._on_engine_loaded)
        self.engine_loader.failed.connect(self._on_engine_failed)

        self._build_actions()
        self._build_layout()
        self._build_menus()
        self.runs_panel = add_runs_tab(self)
        self.lr_finder = add_lr_finder(self)
        for panel in (self.plots, self.progress, self.log):
            panel.follow(self.run)
        self.run.checkpoint_opened.connect(lambda ckpt, _path: self._show_opened(ckpt))
        self.run.run_started.connect(self._on_run_started)
        self.run.estimate_made.connect(self._on_estimate)
        self.run.epoch_ended.connect(self._on_epoch_ended)
        self._status("Loading PyTorch…")

        self.settings_panel.restore_settings(self._settings)
        self.settings_panel.validity_changed.connect(self._update_actions)
        self.settings_panel.config_changed.connect(self._on_config_changed)
        restore_window_state(self, self._settings)
        guard_fields(self)
        self._update_actions()
        if EngineLoader.already_loaded():  # e.g. imported by the caller: nothing to wait for
            self._on_engine_loaded()

    # -- loading PyTorch behind the window ---------------------------------------------

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and not self._painted:
            # The window is on screen: now load PyTorch, without delaying that first paint.
            self._painted = True
            if not self._engine_ready:
                QTimer.singleShot(0, self.engine_loader.start)
        return super().event(event)

    def engine_ready(self) -> bool:
        return self._engine_ready

    @property
    def app_settings(self) -> QSettings:
        return self._settings

    @property
    def checkpoint(self) -> Checkpoint | None:
        """The model kept from the last run or the opened checkpoint (for Save, Continue)."""
        return self.run.checkpoint

    @property
    def history(self) -> list[dict]:
        """The per-epoch records of the run on screen."""
        return self.run.history

    @Slot()
    def _on_engine_loaded(self) -> None:
        if self._engine_ready:
            return
        from engine.data import on_disk
        from engine.runtime.devices import available_devices, resolve_device
        from gui.draw_panel import DrawPanel
        from gui.inside_panel import InsidePanel
        from gui.summary_panel import SummaryPanel
        from gui.worker import leave_the_cores_to_training

        leave_the_cores_to_training()
        self._engine_ready = True
        self.settings_panel.set_devices(available_devices(), str(resolve_device("auto")))
        self.settings_panel.set_on_disk_check(on_disk)
        self.summary = SummaryPanel()
        self.summary.follow(self.run)
        self._model_tab.set_panel(self.summary)
        self.draw = DrawPanel()
        self._draw_tab.set_panel(self.draw)
        self.draw.news.connect(self.log.append_text)
        self.run.checkpoint_opened.connect(self.draw.add_opened_model)
        self.draw.load_bundled_model()
        self._inside_tab.set_panel(InsidePanel(self.draw, self.run))
        guard_fields(self)  # the fields of the panels just made
        self._on_config_changed(self.settings_panel.config())
        self._status("Ready")
        if self._start_waiting:
            self._start_waiting = False
            self.settings_panel.set_running(False)
            self.start_training(self._waiting_resume_from)
        self._update_actions()

    @Slot(str)
    def _on_engine_failed(self, error: str) -> None:
        self._engine_error = (f"PyTorch could not be loaded ({error}). Reinstall it "
                              "(pip install --force-reinstall torch) and start TrainDesk again.")
        self._status(self._engine_error)
        self.log.append_text(self._engine_error, "error")
        for tab in (self._model_tab, self._draw_tab, self._inside_tab):
            tab.show_message(self._engine_error)
        if self._start_waiting:
            self._start_waiting = False
            self.settings_panel.set_running(False)
        self._update_actions()

    # -- construction ------------------------------------------------------------------

    def _build_actions(self) -> None:
        self.train_action = window_action(self, "&Train", "Ctrl+Return", self.start_training)
        self.resume_action = window_action(self, "Continue from &checkpoint", "Ctrl+Shift+Return",
                                           self.resume_training)
        self.pause_action = window_action(self, "&Pause", "Space", self.toggle_pause)
        self.stop_action = window_action(self, "&Stop", "Esc", self.ask_to_stop)
        self.files = CheckpointFiles(self, self.run, self.log, lambda: self.runs_dir)
        self.files.checkpoint_saved.connect(self._update_actions)
        self.export_model_action = ExportModelAction(self, self.run, lambda: self.runs_dir)
        self.quit_action = window_action(self, "&Quit", "Ctrl+Q", self.close)

    def _build_layout(self) -> None:
        self.settings_dock = SettingsDock(self.settings_panel, self.train_action,
                                          self.pause_action, self.stop_action, self)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.settings_dock)
        self.log_dock = QDockWidget("Log", self)
        self.log_dock.setObjectName("log_dock")
        self.log_dock.setWidget(self.log)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.log_dock)

        training = QWidget()
        training_layout = QVBoxLayout(training)
        training_layout.setContentsMargins(4, 4, 4, 4)
        training_layout.setSpacing(4)
        self.banner = RunBanner()
        self.banner.continue_requested.connect(self.toggle_pause)
        self.banner.stop_requested.connect(self.stop_training)
        self.banner.use_sample_requested.connect(self.use_bundled_sample)
        training_layout.addWidget(self.banner)
        training_layout.addWidget(self.progress)
        training_layout.addWidget(self.plots, 1)

        self.tabs = QTabWidget()
        # Scrolls, not squashes, where a tall banner and the plots need more height than a
        # small screen has (1024x600).
        self.tabs.addTab(FillOrScroll(training), "Training")
        self.tabs.addTab(self._model_tab, "Model")
        self.tabs.addTab(self._draw_tab, "Draw")
        self.results = ResultsPanel.following(self.run, self.settings_panel.config)
        self.tabs.addTab(self.results, "Results")
        self.tabs.addTab(DataPanel(self.run, self.settings_panel), "Data")
        self.tabs.addTab(self._inside_tab, "Inside")
        self.setCentralWidget(self.tabs)
        # Hidden while a temporary message ("Saved ...") shows, back once it times out.
        self._status_label = QLabel()
        self.statusBar().addWidget(self._status_label, 1)
        self.resizeDocks([self.log_dock], [110], Qt.Orientation.Vertical)

    def _build_menus(self) -> None:
        menus = self.menuBar()
        file_menu = menus.addMenu("&File")
        for act in (self.files.open_action, self.files.save_action, self.files.export_action,
                    self.export_model_action):
            file_menu.addAction(act)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        run_menu = menus.addMenu("&Run")
        for act in (self.train_action, self.resume_action, self.pause_action, self.stop_action):
            run_menu.addAction(act)
        view_menu = menus.addMenu("&View")
        view_menu.addAction(self.settings_dock.toggleViewAction())
        view_menu.addAction(self.log_dock.toggleViewAction())
        view_menu.addSeparator()
        for index in range(self.tabs.count()):
            tab_action = QAction(f"{self.tabs.tabText(index)} tab", self)
            tab_action.setShortcut(QKeySequence(f"Ctrl+{index + 1}"))
            tab_action.triggered.connect(lambda _=False, i=index: self.tabs.setCurrentIndex(i))
            self.addAction(tab_action)  # works with the menu bar hidden, listed in Help
            view_menu.addAction(tab_action)
        add_help_menu(self)

    # -- run lifecycle -----------------------------------------------------------------

    def start_training(self, resume_from: str | None = None) -> bool:
        """Start a run with the current settings; False (and why, on screen) if refused."""
        if self.session is not None or self._start_waiting or self._engine_error:
            return False
        config = self.settings_panel.config()
        problems = self.settings_panel.problems()
        if problems:
            self.banner.show_refusal(f"Cannot train: {next(iter(problems.values()))}")
            return False
        if not self._engine_ready:
            # Held, not refused: the run starts the moment PyTorch has loaded.
            self._start_waiting, self._waiting_resume_from = True, resume_from
            self.settings_panel.set_running(True)
            self._status("Loading PyTorch… training starts as soon as it has loaded.")
            self.log.append_text("Training starts as soon as PyTorch has loaded (Stop "
                                 "cancels).")
            self._update_actions()
            return True
        from gui.worker import TrainingSession

        if resume_from is not None:  # Epochs says how many more: the trainer wants the total
            config = more_epochs(config, self.checkpoint.epoch)
            if config.problems().get("epochs"):
                self.banner.show_refusal(f"Cannot continue: {config.problems()['epochs']}")
                return False
        self.settings_panel.save_settings(self._settings)
        run_dir = run_dir_for(self.runs_dir, config.arch, config.dataset, resume_from)
        self.session = TrainingSession(
            config, run_dir=run_dir, resume_from=resume_from, parent=self,
            tensorboard=self.runs_panel.tensorboard_action.isChecked())
        self.session.events.connect(self.run.feed)
        self.session.finished.connect(self._on_finished)
        self._paused = self._stopping = False
        self._stop_after_epoch = None
        self.run.begin(continuing=resume_from is not None)  # the panels show it loading
        self.banner.hide()
        self.log.append_text(
            f"Starting {arch_title(config.arch)} on {dataset_title(config.dataset)}…")
        self._run_status = f"Loading {dataset_title(config.dataset)}…"
        self._status(self._run_status)
        self.settings_panel.set_running(True)
        self.tabs.setCurrentIndex(0)
        self.session.start()
        self._update_actions()
        return True

    @Slot()
    def use_bundled_sample(self) -> None:
        """Switch the dataset to the bundled MNIST sample (no download) and train on it."""
        if self.session is not None:
            return
        self.settings_panel.set_config(self.settings_panel.config().replace(
            dataset="mnist-sample"))
        self.start_training()

    @Slot()
    def resume_training(self) -> None:
        if self.run.checkpoint_path is None:
            self.statusBar().showMessage("Open or train a checkpoint first.", 5000)
            return
        self.start_training(resume_from=self.run.checkpoint_path)

    @Slot()
    def toggle_pause(self) -> None:
        if self.session is None or self._stopping:
            return
        if not self._paused:
            self._paused = True
            self.session.pause()
            # While paused, the settings a run can take mid-way unlock (engine/training/changes.py).
            self._config_at_pause = self.settings_panel.config()
            self.settings_panel.set_running(True, changeable_fields(self._config_at_pause))
            self.progress.set_state("paused")
            self._status(PAUSED_STATUS)
        else:
            changes = requested_changes(self._config_at_pause, self.settings_panel.config())
            problems = self.settings_panel.problems()
            refused = next((problems[name] for name in changes if name in problems), None)
            if refused is not None:
                self.banner.show_refusal(f"Cannot resume with this change: {refused}")
                return
            self._paused = False
            self.settings_panel.set_running(True)
            self.session.resume(changes)
            self.banner.dismiss_question()
            if self.banner.kind() == "failed":  # a refused resume, now answered
                self.banner.hide()
            self.progress.set_state("training")
            self._status(self._run_status)
        self._update_actions()

    @Slot()
    def ask_to_stop(self) -> None:
        """Stop, Esc, Run > Stop: stop the run once the person has said so (see
        gui/stop_question.py); a start still waiting for PyTorch is cancelled at once."""
        if self.session is None or self._stopping or self._confirm_stop() == STOP_NOW:
            self.stop_training()

    def _confirm_stop(self, closing: bool = False) -> str:
        """The person's answer; to stop after the epoch under way, the stop waits for it."""
        trainer = self.session.trainer
        done = len(self.run.history)
        under_way = done + 1 if self.run.start is not None and not self._paused else None
        consequence = stop_consequence(self.run.start, done, trainer.run_dir,
                                       trainer.resume_from)
        answer = confirm_stop(self, self._settings, consequence, closing, under_way)
        if answer == STOP_AFTER_EPOCH and self.session is not None:
            self._stop_after_epoch = under_way
            self._close_after_run = self._close_after_run or closing
            self._status(f"Stopping once epoch {under_way} has ended"
                         + (", then closing…" if closing else "…"))
        return answer

    @Slot(object)
    def _on_epoch_ended(self, epoch: EpochEnd) -> None:
        if self._stop_after_epoch is not None and epoch.epoch >= self._stop_after_epoch:
            self.stop_training()  # its checkpoint is written before the next batch

    @Slot()
    def stop_training(self) -> None:
        """Stop now, without asking (the caller has)."""
        if self._start_waiting:  # cancel a start that was waiting for PyTorch
            self._start_waiting = False
            self.settings_panel.set_running(False)
            self._status("Loading PyTorch…")
            self.statusBar().showMessage("Training cancelled before it started.", 5000)
            self.log.append_text("Training cancelled before it started.")
            self._update_actions()
        elif self.session is not None:
            self.session.stop()
            self._stopping = True
            self.banner.dismiss_question()
            self._status("Stopping…")
            self._update_actions()

    @Slot(object)
    def _on_run_started(self, start: RunStart) -> None:
        if self._paused:  # paused while the data loaded: the progress panel says so too
            self.progress.set_state("paused")
        self._run_status = f"Training on {start.device}"
        self._status(PAUSED_STATUS if self._paused else self._run_status)

    @Slot(object)
    def _on_estimate(self, estimate: RunEstimate) -> None:
        """Log the estimate; a long run waits, paused, until the person chooses to go on."""
        self.log.append_text(estimate_sentence(estimate))
        if is_long(estimate) and not self._paused and not self._stopping:
            self.toggle_pause()
            self.banner.ask_about_slow_run(estimate, self.session.trainer.config.arch)
            self.tabs.setCurrentIndex(0)  # where the question is, whichever tab was open

    @Slot(object)
    def _on_finished(self, end: RunEnd) -> None:
        session, self.session = self.session, None
        self._paused = self._stopping = False
        self._stop_after_epoch = None
        # The run's model and the window's state come first, and every panel's part is
        # guarded: a panel that fails is reported, and cannot lose the model or leave the
        # window looking as if it were still training.
        self._take_model(session.trainer, end)
        level = {"finished": "info", "stopped": "info", "learned_nothing": "warning"}

        def banner_and_log() -> None:
            self.banner.show_end(end, session.trainer.run_dir)
            # Said once on screen (the banner); the log keeps its first line as the record.
            self.log.append_text(self.banner.text().split("\n")[0],
                                 level.get(end.reason, "error"))

        for step in (lambda: self.run.end(end), banner_and_log):
            with reported_errors():
                step()
        self._status("Ready")
        self.settings_panel.refresh_dataset_titles()  # the run may have downloaded its data
        session.deleteLater()
        self.settings_panel.set_running(False)
        self._update_actions()
        if self._close_after_run:
            self.close()

    def _take_model(self, trainer: Trainer, end: RunEnd) -> None:
        """Keep the run's model for saving, continuing and (if it reads digits) drawing."""
        if trainer.saved is None or trainer.epochs_done == 0:
            return
        self.run.keep_model(trainer.saved, end.checkpoint_path, end.reason,
                            Path(trainer.run_dir).name if trainer.run_dir else None)
        with reported_errors():
            if trainer.saved.is_digits:  # the canvas is for digits; list digit models only
                self.draw.add_trained_model(trainer.saved)
            else:
                self.log.append_text("The Draw tab keeps its digit model; open this run's "
                                     "checkpoint (File > Open) to draw for it anyway.")

    def status_text(self) -> str:
        """What the status bar says now (a temporary message, else the standing state)."""
        return self.statusBar().currentMessage() or self._status_label.text()

    def _status(self, text: str) -> None:
        """The status bar's standing text: always the state now (Ready, Loading, Training on
        ..., Paused, Stopping), never a message left over from an earlier state."""
        self.statusBar().clearMessage()
        self._status_label.setText(text)

    @Slot()
    def _update_actions(self) -> None:
        running = self.session is not None
        idle = not running and not self._start_waiting
        can_train = idle and self._engine_error is None and self.settings_panel.is_valid()
        can_control = running and not self._stopping
        self.train_action.setEnabled(can_train)
        self.resume_action.setEnabled(can_train and self._engine_ready
                                      and self.run.checkpoint_path is not None)
        self.pause_action.setEnabled(can_control)
        self.stop_action.setEnabled(can_control or self._start_waiting)
        self.pause_action.setText("&Resume" if self._paused else "&Pause")
        self.settings_dock.show_state(can_train, can_control, can_control or self._start_waiting,
                                      self._paused, self._engine_ready)
        self.files.update_actions(can_open=idle and self._engine_ready)
        continuing = self.session is not None and self.session.trainer.resume_from is not None
        self.settings_panel.show_continuation(
            self.checkpoint.epoch if self.checkpoint is not None else None, continuing)
        self.export_model_action.set_available(self.checkpoint is not None)

    @Slot(object)
    def _on_config_changed(self, config: TrainConfig) -> None:
        """Keep the Model tab on the chosen architecture, where the input is known already."""
        if self.summary is None:  # PyTorch is still loading: done once it has
            return
        from engine.models.architectures import input_size_for

        spec = DATASET_INFO.get(config.dataset)
        if spec is None or spec.known_shape is None or config.problems().get("arch"):
            return
        channels, size, classes = spec.known_shape
        self.summary.show_for(config.arch, channels, classes,
                              input_size_for(config.arch, size, config.image_size))

    def _show_opened(self, checkpoint: Checkpoint) -> None:
        """An opened checkpoint replaced the run on screen: no earlier run's end or progress
        stays, and the form holds its settings."""
        self.banner.hide()
        self.settings_panel.set_config(checkpoint.config)
        self._update_actions()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if self.session is not None and not self._stopping and self._confirm_stop(
                closing=True) != STOP_NOW:
            event.ignore()  # training on, or closing once the epoch under way has ended
            return
        if self.session is not None:  # still going once the person has answered
            # Stop (honoured within one batch) and close when the run has ended and its thread
            # is joined: the window never freezes waiting, and nothing is left running.
            self._close_after_run = True
            self.stop_training()
            self._status("Stopping the run before closing…")
            event.ignore()
            return
        self.settings_panel.save_settings(self._settings)
        save_window_state(self, self._settings)
        self._settings.sync()
        super().closeEvent(event)
