"""The run's lifecycle, without widgets: one small model with a state and signals.

The window shows one training run at a time. This controller owns it: the training
session (gui/worker.py), where runs go (the runs folder) and whether they write TensorBoard
files, and what the run is doing now (`RunState`). It also knows whether PyTorch has loaded
behind the window (gui/engine_loader.py): a start asked for before then is held, and is due
once it has. The run model (gui/run_model.py) keeps what is on screen; this controller
feeds it the session's events, and panels subscribe to both (napari's pattern), so nothing
pushes state to them by hand.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSettings, Signal

from engine.config import DEFAULT_RUNS_DIR, TrainConfig
from engine.events import EpochEnd, RunEnd, RunStart
from engine.records.groups import is_group_folder
from engine.records.run_folder import new_run_dir, run_dir_for
from engine.records.tensorboard_log import tensorboard_installed
from gui.errors import reported_errors
from gui.run_model import RunModel

if TYPE_CHECKING:  # imports PyTorch: the session is made once it has loaded
    from gui.worker import WorkerSession

RUNS_DIR_KEY = "runs/dir"
TENSORBOARD_KEY = "runs/tensorboard"


class RunState(Enum):
    IDLE = "idle"  # no run: one may start (once PyTorch has loaded)
    WAITING = "waiting"  # Train was clicked before PyTorch had loaded: it starts once it has
    LOADING = "loading"  # the run loads its data and builds its model (no RunStart yet)
    RUNNING = "running"
    PAUSED = "paused"  # held between batches; the settings a run can take mid-way may change
    STOPPING = "stopping"  # a stop was asked for; the run has not ended yet


def saved_runs_dir(settings: QSettings) -> Path:
    """The runs folder chosen in File > Runs folder, else the default."""
    return Path(str(settings.value(RUNS_DIR_KEY, DEFAULT_RUNS_DIR))).expanduser()


class RunController(QObject):
    """Starts, pauses, resumes and stops the run; says what it is doing through signals."""

    # (state now, state before): emitted at every change of the state, and again when a
    # detail of it changes (a stop planned after an epoch, the window closing after the run).
    state_changed = Signal(object, object)
    engine_changed = Signal()  # PyTorch has loaded (`engine_ready`) or failed (`engine_error`)
    start_due = Signal(object)  # a start held for PyTorch may go now: its resume_from
    model_trained = Signal(object)  # Checkpoint: the model the run made, now kept on screen
    run_finished = Signal(object)  # RunEnd, once the run's thread has ended and all is idle
    runs_dir_changed = Signal(object)  # Path: where runs are written and listed now

    def __init__(self, run: RunModel, settings: QSettings, runs_dir: str | Path | None = None,
                 parent: QObject | None = None) -> None:
        """runs_dir: where runs are written and listed (None: the one chosen before)."""
        super().__init__(parent)
        self.run = run
        self.settings = settings  # the app's, where the choices below are remembered
        self._runs_dir = Path(runs_dir) if runs_dir is not None else saved_runs_dir(settings)
        self.state = RunState.IDLE
        self.session: WorkerSession | None = None
        self.engine_ready = False
        self.engine_error: str | None = None  # why PyTorch could not be loaded
        self.config: TrainConfig | None = None  # the settings the run trains with
        self.resume_from: str | None = None  # the checkpoint the run continues
        self.device = ""  # where the run trains, once it has started
        self.config_at_pause: TrainConfig | None = None  # the form's, when the run paused
        self.stop_after_epoch: int | None = None  # stop once this epoch has ended
        self.closing = False  # the window closes once the run has ended
        self._asked_dir: Path | None = None  # the run folder the trainer was asked to claim
        self.job_dir: Path | None = None  # a job's own folder (a seed group's), given to start_job
        self._claimed_dir: Path | None = None  # the one it claimed (RunStart says)
        self._started = False  # RunStart has come
        self._held_resume_from: str | None = None
        run.run_started.connect(self._on_run_started)
        run.epoch_ended.connect(self._on_epoch_ended)

    # -- where runs go ---------------------------------------------------------------------

    @property
    def runs_dir(self) -> Path:
        return self._runs_dir

    def set_runs_dir(self, path: str | Path) -> None:
        """New runs go to path, and it is listed (remembered for the next start)."""
        self.settings.setValue(RUNS_DIR_KEY, str(path))
        self._runs_dir = Path(path)
        self.runs_dir_changed.emit(self._runs_dir)

    @property
    def tensorboard(self) -> bool:
        """Whether runs write TensorBoard event files (off where it is not installed)."""
        return tensorboard_installed() and str(
            self.settings.value(TENSORBOARD_KEY, "true")).lower() == "true"

    def set_tensorboard(self, on: bool) -> None:
        self.settings.setValue(TENSORBOARD_KEY, bool(on))

    @property
    def run_dir(self) -> Path | None:
        """The run's folder: the one it claimed once it has started, else the one asked for."""
        return self._claimed_dir or self._asked_dir

    @property
    def continuing(self) -> bool:
        """A run is going that continues a checkpoint."""
        return self.session is not None and self.resume_from is not None

    # -- PyTorch, loading behind the window ------------------------------------------------

    def hold(self, resume_from: str | None = None) -> bool:
        """Train before PyTorch has loaded: the start waits for it (`start_due`)."""
        if self.state is not RunState.IDLE or self.engine_ready or self.engine_error:
            return False
        self._held_resume_from = resume_from
        self._set_state(RunState.WAITING)
        return True

    def set_engine_ready(self) -> None:
        self.engine_ready = True
        self.engine_changed.emit()
        if self.state is RunState.WAITING:
            self._set_state(RunState.IDLE)
            self.start_due.emit(self._held_resume_from)

    def set_engine_failed(self, error: str) -> None:
        self.engine_error = error
        if self.state is RunState.WAITING:
            self._set_state(RunState.IDLE)
        self.engine_changed.emit()

    # -- the run ---------------------------------------------------------------------------

    def start(self, config: TrainConfig, resume_from: str | None = None) -> bool:
        """Start a run (config: the settings the trainer takes, for a continued run its
        total epochs); False where one is going or PyTorch has not loaded."""
        if not self._may_start():
            return False
        from gui.worker import TrainingSession

        run_dir = run_dir_for(self._runs_dir, config.arch, config.dataset, resume_from)
        if resume_from is not None and is_group_folder(run_dir.parent):
            # A seed group's member goes on as a run of its own: the group stays as it ended.
            run_dir = new_run_dir(self._runs_dir, config.arch, config.dataset)
        return self._start(TrainingSession(config, run_dir=run_dir, resume_from=resume_from,
                                           parent=self, tensorboard=self.tensorboard),
                           config, run_dir, resume_from)

    def start_job(self, job, config: TrainConfig, run_dir: str | Path | None = None) -> bool:
        """Start a job of one or more runs as the run: anything with `run(listener, control)
        -> RunEnd` and `epochs_done` (a `Trainer`, a seed group, a sweep), whose runs report
        the ordinary run events one after another. config: the settings it trains with;
        run_dir: its folder (a group's or a sweep's), until a run claims its own. The states,
        pause, stop, stop after an epoch and `run_finished` work as for `start`; the model
        kept at the end is the job's `saved` checkpoint, or that of its `current` trainer
        (the run under way or last), where it has one. False where a run is going or PyTorch
        has not loaded."""
        if not self._may_start():
            return False
        from gui.worker import WorkerSession

        folder = Path(run_dir) if run_dir is not None else None
        started = self._start(WorkerSession(job, parent=self), config, folder, None)
        self.job_dir = folder
        return started

    def _may_start(self) -> bool:
        return self.state is RunState.IDLE and self.engine_ready

    def _start(self, session: WorkerSession, config: TrainConfig, run_dir: Path | None,
               resume_from: str | None) -> bool:
        self.config, self.resume_from, self.device = config, resume_from, ""
        self._asked_dir, self._claimed_dir, self._started = run_dir, None, False
        self.job_dir = None
        self.stop_after_epoch, self.closing, self.config_at_pause = None, False, None
        self.session = session
        session.events.connect(self.run.feed)
        session.finished.connect(self._on_finished)
        self.run.begin(continuing=resume_from is not None)  # the panels show it loading
        self._set_state(RunState.LOADING)
        session.start()
        return True

    def pause(self, config: TrainConfig) -> bool:
        """Hold the run between batches; config: the form's settings now, which the
        changes asked for on resuming are measured against."""
        if self.state not in (RunState.LOADING, RunState.RUNNING):
            return False
        self.config_at_pause = config
        self.session.pause()
        self._set_state(RunState.PAUSED)
        return True

    def resume(self, changes: dict | None = None) -> bool:
        """Go on; with `changes` (engine/training/changes.py), the trainer applies them first."""
        if self.state is not RunState.PAUSED:
            return False
        self.session.resume(changes)
        self._set_state(RunState.RUNNING if self._started else RunState.LOADING)
        return True

    def stop(self, closing: bool = False) -> None:
        """Stop now (within a batch); a start waiting for PyTorch is cancelled instead.
        closing: the window closes once the run has ended."""
        if self.state is RunState.WAITING:
            self._set_state(RunState.IDLE)
        elif self.session is not None:
            self.closing = self.closing or closing
            self.session.stop()
            self._set_state(RunState.STOPPING)

    def stop_after(self, epoch: int, closing: bool = False) -> None:
        """Stop once `epoch` has ended (its checkpoint is kept)."""
        if self.session is None or self.state is RunState.STOPPING:
            return
        self.stop_after_epoch = epoch
        self.closing = self.closing or closing
        # The trainer keeps exactly that epoch, even one that ended before its EpochEnd got
        # here (events reach the window in bunches).
        self.session.control.stop_after(epoch)
        self._set_state(self.state)

    def _on_run_started(self, start: RunStart) -> None:
        if self.session is None:
            return
        self._started, self.device = True, start.device
        self._claimed_dir = Path(start.run_dir) if start.run_dir else None
        # Paused while the data loaded, or stopping: it stays so.
        self._set_state(RunState.RUNNING if self.state is RunState.LOADING else self.state)

    def _on_epoch_ended(self, epoch: EpochEnd) -> None:
        if self.stop_after_epoch is not None and epoch.epoch >= self.stop_after_epoch:
            self.stop()  # its checkpoint is written before the next batch

    def _on_finished(self, end: RunEnd) -> None:
        session, self.session = self.session, None
        self.stop_after_epoch, self.config_at_pause = None, None
        # The run's model comes first, and every panel's part is guarded: a panel that fails
        # is reported, and cannot lose the model or leave the window looking as if it were
        # still training.
        job = session.job
        # A job of several runs keeps the model of its run under way or last (`current`).
        trainer = getattr(job, "current", job)
        saved = getattr(trainer, "saved", None)
        if saved is not None and trainer.epochs_done > 0:
            folder = self.run_dir
            self.run.keep_model(saved, end.checkpoint_path, end.reason,
                                folder.name if folder is not None else None)
            with reported_errors():
                self.model_trained.emit(saved)
        with reported_errors():
            self.run.end(end)
        self._set_state(RunState.IDLE)
        self.run_finished.emit(end)
        session.deleteLater()

    def _set_state(self, state: RunState) -> None:
        before, self.state = self.state, state
        self.state_changed.emit(state, before)
