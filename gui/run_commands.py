"""Train, Continue from checkpoint, Pause and Stop: the window's run actions.

They drive the run controller (gui/run_controller.py) with the settings form's values, say
on the run banner why a start or a resume is refused, ask before a run is stopped
(gui/stop_question.py), and follow the controller: which actions are on, which fields the
form locks, the progress panel's pause, the banner and the log at a run's end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QMainWindow

from engine.catalog import arch_title, dataset_title
from engine.config import with_lineage
from engine.durations import estimate_sentence
from engine.events import RunEnd, RunEstimate, RunStart
from engine.training.changes import changeable_fields, requested_changes
from gui.group_run import start_seed_group
from gui.run_banner import RunBanner, is_long
from gui.run_controller import RunController, RunState
from gui.run_model import more_epochs
from gui.stop_question import STOP_AFTER_EPOCH, STOP_NOW, confirm_stop, stop_consequence
from gui.window_actions import window_action

if TYPE_CHECKING:
    from engine.records.checkpoint import Checkpoint
    from gui.log_panel import LogPanel
    from gui.progress_panel import ProgressPanel
    from gui.settings_panel import SettingsPanel

# How a run that ended is logged (its first line; the banner says it all).
END_LEVELS = {"finished": "info", "stopped": "info", "learned_nothing": "warning"}


class RunCommands(QObject):
    """The four run actions, added to `window` with their shortcuts, and what follows them."""

    show_run_requested = Signal()  # the run needs the person's eyes: show the Training tab

    def __init__(self, window: QMainWindow, controller: RunController, form: SettingsPanel,
                 banner: RunBanner, progress: ProgressPanel, log: LogPanel) -> None:
        super().__init__(window)
        self._window, self._controller, self._form = window, controller, form
        self._banner, self._progress, self._log = banner, progress, log
        self.train_action = window_action(window, "&Train", "Ctrl+Return", self.start_training)
        self.resume_action = window_action(window, "Continue from &checkpoint",
                                           "Ctrl+Shift+Return", self.resume_training)
        self.resume_action.setToolTip("Train the model on screen for more epochs, as one run "
                                      "whatever Seeds says; a seed group's member (after a "
                                      "group: its last) goes on in a run folder of its own, "
                                      "and the group stays as it ended")
        self.pause_action = window_action(window, "&Pause", "Space", self.toggle_pause)
        self.stop_action = window_action(window, "&Stop", "Esc", self.ask_to_stop)
        run = controller.run
        controller.state_changed.connect(self._follow_state)
        controller.engine_changed.connect(self.refresh)
        controller.start_due.connect(self.start_training)
        controller.run_finished.connect(self._on_finished)
        run.run_started.connect(self._on_run_started)
        run.estimate_made.connect(self._on_estimate)
        run.model_changed.connect(self.refresh)
        run.checkpoint_opened.connect(lambda ckpt, _path: self._show_opened(ckpt))
        form.validity_changed.connect(self.refresh)
        banner.continue_requested.connect(self.toggle_pause)
        banner.stop_requested.connect(self.stop_training)
        banner.use_sample_requested.connect(self.use_bundled_sample)
        self.refresh()

    # -- the actions -----------------------------------------------------------------------

    def start_training(self, resume_from: str | None = None) -> bool:
        """Start a run with the form's settings; False (and why, on screen) if refused."""
        controller = self._controller
        if controller.state is not RunState.IDLE or controller.engine_error:
            return False
        problems = self._form.problems()
        if problems:
            self._banner.show_refusal(f"Cannot train: {next(iter(problems.values()))}")
            return False
        if not controller.engine_ready:
            # Held, not refused: the run starts the moment PyTorch has loaded.
            controller.hold(resume_from)
            self._log.append_text("Training starts as soon as PyTorch has loaded (Stop "
                                  "cancels).")
            return True
        config = self._form.config()
        if resume_from is not None:  # Epochs says how many more: the trainer wants the total
            config = more_epochs(config, controller.run.checkpoint.epoch)
            # A child run continued still leaves out its images (the form has none).
            config = with_lineage(config, controller.run.checkpoint.config)
            if config.problems().get("epochs"):
                self._banner.show_refusal(f"Cannot continue: {config.problems()['epochs']}")
                return False
        self._form.save_settings(controller.settings)
        # Continue goes on with the model on screen as one run, whatever Seeds says.
        group = config.seeds > 1 and resume_from is None
        if group:
            start_seed_group(controller, config)
        else:
            controller.start(config, resume_from)
        self._banner.hide()
        seeds = f" with {config.seeds} seeds, one after another" if group else ""
        self._log.append_text(
            f"Starting {arch_title(config.arch)} on {dataset_title(config.dataset)}{seeds}…")
        self.show_run_requested.emit()
        return True

    @Slot()
    def use_bundled_sample(self) -> None:
        """Switch the dataset to the bundled MNIST sample (no download) and train on it."""
        if self._controller.session is not None:
            return
        self._form.set_config(self._form.config().replace(dataset="mnist-sample"))
        self.start_training()

    @Slot()
    def resume_training(self) -> None:
        path = self._controller.run.checkpoint_path
        if path is None:
            self._window.statusBar().showMessage("Open or train a checkpoint first.", 5000)
            return
        self.start_training(resume_from=path)

    @Slot()
    def toggle_pause(self) -> None:
        controller = self._controller
        if controller.state in (RunState.LOADING, RunState.RUNNING):
            controller.pause(self._form.config())
        elif controller.state is RunState.PAUSED:
            changes = requested_changes(controller.config_at_pause, self._form.config())
            problems = self._form.problems()
            refused = next((problems[name] for name in changes if name in problems), None)
            if refused is not None:
                self._banner.show_refusal(f"Cannot resume with this change: {refused}")
                return
            self._banner.dismiss_question()
            if self._banner.kind() == "failed":  # a refused resume, now answered
                self._banner.hide()
            controller.resume(changes)

    @Slot()
    def ask_to_stop(self) -> None:
        """Stop, Esc, Run > Stop: stop the run once the person has said so (see
        gui/stop_question.py); a start still waiting for PyTorch is cancelled at once."""
        if self._controller.state in (RunState.RUNNING, RunState.LOADING, RunState.PAUSED) and (
                self.confirm_stop() != STOP_NOW):
            return
        self.stop_training()

    @Slot()
    def stop_training(self) -> None:
        """Stop now, without asking (the caller has)."""
        waiting = self._controller.state is RunState.WAITING
        self._controller.stop()
        if waiting:
            self._window.statusBar().showMessage("Training cancelled before it started.", 5000)
            self._log.append_text("Training cancelled before it started.")

    def confirm_stop(self, closing: bool = False) -> str:
        """The person's answer; to stop after the epoch under way, the stop waits for it."""
        controller, run = self._controller, self._controller.run
        done = len(run.history)
        under_way = (done + 1 if run.start is not None and controller.state is not
                     RunState.PAUSED else None)
        consequence = stop_consequence(run.start, done, controller.run_dir,
                                       controller.resume_from)
        answer = confirm_stop(self._window, controller.settings, consequence, closing,
                              under_way)
        if answer == STOP_AFTER_EPOCH and controller.session is not None:
            controller.stop_after(under_way, closing)
        return answer

    def may_close(self) -> bool:
        """Whether the window may close now. Mid-run it asks first; then the run stops (within
        a batch) and the window closes once it has ended and its thread is joined: the
        window never freezes waiting, and nothing is left running."""
        controller = self._controller
        if controller.session is None:
            return True
        if controller.state is not RunState.STOPPING and self.confirm_stop(
                closing=True) != STOP_NOW:
            return False  # training on, or closing once the epoch under way has ended
        if controller.session is None:  # it ended while the person answered
            return True
        controller.stop(closing=True)
        return False

    # -- following the controller ----------------------------------------------------------

    @Slot()
    def refresh(self, *_args: object) -> None:
        """Turn the actions on and off for what the run does now."""
        controller = self._controller
        state = controller.state
        can_train = (state is RunState.IDLE and controller.engine_error is None
                     and self._form.is_valid())
        can_control = state in (RunState.LOADING, RunState.RUNNING, RunState.PAUSED)
        self.train_action.setEnabled(can_train)
        self.resume_action.setEnabled(can_train and controller.engine_ready
                                      and controller.run.checkpoint_path is not None)
        self.pause_action.setEnabled(can_control)
        self.stop_action.setEnabled(can_control or state is RunState.WAITING)
        self.pause_action.setText("&Resume" if state is RunState.PAUSED else "&Pause")
        checkpoint = controller.run.checkpoint
        self._form.show_continuation(checkpoint.epoch if checkpoint is not None else None,
                                     controller.continuing)

    def _follow_state(self, state: RunState, before: RunState) -> None:
        # The form is locked while a run uses it; while paused, the settings a run can take
        # mid-way unlock (engine/training/changes.py). Stopping leaves it as it was.
        if state is RunState.IDLE:
            self._form.set_running(False)
        elif state is RunState.PAUSED:
            self._form.set_running(True, changeable_fields(self._controller.config_at_pause))
        elif state is not RunState.STOPPING:
            self._form.set_running(True)
        if state is RunState.PAUSED and before is not RunState.PAUSED:
            self._progress.set_state("paused")
        elif before is RunState.PAUSED and state in (RunState.LOADING, RunState.RUNNING):
            self._progress.set_state("training")
        elif state is RunState.STOPPING:
            self._banner.dismiss_question()
        self.refresh()

    def _on_run_started(self, _start: RunStart) -> None:
        if self._controller.state is RunState.PAUSED:  # paused while the data loaded
            self._progress.set_state("paused")

    def _on_estimate(self, estimate: RunEstimate) -> None:
        """Log the estimate; a long run waits, paused, until the person chooses to go on."""
        self._log.append_text(estimate_sentence(estimate))
        controller = self._controller
        if is_long(estimate) and controller.state in (RunState.LOADING, RunState.RUNNING):
            self.toggle_pause()
            self._banner.ask_about_slow_run(estimate, controller.config.arch)
            self.show_run_requested.emit()  # where the question is, whichever tab was open

    def _on_finished(self, end: RunEnd) -> None:
        controller = self._controller
        self._banner.show_end(end, controller.job_dir or controller.run_dir)
        # Said once on screen (the banner); the log keeps its first line as the record.
        self._log.append_text(self._banner.text().split("\n")[0],
                              END_LEVELS.get(end.reason, "error"))
        self._form.refresh_dataset_titles()  # the run may have downloaded its data

    def _show_opened(self, checkpoint: Checkpoint) -> None:
        """An opened checkpoint replaced the run on screen: no earlier run's end stays, and
        the form holds its settings."""
        self._banner.hide()
        self._form.set_config(checkpoint.config)
