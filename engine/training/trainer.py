"""`Trainer(config).run(listener, control)`: one training run, from its run folder's claim to
its end.

The trainer composes the rooms of engine/training: setup.py prepares what the run trains
with, loop.py trains an epoch and evaluates it, midrun.py applies the settings a person
changes while paused, recording.py writes the run folder, outcomes.py says how the run
ended; distributed.py places the process among those of a torchrun run (a world of one
otherwise). The loop reports plain events (engine.events) to a listener and obeys a
`Control` checked before every batch.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
from torch import nn

from engine.analysis import Evaluation
from engine.config import TrainConfig
from engine.control import Control, StopRequested
from engine.data.types import DatasetMissing, ImageDataset
from engine.events import Event, Listener, LogLine, RunEnd
from engine.records.checkpoint import Checkpoint, load_checkpoint
from engine.records.tensorboard_log import tensorboard_installed
from engine.runtime import acceleration
from engine.training import loop, midrun, outcomes, setup
from engine.training.distributed import OneProcess, Processes
from engine.training.outcomes import EXPECTED_PROBLEMS, Diverged, RunSoFar, SaveFailed
from engine.training.recording import RunRecords
from engine.training.setup import TrainingSetup


class Trainer:
    """Trains one model on one dataset as a `TrainConfig` describes.

    After `run`, `model` holds the last good weights, `history` one record per finished
    epoch, and `checkpoint()` everything needed to resume or to predict.

    With a `run_dir`, the run claims that folder before it loads anything (see
    engine.records.run_folder): a folder holding another run, or one that cannot be written,
    ends the run at once; a run that saved nothing leaves no folder behind. While it runs, it
    writes its record there as it goes (engine.records.runs), which the window lists and
    follows.
    """

    def __init__(self, config: TrainConfig, run_dir: str | Path | None = None,
                 resume_from: str | Path | None = None,
                 tensorboard: bool | None = None, processes: Processes | None = None,
                 compile_model: bool = False, keep_epochs: bool = True) -> None:
        """tensorboard: also write TensorBoard event files to the run folder (None: when
        the tensorboard package is installed). processes: this process's place in a
        torchrun run (engine.training.distributed), None for an ordinary one-process run.
        compile_model: train a torch.compile'd model (its compile time reported apart).
        keep_epochs: a small model's every epoch is kept in epochs/ (False for a sweep's
        trials: many runs, each looked at for its result)."""
        # One run, whatever `seeds` says (engine/experiments/seeds.py repeats runs): its
        # record and checkpoint say seeds=1, so continuing or reloading them never repeats.
        self.config = config.replace(seeds=1)
        self._world = processes if processes is not None else OneProcess()
        self._compile = acceleration.CompileClock() if compile_model else None
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.resume_from = resume_from
        self._records = RunRecords(
            self.run_dir, resume_from,
            tensorboard_installed() if tensorboard is None else tensorboard, keep_epochs)
        self.setup: TrainingSetup | None = None  # what `prepare` builds
        self.model: nn.Module | None = None
        self.dataset: ImageDataset | None = None
        self.input_size = 0
        self.device: torch.device | None = None  # resolved by `prepare`
        # The state at the last epoch boundary, with the settings that produced it: what the
        # run folder's checkpoint holds, and what the model falls back to when a run stops,
        # diverges or fails mid-epoch, so the model, the file and the history always agree
        # and a resume continues exactly. None until an epoch is done (or a run resumed).
        self.saved: Checkpoint | None = None
        self.history: list[dict] = []
        # SettingsChanged.as_record() of every change made during the run (and the runs it
        # continues); `config` holds the settings as changed.
        self.changes: list[dict] = []
        self.epochs_done = 0
        self._start_epoch = 0  # the epochs done when the run started
        self._steps_done = 0  # optimisation steps of the epochs done
        self._next_batch_size: int | None = None  # asked for; applied when the next epoch starts

    # -- public ------------------------------------------------------------------------

    def run(self, listener: Listener, control: Control | None = None) -> RunEnd:
        """Train to the configured epoch count, or until stopped, diverged or failed.

        Never raises for a training problem: the returned (and emitted) `RunEnd` says what
        happened in a sentence a person can act on.
        """
        control = control or Control()
        control.run_began()  # a job's next run (a seed group's) counts its own epochs
        control = self._world.agree(control)  # all processes stop together
        records = self._records
        recorded = records.recording(listener)
        try:
            try:
                end = self._run(recorded, control)
            finally:
                self.release_data()
                records.discard_if_empty()
            recorded(end)
            records.close()
        finally:
            records.release()
        return end

    def checkpoint(self) -> Checkpoint:
        """Everything needed to resume this run or to predict with its model."""
        if self.model is None or self.dataset is None:
            raise RuntimeError("no model yet: run the trainer first")
        state = self.training_state()
        network_input = self.setup.network_input
        return Checkpoint(
            config=self.config, model_state=state["model"],
            optimizer_state=state.get("optimizer"), scheduler_state=state.get("scheduler"),
            scaler_state=state.get("scaler"), epoch=self.epochs_done,
            history=list(self.history), changes=list(self.changes),
            class_names=self.dataset.class_names, mean=network_input.mean,
            std=network_input.std, in_channels=network_input.channels,
            input_size=self.input_size, is_digits=self.dataset.is_digits,
            data_fingerprint=self.setup.fingerprint)

    def prepare(self, listener: Listener, control: Control | None = None,
                keep_features: bool = True) -> torch.device:
        """Check the settings, load the dataset (and the checkpoint resumed from) and build
        the model, optimizer and batch pipeline on the device, and compute a head-only run's
        kept features (engine/training/feature_cache.py; not with keep_features False, where
        nothing will train): what `run` does before its first epoch, without a run folder.
        The LR finder (engine/lr_finder/search.py) tests on what this builds. Raises what
        `run` reports as its end (ConfigError, DatasetError, CheckpointError, StopRequested
        while loading, ...)."""
        config, world = self.config, self._world
        config.validate()
        self.device = device = world.run_device(config.device)
        progress = _stoppable(listener, control or Control())
        self.dataset = setup.load_data(config, world, progress)
        resumed = load_checkpoint(self.resume_from) if self.resume_from else None
        self.setup = built = setup.build(config, self.dataset, device, world, self._compile,
                                         resumed is None, progress, listener, keep_features)
        self.model, self.input_size = built.model, built.input_size
        if resumed is not None:
            self._steps_done = setup.restore(built, config, resumed, self.resume_from,
                                             listener)
            self.history, self.changes = list(resumed.history), list(resumed.changes)
            self.epochs_done = resumed.epoch
        setup.describe(built, config, world, listener)
        # After `restore`: a resumed run's frozen layers are its checkpoint's.
        setup.keep_features(built, config, world, progress, listener)
        folder = self._records.folder
        keeps_epochs = self._records.start_history(self.dataset, built.model.state_dict(),
                                                   config.arch, self.epochs_done, listener)
        listener(dataclasses.replace(
            setup.run_start(built, config, world, self.epochs_done, self._steps_done,
                            self.history, self.changes,
                            folder.path if folder is not None else None),
            keeps_epochs=keeps_epochs))
        # A resumed run's last good state is its checkpoint as it was, with its settings.
        self.saved = resumed
        return device

    def evaluate_test_set(self, control: Control | None = None) -> tuple[float, float, Evaluation]:
        """Test loss, accuracy and each test image's prediction for the model as it is now
        (after `prepare`): what an epoch's end reports, here for a checkpoint as it was saved
        (engine/training/checkpoint_eval.py)."""
        return loop.evaluate(self.setup, self.setup.evaluation_inputs("test"), self.setup.test_y,
                             control or Control(), self._world, epoch=self.epochs_done)

    def release_data(self) -> None:
        """Free the device copies of the dataset (GPU memory) once they are not needed."""
        if self.setup is not None:
            self.setup.release_data()

    @property
    def optimizer(self) -> torch.optim.Optimizer | None:
        return self.setup.optimizer if self.setup is not None else None

    @property
    def batches_per_epoch(self) -> int:
        return self.setup.batches

    def epoch_order(self, epoch: int) -> tuple[torch.Tensor, torch.Generator]:
        """The shuffled order of the training images in `epoch`, and the generator its
        augmentation draws from (engine.training.loop.epoch_order)."""
        return loop.epoch_order(self.config.seed, epoch, len(self.setup.train_y), self.device,
                                self._world)

    def training_batch(self, indices: torch.Tensor,
                       generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        """The training images at `indices`, augmented and ready for the network, and
        their labels: a batch exactly as an epoch draws it."""
        return self.setup.training_batch(indices, generator)

    def step(self, x: torch.Tensor, y: torch.Tensor,
             schedule: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """One optimisation step on a batch: (the loss, the logits), left on the device.
        With `schedule` False the LR schedule is not advanced (the LR finder sets the rate
        itself)."""
        return loop.train_step(self.setup, x, y, schedule=schedule)

    def training_state(self) -> dict:
        """CPU copies of the model's, optimizer's, schedule's and gradient scaler's state
        (BatchNorm's running statistics included), for `load_training_state`."""
        return {name: _cpu_copy(part.state_dict()) for name, part in self.setup.parts().items()}

    def load_training_state(self, state: dict) -> None:
        """Put back what `training_state` copied, exactly."""
        for name, part in self.setup.parts().items():
            if name in state:
                part.load_state_dict(state[name])

    # -- the run -----------------------------------------------------------------------

    def _run(self, listener: Listener, control: Control) -> RunEnd:
        config = self.config
        try:
            config.validate()
            self._records.open(config.to_dict(), listener)
            device = self.prepare(listener, control)
            self._start_epoch = self.epochs_done
            estimate = loop.Estimate(
                self._start_epoch + 1, config.epochs - self._start_epoch,
                len(self.setup.val_y) + len(self.setup.test_y),
                self._world.device_label(device), device.type == "cpu")
            for epoch in range(self.epochs_done + 1, config.epochs + 1):
                self._train_epoch(epoch, listener, control, estimate)  # snapshots `saved`
            return self._end(*outcomes.ending(self._so_far()))
        except EXPECTED_PROBLEMS as error:
            missing = error.missing if isinstance(error, DatasetMissing) else None
            return RunEnd("failed", outcomes.expected_problem(error), self.epochs_done,
                          missing_data=missing)
        except StopRequested:
            return self._end("stopped", outcomes.stopped(self._so_far(), control.stopped_by))
        except Diverged as error:
            return self._end("diverged", outcomes.diverged(self._so_far(), error))
        except SaveFailed as error:
            return self._end("failed", outcomes.save_failed(self._so_far(), error.error))
        except Exception as error:  # noqa: BLE001 - any failure must end the run cleanly
            on = None  # the device, named where it ran out of memory
            if outcomes.is_out_of_memory(error):
                if self.device is not None and self.device.type == "cuda":
                    torch.cuda.empty_cache()
                on = self._world.device_label(self.device)
            message = outcomes.failure_message(error, self.config, listener, on=on,
                                               peers=self._world)
            return self._end("failed", outcomes.failed(self._so_far(), message))

    def _train_epoch(self, epoch: int, listener: Listener, control: Control,
                     estimate: loop.Estimate) -> None:
        """One epoch, its evaluation, and its record: the run folder's files are written at
        every epoch's end, so a run killed at any point loses at most the epoch it was in."""
        order, augment = self.epoch_order(epoch)
        if self._next_batch_size is not None:
            self.config = midrun.change_batch_size(
                self._next_batch_size, self.config, self.setup, self._world, epoch,
                self._steps_done, self.changes, listener)
            self._next_batch_size = None
        tally = loop.train_one_epoch(
            self.setup, epoch, order, augment, self.config.batch_size, self._steps_done,
            self._world, control, listener, estimate, self._change_settings, self._compile)
        record = loop.end_of_epoch(self.setup, epoch, self.config.epochs, tally, self._world,
                                   control)
        self._steps_done = record.steps
        self.history.append(record.as_record())
        self.epochs_done = epoch
        self.saved = self.checkpoint()
        listener(record)
        listener(LogLine(
            f"Epoch {epoch}/{self.config.epochs}: train loss {record.train_loss:.4f}, "
            f"acc {record.train_acc:.2%} | test loss {record.test_loss:.4f}, acc "
            f"{record.test_acc:.2%} | {tally.seen / max(record.seconds, 1e-9):,.0f} examples/s"))
        self._records.save_epoch(self.config.to_dict(), self.saved, self.history, listener,
                                 record.evaluation)
        control.epoch_ended(epoch)

    def _change_settings(self, requested: dict, epoch: int, batch: int, step: int,
                         listener: Listener) -> None:
        """Apply what a person changed while paused, from this batch on (a batch size from
        the next epoch): engine/training/midrun.py."""
        self.config, asked = midrun.apply_changes(requested, self.config, self.setup, epoch,
                                                  batch, step, self.changes, listener)
        if asked is not None:
            self._next_batch_size = asked

    def _so_far(self) -> RunSoFar:
        """What the run did, for the message that ends it (engine/training/outcomes.py)."""
        records = self._records
        return RunSoFar(
            config=self.config, dataset=self.dataset, history=self.history,
            changes=self.changes, start_epoch=self._start_epoch, epochs_done=self.epochs_done,
            kept=self.saved is not None, resume_from=self.resume_from, run_dir=self.run_dir,
            in_folder=records.folder is not None, saved_path=records.saved_path,
            saved_epoch=records.saved_epoch)

    def _end(self, reason: str, message: str) -> RunEnd:
        """Finish with the last epoch-boundary state (see `saved`) in the model.

        The run folder already holds that state: it is saved at every epoch's end.
        """
        if self.saved is not None and reason in ("stopped", "diverged", "failed"):
            self.model.load_state_dict(self.saved.model_state)
        path = self._records.checkpoint_holding(self.epochs_done)
        if path is None and self.saved is not None and self.epochs_done == self._start_epoch:
            path = self.resume_from  # nothing new: the model is the one resumed from
        return RunEnd(reason, message, self.epochs_done, str(path) if path is not None else None)


def _stoppable(listener: Listener, control: Control) -> Listener:
    """A progress callback that also lets a stop interrupt a long download or load."""

    def report(event: Event) -> None:
        listener(event)
        if control.stop_requested:
            raise StopRequested

    return report


def _cpu_copy(state):
    """A deep copy of a (nested) state dict with every tensor copied to the CPU.

    `state_dict()` returns the live tensors, so a snapshot must copy them.
    """
    if isinstance(state, torch.Tensor):
        return state.detach().to("cpu", copy=True)
    if isinstance(state, dict):
        return {k: _cpu_copy(v) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(_cpu_copy(v) for v in state)
    return state
