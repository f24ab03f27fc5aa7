"""Find a learning rate: a button beside the form's learning-rate field, and its dialog.

The dialog runs the range test (engine/lr_finder/search.py) on the settings in the form, on the
training thread (gui/worker.py), drawing the loss against the rate on a log axis as it
goes, then the short checks of the rates the curve proposes (each a dot at the loss it
ended at); Stop ends it within a batch. Afterwards it marks the rate suggested and the
curve's lowest point, and "Use ..." puts the suggestion in the learning-rate field: the
default button only when the test is sure of it; when it is not, the button says
"unsure" and the status line says why. The test puts the model back as it found it, and
writes nothing.

The dialog is modal to the window: no run can start while a test runs. Closing the dialog,
or the window, mid-test stops the test first and closes once its thread has ended.
PyTorch is imported only when a test starts (the button waits for it to load).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.catalog import arch_title, dataset_title
from engine.config import TrainConfig
from engine.events import DataProgress, LogLine
from engine.lr_finder.lr_range import (
    DEFAULT_END_LR,
    DEFAULT_START_LR,
    DEFAULT_STEPS,
    MIN_STEPS,
    lr_text,
    range_problem,
)
from gui.contrast import make_secondary
from gui.field_guard import guard_fields
from gui.lr_finder_plot import LRCurvePlot
from gui.lr_input import LogSpinBox
from gui.run_controller import RunController
from gui.window_places import WindowPlaces

if TYPE_CHECKING:
    from gui.log_panel import LogPanel
    from gui.settings_panel import SettingsPanel
    from gui.worker import WorkerSession

BUTTON_TEXT = "Find…"


class LRFinderDialog(QDialog):
    """The range test for one set of settings: progress, curve, suggestions, "Use"."""

    rate_chosen = Signal(float)  # the person clicked "Use <rate>"
    test_finished = Signal(object)  # LRTestEnd (or the worker's RunEnd if it crashed)

    def __init__(self, config: TrainConfig, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self.session: WorkerSession | None = None
        self.end = None
        self._close_when_done = False
        self._window_to_close: QWidget | None = None
        self._lrs: list[float] = []
        self._losses: list[float] = []
        self._smoothed: list[float] = []
        self._checks: list[tuple[float, float]] = []  # (rate, loss) of each rate checked
        self.setWindowTitle("Find a learning rate")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self._build()
        guard_fields(self)  # the wheel changes the range only in a field clicked into
        # Room for the plot and five lines of status (a wrapped label's height is not in
        # the size hint), within a 1024x600 screen.
        self.resize(QSize(640, 560))
        if parent is not None:
            parent.window().installEventFilter(self)

    # -- building ----------------------------------------------------------------------

    def _build(self) -> None:
        config = self.config
        intro = QLabel(
            f"Trains {arch_title(config.arch)} on {dataset_title(config.dataset)} for a few "
            "batches while the learning rate rises from very low to very high, and watches "
            "the loss; then trains briefly at each of a few rates well below where the loss "
            "was lowest, and suggests the one that trained best. The model is put back "
            "afterwards, and nothing is saved.")
        intro.setWordWrap(True)
        make_secondary(intro)

        self.start_box = LogSpinBox(minimum=1e-9, maximum=1.0)
        self.start_box.setValue(DEFAULT_START_LR)
        self.end_box = LogSpinBox(minimum=1e-6, maximum=1e3)
        self.end_box.setValue(DEFAULT_END_LR)
        self.steps_box = QSpinBox()
        self.steps_box.setRange(MIN_STEPS, 10_000)
        self.steps_box.setValue(DEFAULT_STEPS)
        range_row = QHBoxLayout()
        for widget in (QLabel("From"), self.start_box, QLabel("to"), self.end_box,
                       QLabel("over at most"), self.steps_box, QLabel("batches")):
            range_row.addWidget(widget)
        range_row.addStretch(1)

        self.plot = LRCurvePlot(self.palette())

        self.progress = QProgressBar()
        self.progress.setRange(0, DEFAULT_STEPS)
        self.progress.setFormat("%v of %m batches")
        self.status = QLabel("Starting…")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.setMinimumHeight(5 * self.status.fontMetrics().lineSpacing())
        self.status.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)

        self.use_button = QPushButton()
        self.use_button.clicked.connect(self._use)
        self.use_button.hide()
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop)
        self.again_button = QPushButton("Test again")
        self.again_button.clicked.connect(self.start)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.use_button)
        buttons.addStretch(1)
        for button in (self.stop_button, self.again_button, self.close_button):
            buttons.addWidget(button)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(range_row)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(buttons)

    # -- the test ----------------------------------------------------------------------

    def is_running(self) -> bool:
        return self.session is not None

    @Slot()
    def start(self) -> bool:
        """Start a test with the range in the dialog; False (and why, said) if refused."""
        if self.session is not None:
            return False
        start, end, steps = self.start_box.value(), self.end_box.value(), self.steps_box.value()
        problem = range_problem(start, end, steps)
        if problem:
            self._say(f"Cannot test: {problem}", error=True)
            return False
        from engine.lr_finder.search import LRFinder  # PyTorch: loaded before the button is on
        from gui.worker import WorkerSession

        self._lrs, self._losses, self._smoothed = [], [], []
        self._checks = []
        self._draw()
        self.plot.clear_marks()
        self.use_button.hide()
        self._preselect(None)
        self.end = None
        self.progress.setFormat("%v of %m batches")
        self.progress.setRange(0, steps)
        self.progress.setValue(0)
        self._say("Loading the data and building the model…")
        self.session = WorkerSession(LRFinder.for_config(
            self.config, start_lr=start, end_lr=end, steps=steps), self)
        self.session.events.connect(self._on_events)
        self.session.finished.connect(self._on_finished)
        self.session.start()
        self._update_buttons()
        return True

    @Slot()
    def stop(self) -> None:
        if self.session is not None:
            self.session.stop()
            self._say("Stopping…")
            self.stop_button.setEnabled(False)

    @Slot(list)
    def _on_events(self, events: list) -> None:
        from engine.lr_finder.search import LRCheckStep, LRTestStep

        steps = [e for e in events if isinstance(e, LRTestStep)]
        for event in events:
            if isinstance(event, DataProgress):
                self._say(event.message)
            elif isinstance(event, LogLine) and event.level != "info":
                self._say(event.message.split("\n")[0], error=event.level == "error")
        checks = [e for e in events if isinstance(e, LRCheckStep)]
        if checks:
            self._show_check(checks[-1])
        if not steps:
            return
        self._lrs += [e.lr for e in steps]
        self._losses += [e.loss for e in steps]
        self._smoothed += [e.smoothed for e in steps]
        last = steps[-1]
        self.progress.setValue(last.step)
        self._say(f"Batch {last.step} of at most {last.steps}: learning rate "
                  f"{lr_text(last.lr)}, loss {last.smoothed:.4f} (smoothed).")
        self._draw()

    @Slot(object)
    def _on_finished(self, end) -> None:
        session, self.session = self.session, None
        session.deleteLater()
        self.end = end
        result = getattr(end, "result", None)
        if result is not None:  # the whole curve, exactly as the engine kept it
            self._lrs, self._losses = list(result.lrs), list(result.losses)
            self._smoothed = list(result.smoothed)
            self._draw()
            self._show_suggestions(result)
        self._say(end.message, error=end.reason == "failed")
        if end.reason == "finished":
            self.progress.setFormat("Done")
        self._update_buttons()
        self.test_finished.emit(end)
        if self._close_when_done:
            self._close_when_done = False
            self.close()
            if self._window_to_close is not None:
                self._window_to_close.close()

    def _draw(self) -> None:
        self.plot.show_curve(self._lrs, self._losses, self._smoothed, self._checks)

    def _show_check(self, step) -> None:
        """A proposed rate is being checked: which, and how far."""
        self.progress.setFormat(f"checking rate {step.index} of {step.checks}: "
                                "%v of %m batches")
        self.progress.setRange(0, step.batches)
        self.progress.setValue(step.batch)
        self._say(f"Checking {lr_text(step.lr)} ({step.index} of {step.checks}), trained "
                  f"from the start at a constant rate: batch {step.batch} of {step.batches}, "
                  f"loss {step.loss:.4f}.")

    def _show_suggestions(self, result) -> None:
        self._checks = [(c.lr, c.loss) for c in result.checks if not c.blew_up]
        self._draw()
        suggested = result.suggested
        marks = {"suggested": (suggested, "suggested" if result.sure else "unsure"),
                 "lowest": (result.min_loss_lr, "lowest loss")}
        for key, (lr, title) in marks.items():
            if lr is not None:
                self.plot.mark(key, lr, title, result.lrs)
        if suggested is None:
            return
        if result.sure:
            self.use_button.setText(f"Use {lr_text(suggested)} (suggested)")
            self.use_button.setToolTip(f"Put {lr_text(suggested)} in the learning-rate field "
                                       "and close: it trained best of the rates checked")
        else:
            self.use_button.setText(f"Use {lr_text(suggested)} (unsure)")
            self.use_button.setToolTip(f"Not sure: {result.unsure}")
        self.use_button.show()
        self._preselect(self.use_button if result.sure else self.close_button)

    def _preselect(self, button: QPushButton | None) -> None:
        """Make `button` the one Enter presses (None: the dialog's own choice), and only it:
        an unsure suggestion is never a keypress away."""
        for each in (self.use_button, self.stop_button, self.again_button, self.close_button):
            each.setDefault(each is button)
            each.setAutoDefault(button is None and each is not self.use_button)
        if button is not None and button.isVisible():
            button.setFocus()

    def suggested(self) -> float | None:
        """The rate the "Use" button offers, if any."""
        result = getattr(self.end, "result", None)
        return None if result is None else result.suggested

    def _use(self) -> None:
        lr = self.suggested()
        if lr is not None:
            self.rate_chosen.emit(lr)
            self.accept()

    def _update_buttons(self) -> None:
        running = self.session is not None
        self.stop_button.setEnabled(running)
        self.again_button.setEnabled(not running)
        for box in (self.start_box, self.end_box, self.steps_box):
            box.setEnabled(not running)

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #c62828" if error else "")

    # -- closing mid-test --------------------------------------------------------------

    def reject(self) -> None:  # Esc, and the window's close button (via closeEvent)
        if self.session is not None:
            self._close_when_done = True
            self.stop()
            return
        super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if self.session is not None:
            self._close_when_done = True
            self.stop()
            event.ignore()
            return
        super().closeEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        """The window is closing: the dialog closes with it; mid-test, the test stops first
        and the window closes once it has ended."""
        if event.type() == QEvent.Type.Close:
            if self.session is not None:
                self._close_when_done = True
                self._window_to_close = watched
                self.stop()
                event.ignore()
                return True
            self.close()
        return super().eventFilter(watched, event)


class LRFinderButton(QPushButton):
    """"Find…" beside the learning-rate field: opens the test for the form's settings.

    On once PyTorch has loaded, while no run holds the window and the settings (other than
    the learning rate itself) are valid.
    """

    notice = Signal(str)  # a sentence for the status bar
    tested = Signal(str)  # how a test ended, for the log

    def __init__(self, form: SettingsPanel, controller: RunController) -> None:
        super().__init__(BUTTON_TEXT)
        self._form, self._controller = form, controller
        self.dialog: LRFinderDialog | None = None
        self.setObjectName("find_lr")
        self.clicked.connect(self.open_test)
        form.config_changed.connect(self.refresh)
        controller.engine_changed.connect(self.refresh)
        controller.state_changed.connect(self.refresh)
        self.refresh()

    def blocker(self) -> str:
        """Why the test cannot start now ("" when it can)."""
        if not self._controller.engine_ready:
            return "Waits for PyTorch to load."
        if self._controller.session is not None:
            return "Not while a run is training."
        problems = {k: v for k, v in self._form.problems().items() if k != "lr"}
        if problems:
            return f"Fix the settings first: {next(iter(problems.values()))}"
        return ""

    @Slot()
    def refresh(self, *_args: object) -> None:
        blocker = self.blocker()
        self.setEnabled(not blocker)
        self.setToolTip("Find a good learning rate: a short range test on these settings "
                        "(nothing is saved)" + (f"\n{blocker}" if blocker else ""))

    @Slot()
    def open_test(self) -> LRFinderDialog | None:
        """Open the dialog and start the test; None (and why, in the status bar) if not now."""
        blocker = self.blocker()
        if blocker:
            self.notice.emit(f"Cannot find a learning rate: {blocker}")
            return None
        config = self._form.config()
        if "lr" in self._form.problems():  # the rate typed is no matter for the test
            config = config.replace(lr=TrainConfig().lr)
        if self.dialog is not None:
            self.dialog.deleteLater()
        self.dialog = LRFinderDialog(config, self.window())  # modal to the window
        self.dialog.rate_chosen.connect(self._use_rate)
        self.dialog.test_finished.connect(
            lambda end: self.tested.emit(f"Learning-rate test: {end.message}"))
        self.dialog.show()
        self.dialog.start()
        return self.dialog

    def _use_rate(self, lr: float) -> None:
        self._form.set_config(self._form.config().replace(lr=lr))
        self.notice.emit(f"Learning rate set to {lr_text(lr)}")


def add_lr_finder(window: WindowPlaces, form: SettingsPanel, controller: RunController,
                  log: LogPanel) -> LRFinderButton:
    """Compose the finder into the window: its button beside the learning-rate field."""
    button = LRFinderButton(form, controller)
    button.notice.connect(window.notify)
    button.tested.connect(log.append_text)
    form.add_beside("lr", button)
    return button
