"""The TrainDesk main window: composes the panels around the run controller.

The run's lifecycle lives in gui/run_controller.py (widget-free, a state and signals), what
is on screen in gui/run_model.py; the panels follow both, and the run actions (Train,
Pause, Stop...) are gui/run_commands.py. The window builds the layout and offers named menus
and tabs (`menu`, `add_tab`) to the parts that add themselves to it: a new panel is its own
file plus one line here.

The window is built and shown without PyTorch: right after its first paint, PyTorch and
the engine load on a background thread (gui/engine_loader.py) while the status bar says so
and the settings form is usable. The parts that need PyTorch wait for it (gui/pytorch_parts.py):
the Model, Draw and Inside tabs show a stand-in, opening a checkpoint is off, and a click on
Train is held and the run starts as soon as PyTorch has loaded (Stop cancels it meanwhile).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QSettings, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QMainWindow,
    QMenu,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from gui.checkpoint_files import CheckpointFiles
from gui.child_runs import add_child_runs
from gui.data_panel import DataPanel
from gui.engine_loader import EngineLoader, freeze_loaded_objects
from gui.field_guard import guard_fields
from gui.group_run import GroupRun
from gui.help_dialogs import add_help_menu
from gui.image_marks import ImageMarks
from gui.log_panel import LogPanel
from gui.lr_finder_dialog import add_lr_finder
from gui.model_export import ExportModelAction
from gui.plots_panel import PlotsPanel
from gui.progress_panel import ProgressPanel
from gui.pytorch_parts import PyTorchParts
from gui.results_panel import ResultsPanel
from gui.run_banner import RunBanner
from gui.run_commands import RunCommands
from gui.run_controller import RunController
from gui.run_model import RunModel
from gui.run_status import RunStatus
from gui.runs_panel import add_runs_tab
from gui.scrolling import FillOrScroll
from gui.settings_dock import SettingsDock
from gui.settings_panel import SettingsPanel
from gui.sweep_panel import add_sweep_tab
from gui.window_actions import window_action
from gui.window_geometry import restore_window_state, save_window_state

if TYPE_CHECKING:  # these import PyTorch: made once it has loaded
    from engine.records.checkpoint import Checkpoint
    from gui.draw_panel import DrawPanel
    from gui.summary_panel import SummaryPanel


class MainWindow(QMainWindow):
    """Settings on the left, live training / model / draw tabs in the centre, log below."""

    def __init__(self, settings: QSettings | None = None,
                 runs_dir: str | Path | None = None) -> None:
        """runs_dir: where runs are written and listed (None: the one chosen in File > Runs
        folder, else the default)."""
        super().__init__()
        self.setWindowTitle("TrainDesk")
        self._settings = settings if settings is not None else QSettings()
        self._painted = False
        self.run = RunModel(parent=self)  # the run on screen; panels follow it
        self.controller = RunController(self.run, self._settings, runs_dir, parent=self)

        self.settings_panel = SettingsPanel()
        self.plots = PlotsPanel()
        self.progress = ProgressPanel()
        self.log = LogPanel()
        for panel in (self.plots, self.progress, self.log):
            panel.follow(self.run)
        self.group_run = GroupRun(self.run, self.plots, self.progress, parent=self)
        self.pytorch = PyTorchParts(self.controller, self.settings_panel, self.log)
        self.summary: SummaryPanel | None = None  # the Model and Draw panels, once PyTorch
        self.draw: DrawPanel | None = None  # has loaded
        self.engine_loader = EngineLoader(self)
        self.engine_loader.loaded.connect(self._on_engine_loaded)
        self.engine_loader.failed.connect(self._on_engine_failed)

        self.banner = RunBanner()
        self.commands = RunCommands(self, self.controller, self.settings_panel, self.banner,
                                    self.progress, self.log)
        self.commands.show_run_requested.connect(lambda: self.tabs.setCurrentIndex(0))
        self.files = CheckpointFiles(self, self.run, self.log, lambda: self.controller.runs_dir)
        self.files.follow(self.controller)
        self.files.checkpoint_saved.connect(self.commands.refresh)
        self.export_model_action = ExportModelAction(self, self.run,
                                                     lambda: self.controller.runs_dir)
        self.quit_action = window_action(self, "&Quit", "Ctrl+Q", self.close)
        self._build_layout()
        self._menus = {name: self.menuBar().addMenu(f"&{name}")
                       for name in ("File", "Run", "View")}
        self._build_menus()
        self._build_tabs()

        self.runs_panel = add_runs_tab(self, self.controller, self.plots, self.settings_panel,
                                       self.files.open_checkpoint)
        self.sweep = add_sweep_tab(self, self.controller, self.plots, self.settings_panel.config)
        self.lr_finder = add_lr_finder(self, self.settings_panel, self.controller, self.log)
        self.train_again = add_child_runs(self, self.controller, self.marks,
                                          self.settings_panel, self.log, self.results)

        self.menu("File").addSeparator()
        self.menu("File").addAction(self.quit_action)
        self._menus["Help"] = add_help_menu(self)
        self.controller.run_finished.connect(self._close_after_run)  # after the banner's turn
        self.settings_panel.restore_settings(self._settings)
        restore_window_state(self, self._settings)
        guard_fields(self)
        if EngineLoader.already_loaded():  # e.g. imported by the caller: nothing to wait for
            self._on_engine_loaded()

    # -- what the window offers the parts that add to it -----------------------------------

    def menu(self, title: str) -> QMenu:
        """The menu called `title` ("File", "Run", "View", "Help"), for a part to add to."""
        return self._menus[title]

    def add_tab(self, title: str, widget: QWidget) -> QAction:
        """A tab in the centre, with its entry in View and its Ctrl+number shortcut (which
        works with the menu bar hidden, and is listed in Help > Keyboard shortcuts)."""
        index = self.tabs.addTab(widget, title)
        action = QAction(f"{title} tab", self)
        action.setShortcut(QKeySequence(f"Ctrl+{index + 1}"))
        action.triggered.connect(lambda _checked=False: self.tabs.setCurrentWidget(widget))
        self.addAction(action)
        self.menu("View").addAction(action)
        return action

    def notify(self, text: str, timeout_ms: int = 5000) -> None:
        """Say `text` in the status bar for a while (over its standing text)."""
        self.statusBar().showMessage(text, timeout_ms)

    def status_text(self) -> str:
        """What the status bar says now (a temporary message, else the standing state)."""
        return self.statusBar().currentMessage() or self._status.text()

    # -- loading PyTorch behind the window -------------------------------------------------

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and not self._painted:
            # The window is on screen: now load PyTorch, without delaying that first paint.
            self._painted = True
            if not self.controller.engine_ready:
                QTimer.singleShot(0, self.engine_loader.start)
        return super().event(event)

    def engine_ready(self) -> bool:
        return self.controller.engine_ready

    @Slot()
    def _on_engine_loaded(self) -> None:
        if self.controller.engine_ready:
            return
        self.pytorch.load()
        self.summary, self.draw = self.pytorch.summary, self.pytorch.draw
        guard_fields(self)  # the fields of the panels just made
        self.controller.set_engine_ready()
        freeze_loaded_objects()

    @Slot(str)
    def _on_engine_failed(self, error: str) -> None:
        message = (f"PyTorch could not be loaded ({error}). Reinstall it "
                   "(pip install --force-reinstall torch) and start TrainDesk again.")
        self.log.append_text(message, "error")
        self.pytorch.show_failure(message)
        self.controller.set_engine_failed(message)

    # -- what the rest of the program reads ------------------------------------------------

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

    # -- construction ----------------------------------------------------------------------

    def _build_layout(self) -> None:
        commands = self.commands
        self.settings_dock = SettingsDock(self.settings_panel, commands.train_action,
                                          commands.pause_action, commands.stop_action,
                                          self.controller, self)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.settings_dock)
        self.log_dock = QDockWidget("Log", self)
        self.log_dock.setObjectName("log_dock")
        self.log_dock.setWidget(self.log)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.log_dock)
        self.tabs = QTabWidget()
        self.setCentralWidget(self.tabs)
        # Hidden while a temporary message ("Saved ...") shows, back once it times out.
        self._status = RunStatus(self.controller, self.statusBar())
        self.resizeDocks([self.log_dock], [110], Qt.Orientation.Vertical)

    def _build_menus(self) -> None:
        self.menu("File").addActions([self.files.open_action, self.files.save_action,
                                      self.files.export_action, self.export_model_action])
        commands = self.commands
        self.menu("Run").addActions([commands.train_action, commands.resume_action,
                                     commands.pause_action, commands.stop_action])
        view = self.menu("View")
        view.addActions([self.settings_dock.toggleViewAction(),
                         self.log_dock.toggleViewAction()])
        view.addSeparator()

    def _build_tabs(self) -> None:
        training = QWidget()
        layout = QVBoxLayout(training)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        for widget in (self.banner, self.progress):
            layout.addWidget(widget)
        layout.addWidget(self.plots, 1)
        # Scrolls, not squashes, where a tall banner and the plots need more height than a
        # small screen has (1024x600).
        self.add_tab("Training", FillOrScroll(training))
        self.add_tab("Model", self.pytorch.model_tab)
        self.add_tab("Draw", self.pytorch.draw_tab)
        self.marks = ImageMarks(self)  # marked images of the run on screen
        self.results = ResultsPanel.following(self.run, self.settings_panel.config, self.marks)
        self.add_tab("Results", self.results)
        self.add_tab("Data", DataPanel(self.run, self.settings_panel))
        self.add_tab("Inside", self.pytorch.inside_tab)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if not self.commands.may_close():
            event.ignore()  # training on, or closing once the run has ended
            return
        self.settings_panel.save_settings(self._settings)
        save_window_state(self, self._settings)
        self._settings.sync()
        super().closeEvent(event)

    def _close_after_run(self, *_args: object) -> None:
        if self.controller.closing:
            self.close()
