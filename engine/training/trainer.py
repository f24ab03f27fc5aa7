"""The training loop: `Trainer(config).run(listener, control)`.

The loop reports plain events (engine.events) to a listener and obeys a `Control` checked
before every batch. It never synchronises the device per batch just to report: per-batch
losses and correct counts stay on the device and are read back in one go a few times a
second (`FLUSH_SECONDS`), then handed to the listener as ordinary `BatchEnd` events.
"""

from __future__ import annotations

import errno
import math
import time
import traceback
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
from torch import nn

from engine import analysis
from engine.analysis import Evaluation
from engine.catalog import arch_title, dataset_title, image_size_to_load, is_pretrained
from engine.config import ConfigError, TrainConfig
from engine.control import Control, StopRequested
from engine.data import load_dataset
from engine.data.fingerprint import (
    class_change,
    fingerprint,
    images_change,
    moved_classes,
)
from engine.data.pipeline import BatchPipeline
from engine.data.types import DatasetError, DatasetMissing, ImageDataset
from engine.events import (
    BatchEnd,
    CheckpointSaved,
    EpochEnd,
    Event,
    Listener,
    LogLine,
    RunEnd,
    RunEstimate,
    RunStart,
    SettingsChanged,
)
from engine.models import pretrained
from engine.models.architectures import build_model, count_parameters, input_size_for
from engine.records import run_folder, runs
from engine.records.checkpoint import (
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    load_model_weights,
    save_checkpoint,
)
from engine.records.run_folder import RunFolder, RunFolderError
from engine.records.tensorboard_log import TensorBoardLog, tensorboard_installed
from engine.runtime import acceleration
from engine.runtime.cpu import ThreadTuner, cpu_count
from engine.runtime.devices import available_devices, resolve_device
from engine.runtime.memory import byte_text
from engine.text import plural
from engine.training.changes import change_label, changeable_fields
from engine.training.distributed import Processes, threads_per_process
from engine.training.optim import build_optimizer, build_scheduler, change_lr, swap_optimizer

FLUSH_SECONDS = 0.1  # how often per-batch numbers are read back from the device
# The run's duration is estimated once these many batches and seconds of training are done.
ESTIMATE_AFTER_BATCHES = 5
ESTIMATE_AFTER_SECONDS = 2.0
EVAL_BATCH = 1024  # images of 32x32 per evaluation batch; fewer of larger images


class _SaveFailed(Exception):
    """The run folder could not be written at an epoch's end."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


class _Diverged(Exception):
    def __init__(self, epoch: int, batch: int, loss: float) -> None:
        super().__init__(f"loss {loss} at epoch {epoch}, batch {batch}")
        self.epoch, self.batch, self.loss = epoch, batch, loss


class _EpochTally:
    """One epoch's batches: their losses and correct counts stay on the device until `flush`
    reads them all back at once and reports them as `BatchEnd` events."""

    def __init__(self, epoch: int, batches: int, step0: int, started: float) -> None:
        self.epoch, self.batches, self.step0 = epoch, batches, step0
        self.started = self.last_flush = started
        self.paused_seconds = 0.0
        self.seen = self.correct = 0
        self.loss_sum = 0.0
        self._losses: list[torch.Tensor] = []
        self._corrects: list[torch.Tensor] = []
        self._meta: list[tuple[int, int, float]] = []  # (batch, size, lr)

    def active_seconds(self, now: float) -> float:
        return max(now - self.started - self.paused_seconds, 1e-9)

    def add(self, batch: int, loss: torch.Tensor, logits: torch.Tensor, y: torch.Tensor,
            lr: float) -> None:
        self._losses.append(loss.detach())
        self._corrects.append((logits.argmax(1) == y).sum())
        self._meta.append((batch, len(y), lr))

    @property
    def pending(self) -> int:
        """Batches added since the last flush."""
        return len(self._meta)

    def flush(self, listener: Listener, processes: Processes | None = None) -> None:
        """The one device read-back for all batches since the last flush; under torchrun,
        of the whole batches, all processes' shares summed (engine.training.distributed)."""
        if not self._meta:
            return
        now = time.perf_counter()
        rate_time = self.active_seconds(now)
        sizes = [size for _, size, _ in self._meta]
        if processes is None:
            losses = torch.stack(self._losses).float().tolist()
            corrects = torch.stack(self._corrects).tolist()
        else:
            losses, corrects, sizes = processes.combine(
                torch.stack(self._losses), torch.stack(self._corrects), sizes,
                rate_time / self._meta[-1][0])
        for (b, _, b_lr), size, b_loss, b_correct in zip(self._meta, sizes, losses, corrects,
                                                          strict=True):
            if not math.isfinite(b_loss):
                raise _Diverged(self.epoch, b, b_loss)
            self.seen += size
            self.correct += b_correct
            self.loss_sum += b_loss * size
            listener(BatchEnd(epoch=self.epoch, batch=b, batches_per_epoch=self.batches,
                              step=self.step0 + b, loss=b_loss,
                              accuracy=self.correct / self.seen,
                              examples_per_sec=self.seen / rate_time, lr=b_lr))
        self._losses.clear()
        self._corrects.clear()
        self._meta.clear()
        self.last_flush = now


def _is_out_of_memory(error: BaseException) -> bool:
    return isinstance(error, (torch.OutOfMemoryError, MemoryError)) or (
        isinstance(error, RuntimeError) and "out of memory" in str(error).lower()
    )


def _is_batch_too_small_for_batch_norm(error: BaseException) -> bool:
    return isinstance(error, ValueError) and "more than 1 value per channel" in str(error)


def _stoppable(listener: Listener, control: Control) -> Listener:
    """A progress callback that also lets a stop interrupt a long download or load."""

    def report(event: Event) -> None:
        listener(event)
        if control.stop_requested:
            raise StopRequested

    return report


def _sentence(text: str) -> str:
    """text with its first letter capitalised (str.capitalize would lower a path's)."""
    return text[:1].upper() + text[1:]


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


class Trainer:
    """Trains one model on one dataset as a `TrainConfig` describes.

    After `run`, `model` holds the last good weights, `history` one record per finished
    epoch, and `checkpoint()` everything needed to resume or to predict.

    With a `run_dir`, the run claims that folder before it loads anything (see
    engine.records.run_folder): a folder holding another run, or one that cannot be written, ends
    the run at once; a run that saved nothing leaves no folder behind. While it runs, it
    writes its record there as it goes (engine.records.runs), which the window lists and follows.
    """

    def __init__(self, config: TrainConfig, run_dir: str | Path | None = None,
                 resume_from: str | Path | None = None,
                 tensorboard: bool | None = None, processes: Processes | None = None,
                 compile_model: bool = False) -> None:
        """tensorboard: also write TensorBoard event files to the run folder (None: when
        the tensorboard package is installed). processes: this process's place in a
        torchrun run (engine.training.distributed), None for an ordinary one-process run.
        compile_model: train a torch.compile'd model (its compile time reported apart)."""
        self.config = config
        self._processes = processes
        self._compile = acceleration.CompileClock() if compile_model else None
        self.tensorboard = tensorboard_installed() if tensorboard is None else tensorboard
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.resume_from = resume_from
        self.model: nn.Module | None = None
        # The state at the last epoch boundary, with the settings that produced it: what the
        # run folder's checkpoint holds, and what the model falls back to when a run stops,
        # diverges or fails mid-epoch, so the model, the file and the history always agree
        # and a resume continues exactly. None until an epoch is done (or a run resumed).
        self.saved: Checkpoint | None = None
        self._folder: RunFolder | None = None
        self._recorder: runs.RunRecorder | None = None
        self._tensorboard: TensorBoardLog | None = None
        self._saved_path: Path | None = None  # the run folder's checkpoint, once written
        self._saved_epoch = 0  # the epoch that checkpoint holds
        self._best_saved_epoch: int | None = None  # the epoch best.pt holds, written this run
        self._metrics_started = False
        self._start_epoch = 0
        self.dataset: ImageDataset | None = None
        self._fingerprint: dict | None = None  # engine.data.fingerprint of the dataset
        self.history: list[dict] = []
        # SettingsChanged.as_record() of every change made during the run (and the runs it
        # continues); `config` holds the settings as changed.
        self.changes: list[dict] = []
        self.epochs_done = 0
        self._steps_done = 0  # optimisation steps of the epochs done
        self._next_batch_size: int | None = None  # asked for; applied when the next epoch starts
        self.input_size = 0
        self.device: torch.device | None = None  # resolved by `prepare`
        self.release_data()  # no dataset on the device yet
        self._input: pretrained.NetworkInput | None = None  # channels, mean, std fed
        self._progress: Listener | None = None  # reports loading; a stop interrupts it
        self._optimizer: torch.optim.Optimizer | None = None
        self._scheduler = None
        self._scaler: torch.amp.GradScaler | None = None
        self._loss_weight = 1.0  # see _step

    # -- public ------------------------------------------------------------------------

    def run(self, listener: Listener, control: Control | None = None) -> RunEnd:
        """Train to the configured epoch count, or until stopped, diverged or failed.

        Never raises for a training problem: the returned (and emitted) `RunEnd` says what
        happened in a sentence a person can act on.
        """
        control = control or Control()
        if self._processes is not None:  # every process stops at the same batch
            control = self._processes.agree(control)
        recorded = self._recording(listener)
        try:
            try:
                end = self._run(recorded, control)
            finally:
                self.release_data()
                if (self._folder is not None and self._saved_path is None
                        and self._recorder is not None and self._recorder.fresh):
                    for record in (self._recorder, self._tensorboard):
                        if record is not None:
                            record.discard()  # a record of nothing is no record
                    self._recorder = self._tensorboard = None
            recorded(end)
            for record in (self._recorder, self._tensorboard):
                if record is not None:
                    record.close()
        finally:
            # The claim ends once the record is complete: the lock goes, and a folder this
            # run made and left empty (nothing saved) with it.
            if self._folder is not None:
                run_folder.release(self._folder)
            elif self.run_dir is not None:
                run_folder.unreserve(self.run_dir)
        return end

    def _recording(self, listener: Listener) -> Listener:
        """listener, with each event also written to the run's record once it has one.

        A record that cannot be written (a full disk) is said once and given up; the run
        goes on, and its checkpoint save says for itself whether it worked.
        """

        def record(event: Event) -> None:
            for name in ("_recorder", "_tensorboard"):
                writer = getattr(self, name)
                if writer is None:
                    continue
                try:
                    writer(event)
                except OSError as error:
                    writer.close()
                    setattr(self, name, None)
                    what = "run record" if name == "_recorder" else "TensorBoard log"
                    listener(LogLine(f"The {what} in {self.run_dir} could not be written "
                                     f"({error.strerror or error}); training goes on.",
                                     "warning"))
            listener(event)

        return record

    def checkpoint(self) -> Checkpoint:
        """Everything needed to resume this run or to predict with its model."""
        if self.model is None or self.dataset is None:
            raise RuntimeError("no model yet: run the trainer first")
        return Checkpoint(
            config=self.config,
            model_state=_cpu_copy(self.model.state_dict()),
            optimizer_state=_cpu_copy(self._optimizer.state_dict()) if self._optimizer else None,
            scheduler_state=_cpu_copy(self._scheduler.state_dict()) if self._scheduler else None,
            scaler_state=_cpu_copy(self._scaler.state_dict()) if self._scaler else None,
            epoch=self.epochs_done,
            history=list(self.history),
            changes=list(self.changes),
            class_names=self.dataset.class_names,
            mean=self._input.mean,
            std=self._input.std,
            in_channels=self._input.channels,
            input_size=self.input_size,
            is_digits=self.dataset.is_digits,
            data_fingerprint=self._fingerprint,
        )

    # -- the run -----------------------------------------------------------------------

    def _run(self, listener: Listener, control: Control) -> RunEnd:
        config = self.config
        try:
            config.validate()
            if self.run_dir is not None:
                self._folder = run_folder.claim(self.run_dir, self.resume_from)
                if self._folder.note:
                    listener(LogLine(self._folder.note, "warning"))
                self._recorder = self._start_record()
                self._tensorboard = self._start_tensorboard(listener)
            device = self.prepare(listener, control)
            self._start_epoch = self.epochs_done
            self._estimated = False
            for epoch in range(self.epochs_done + 1, config.epochs + 1):
                self._train_epoch(epoch, device, listener, control)  # snapshots `saved`
            if self.epochs_done > self._start_epoch and self._verdict() == "nothing":
                return self._end("learned_nothing", self._learned_nothing_message(), listener)
            return self._end("finished", self._finished_message(), listener)
        except ConfigError as error:
            return RunEnd("failed", f"Invalid setting: {error}", 0)
        except DatasetMissing as error:
            return RunEnd("failed", str(error), self.epochs_done, missing_data=error.missing)
        except (DatasetError, CheckpointError, RunFolderError) as error:
            return RunEnd("failed", str(error), self.epochs_done)
        except StopRequested:
            if self.epochs_done == self._start_epoch:
                return self._end("stopped", self._stopped_early_message(), listener)
            return self._end("stopped", f"Stopped by {control.stopped_by} after "
                             f"{self.epochs_done} of "
                             f"{plural(config.epochs, 'epoch')}; {self._outcome()}", listener)
        except _Diverged as error:
            return self._end("diverged", (
                f"Training diverged at epoch {error.epoch}, batch {error.batch}: the loss became "
                f"{error.loss}. Lower the learning rate (try {config.lr / 10:g}) and train "
                f"again. {_sentence(self._outcome())}"), listener)
        except _SaveFailed as error:
            return self._end("failed", self._save_failed_message(error.error), listener)
        except Exception as error:  # noqa: BLE001 - any failure must end the run cleanly
            return self._failed(error, self.device, listener)

    def prepare(self, listener: Listener, control: Control | None = None) -> torch.device:
        """Check the settings, load the dataset (and the checkpoint resumed from) and build
        the model, optimizer and batch pipeline on the device: what `run` does before its
        first epoch, without a run folder. The LR finder (engine/lr_finder/search.py) tests on
        what this builds. Raises what `run` reports as its end (ConfigError, DatasetError,
        CheckpointError, StopRequested while loading, ...)."""
        config = self.config
        config.validate()
        self.device = device = (self._processes.device if self._processes is not None
                                else resolve_device(config.device))
        self._progress = _stoppable(listener, control or Control())
        with self._main_process_first():
            self.dataset = load_dataset(config.dataset, config.source_folder(),
                                        progress=self._progress,
                                        image_size=image_size_to_load(config.arch,
                                                                      config.image_size))
        resumed = load_checkpoint(self.resume_from) if self.resume_from else None
        self._prepare(device, resumed, listener)
        # A resumed run's last good state is its checkpoint as it was, with its settings.
        self.saved = resumed
        return device

    def evaluate_test_set(self, control: Control | None = None) -> tuple[float, float, Evaluation]:
        """Test loss, accuracy and each test image's prediction for the model as it is now
        (after `prepare`): what an epoch's end reports, here for a checkpoint as it was saved
        (engine/training/checkpoint_eval.py)."""
        return self._evaluate(self._test_x, self._test_y, control or Control(),
                              epoch=self.epochs_done)

    def release_data(self) -> None:
        """Free the device copies of the dataset (GPU memory) once they are not needed."""
        self._train_x = self._train_y = self._val_x = self._val_y = None
        self._test_x = self._test_y = None

    @property
    def optimizer(self) -> torch.optim.Optimizer | None:
        return self._optimizer

    @property
    def training_examples(self) -> int:
        """How many images the prepared run trains on (the validation split held out)."""
        return 0 if self._train_y is None else len(self._train_y)

    @property
    def batches_per_epoch(self) -> int:
        return self._batches

    def epoch_order(self, epoch: int) -> tuple[torch.Tensor, torch.Generator]:
        """The shuffled order of the training images in `epoch`, and the generator its
        augmentation draws from; seeds the global generator (dropout) for the epoch too.

        Shuffling, augmentation and dropout depend only on (seed, epoch): a resumed run
        draws exactly the numbers the uninterrupted run would have drawn.
        """
        device = self.device
        seed = self.config.seed * 100_003 + epoch
        generator = torch.Generator().manual_seed(seed)  # shuffling: on the CPU, repeatable
        # Augmentation draws on the training device, so a GPU never waits for a copy of
        # random numbers from the host per batch.
        augment_generator = (generator if device.type == "cpu"
                             else torch.Generator(device=device).manual_seed(seed))
        torch.manual_seed(seed)
        if self._processes is not None:  # each process draws its own (engine.training.distributed)
            own = self._processes.own_seed(seed)
            augment_generator = torch.Generator(device=device).manual_seed(own)
            torch.manual_seed(own)
        order = torch.randperm(len(self._train_y), generator=generator).to(device)
        return order, augment_generator

    def training_batch(self, indices: torch.Tensor,
                       generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        """The training images at `indices`, augmented and ready for the network, and
        their labels: a batch exactly as an epoch draws it."""
        return (self._pipeline(self._train_x[indices], generator, train=True),
                self._train_y[indices])

    def training_state(self) -> dict:
        """CPU copies of the model's, optimizer's, schedule's and gradient scaler's state
        (BatchNorm's running statistics included), for `load_training_state`."""
        parts = {"model": self.model, "optimizer": self._optimizer,
                 "scheduler": self._scheduler, "scaler": self._scaler}
        return {name: _cpu_copy(part.state_dict()) for name, part in parts.items()
                if part is not None}

    def load_training_state(self, state: dict) -> None:
        """Put back what `training_state` copied, exactly."""
        parts = {"model": self.model, "optimizer": self._optimizer,
                 "scheduler": self._scheduler, "scaler": self._scaler}
        for name, part in parts.items():
            if part is not None and name in state:
                part.load_state_dict(state[name])

    def _main_process_first(self):
        """Under torchrun, the first process on each machine loads (downloads) the dataset
        before the others."""
        return self._processes.main_first() if self._processes is not None else nullcontext()

    def _start_record(self) -> runs.RunRecorder | None:
        try:
            return runs.RunRecorder(self._folder.path, self.config.to_dict())
        except OSError as error:
            raise RunFolderError(f"The run folder {self._folder.path} cannot be written "
                                 f"({error.strerror or error}). Choose a folder you can write "
                                 "to; nothing was trained.") from error

    def _start_tensorboard(self, listener: Listener) -> TensorBoardLog | None:
        if not self.tensorboard:
            return None
        if not tensorboard_installed():
            listener(LogLine("TensorBoard event files are not written: the tensorboard "
                             "package is not installed (pip install \"traindesk[tensorboard]\""
                             ").", "warning"))
            return None
        try:
            return TensorBoardLog(self._folder.path, self.config.to_dict())
        except (OSError, ImportError) as error:
            listener(LogLine(f"TensorBoard event files are not written: {error}", "warning"))
            return None

    def _failed(self, error: Exception, device: torch.device | None,
                listener: Listener) -> RunEnd:
        if _is_out_of_memory(error):
            if device is not None and device.type == "cuda":
                torch.cuda.empty_cache()
            message = (f"Out of memory on {self._device_label(device)} with batch size "
                       f"{self.config.batch_size}. Try a smaller batch size (e.g. "
                       f"{max(1, self.config.batch_size // 2)}) or a smaller model.")
        elif _is_batch_too_small_for_batch_norm(error):
            message = (f"Batch size {self.config.batch_size} is too small for "
                       f"{arch_title(self.config.arch)}: its batch normalisation needs more "
                       "than one value per channel in each batch. Use a batch size of 2 or "
                       "more (or larger images).")
        elif self._processes is not None and self._processes.lost_peer(error):
            message = self._processes.lost_peer_message(error)
        else:
            listener(LogLine("".join(traceback.format_exception(error)).rstrip(), "error"))
            message = f"Training failed: {type(error).__name__}: {error}"
        return self._end("failed", f"{message} {_sentence(self._outcome())}", listener)

    def _prepare(self, device: torch.device, resumed: Checkpoint | None,
                 listener: Listener) -> None:
        config, data = self.config, self.dataset
        self._fingerprint = fingerprint(data)
        torch.manual_seed(config.seed)  # same seed, same initial weights
        try:
            self.input_size = input_size_for(config.arch, data.image_size, config.image_size)
            self._input = pretrained.network_input(config.arch, data)
            model = build_model(config.arch, self._input.channels, data.num_classes,
                                self.input_size)
        except ValueError as error:  # images or classes the network cannot take: no bug
            raise DatasetError(
                f"{dataset_title(config.dataset)} ({data.num_classes} classes of "
                f"{data.channels}x{data.image_size}x{data.image_size} images) cannot be trained "
                f"as {arch_title(config.arch)}: {error}"
            ) from error
        if is_pretrained(config.arch):
            weights = (pretrained.load_imagenet_weights(model, config.arch, self._progress)
                       if resumed is None else None)
            pretrained.set_fine_tuning(model, config.arch, config.fine_tune)
            listener(LogLine(pretrained.describe(config.arch, config.fine_tune, weights)))
        self.model = model.to(device)
        self._net = self._training_network(self.model)
        self._tuner = self._choose_threads(device)
        self._use_amp = config.amp and device.type == "cuda"
        self._amp_dtype = acceleration.amp_dtype(device)
        if config.amp and not self._use_amp:
            listener(LogLine("Mixed precision needs a CUDA GPU: training in float32.", "warning"))

        self._train_x, self._train_y, self._val_x, self._val_y = self._split(data, device)
        self._test_x = data.test_images.to(device)
        self._test_y = data.test_labels.to(device)
        self._pipeline = BatchPipeline(data, self.input_size, device, augment=config.augment,
                                       network_input=self._input)
        if self._processes is not None:
            self._processes.check_batch_size(config.batch_size)
        self._batches = self._batch_count(len(self._train_y))
        if self._batches == 0:
            raise DatasetError(
                f"Only {plural(len(self._train_y), 'training image')} left after the "
                "validation split: at least 2 are needed. Lower the validation split or add "
                "images.")

        self._optimizer = build_optimizer(self.model, config)
        self._scheduler = build_scheduler(self._optimizer, config, self._batches)
        self._scaler = (torch.amp.GradScaler("cuda")
                        if self._use_amp and acceleration.needs_scaler(self._amp_dtype) else None)
        self._loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
        if resumed is not None:
            self._restore(resumed, listener)

        for note in data.notes:
            listener(LogLine(note, "warning"))
        listener(LogLine(
            f"{dataset_title(config.dataset)}: {len(self._train_y):,} training, "
            f"{len(self._val_y):,} validation, {plural(len(self._test_y), 'test image')} of "
            f"{data.channels}x{data.image_size}x{data.image_size}, "
            f"{plural(data.num_classes, 'class', 'classes')}, "
            f"{byte_text(data.train_images.nbytes + data.test_images.nbytes)} in memory."))
        listener(LogLine(f"{arch_title(config.arch)}: "
                         f"{plural(count_parameters(self.model), 'parameter')}, input "
                         f"{self._input.channels}x{self.input_size}x{self.input_size}, on "
                         f"{self._device_label(device)}."))
        if self._processes is not None:
            threads = (f", on {plural(torch.get_num_threads(), 'CPU thread')}"
                       if device.type == "cpu" else "")
            listener(LogLine(f"Distributed over {self._processes.description()}: each takes "
                             f"its share of every batch of {config.batch_size}{threads}."))
        if self._use_amp:
            listener(LogLine(f"Mixed precision in {str(self._amp_dtype).removeprefix('torch.')}"
                             + (" with loss scaling." if self._scaler is not None else ".")))
        listener(RunStart(
            arch=config.arch, dataset=config.dataset, device=self._device_label(device),
            epochs=config.epochs, start_epoch=self.epochs_done,
            batches_per_epoch=self._batches, train_size=len(self._train_y),
            val_size=len(self._val_y), test_size=len(self._test_y),
            num_params=count_parameters(self.model), class_names=data.class_names,
            input_shape=(self._input.channels, self.input_size, self.input_size),
            history=tuple(self.history), test_images=data.test_images.numpy(),
            test_labels=data.test_labels.numpy(), steps_done=self._steps_done,
            changes=tuple(self.changes),
            world_size=self._processes.world_size if self._processes is not None else 1,
            run_dir=str(self._folder.path) if self._folder is not None else None))

    def _training_network(self, model: nn.Module) -> nn.Module:
        """What the training steps call: model itself, or compiled (--compile), or wrapped
        in DistributedDataParallel under torchrun (all share model's parameters)."""
        net = acceleration.compile_model(model) if self._compile is not None else model
        return self._processes.wrap(net) if self._processes is not None else net

    def _choose_threads(self, device: torch.device) -> ThreadTuner | None:
        """Fix the thread count the person chose, or let a tuner follow the CPU's load.

        Set on the thread that trains: each thread keeps its own OpenMP pool (gui/worker.py).
        """
        if self.config.threads:
            torch.set_num_threads(self.config.threads)
            return None
        if self._processes is not None:  # engine.training.distributed says why there is no tuner
            torch.set_num_threads(threads_per_process(self._processes.local_world_size))
            return None
        if device.type != "cpu":  # the CPU only feeds the accelerator
            torch.set_num_threads(cpu_count())
            return None
        return ThreadTuner(cpu_count(), torch.set_num_threads)

    def _split(self, data: ImageDataset, device: torch.device) -> tuple[torch.Tensor, ...]:
        """Hold out a fixed, seeded validation fraction of the training set."""
        n = len(data.train_labels)
        n_val = int(round(n * self.config.val_split))
        order = torch.randperm(n, generator=torch.Generator().manual_seed(self.config.seed))
        val, train = order[:n_val], order[n_val:]
        if n_val == 0:
            train = torch.arange(n)
        return (data.train_images[train].to(device), data.train_labels[train].to(device),
                data.train_images[val].to(device), data.train_labels[val].to(device))

    def _batch_count(self, n: int) -> int:
        if self._processes is not None:
            return self._processes.batch_count(n, self.config.batch_size)
        full, rest = divmod(n, self.config.batch_size)
        # A last batch of one breaks BatchNorm in training mode, so it is dropped.
        return full + (1 if rest > 1 else 0)

    def _restore(self, resumed: Checkpoint, listener: Listener) -> None:
        config = self.config
        if resumed.config.arch != config.arch or resumed.config.dataset != config.dataset:
            raise CheckpointError(
                f"This checkpoint was trained as {arch_title(resumed.config.arch)} on "
                f"{dataset_title(resumed.config.dataset)}, but the settings say "
                f"{arch_title(config.arch)} on {dataset_title(config.dataset)}. "
                "Resume with the checkpoint's architecture and dataset.")
        self._check_same_data(resumed, listener)
        load_model_weights(self.model, resumed.model_state, resumed.config.arch)
        # The settings chosen now win over those stored with the optimizer state (lr,
        # momentum/betas, weight decay, Nesterov); only the running averages carry over.
        chosen = [{k: v for k, v in group.items() if k != "params"}
                  for group in self._optimizer.param_groups]
        if resumed.optimizer_state is not None and resumed.config.optimizer == config.optimizer:
            self._optimizer.load_state_dict(resumed.optimizer_state)
        elif resumed.optimizer_state is not None:
            listener(LogLine(f"The optimizer changed from {resumed.config.optimizer} to "
                             f"{config.optimizer}: its state starts afresh.", "warning"))
        schedule_keys = ("schedule", "epochs", "batch_size", "lr")
        same_schedule = all(getattr(resumed.config, k) == getattr(config, k)
                            for k in schedule_keys)
        if same_schedule and self._scheduler is not None and resumed.scheduler_state:
            self._scheduler.load_state_dict(resumed.scheduler_state)
        # A schedule that carried over owns the rates it sets (one-cycle also cycles momentum).
        owned = {"lr", "initial_lr", "max_lr", "min_lr", "momentum", "betas"}
        for group, values in zip(self._optimizer.param_groups, chosen, strict=True):
            group.update({k: v for k, v in values.items()
                          if not (same_schedule and self._scheduler is not None and k in owned)})
        remaining = config.epochs - resumed.epoch
        if not same_schedule and config.schedule != "none" and remaining > 0:
            self._scheduler = build_scheduler(self._optimizer, config.replace(epochs=remaining),
                                              self._batches)
            listener(LogLine("The schedule, epoch count, batch size or learning rate changed: "
                             f"the LR schedule starts afresh over the remaining "
                             f"{plural(remaining, 'epoch')}.", "warning"))
        if self._scaler is not None and resumed.scaler_state:
            self._scaler.load_state_dict(resumed.scaler_state)
        self.history = list(resumed.history)
        self.changes = list(resumed.changes)
        self.epochs_done = resumed.epoch
        # Older checkpoints do not count steps; their batch size never changed mid-run.
        self._steps_done = ((self.history[-1].get("steps") if self.history else 0)
                            or resumed.epoch * self._batches)
        listener(LogLine(f"Resumed after epoch {resumed.epoch} from {self.resume_from}."))
        if resumed.assumed:
            listener(LogLine(resumed.assumed, "warning"))

    def _check_same_data(self, resumed: Checkpoint, listener: Listener) -> None:
        """Refuse a resume whose classes changed (its outputs would mean other classes);
        warn when only the images changed (engine.data.fingerprint)."""
        if resumed.assumed:
            return  # bare weights: their classes were assumed, and are said to be
        changed = class_change(resumed.class_names, self.dataset.class_names)
        if changed is None and resumed.data_fingerprint is not None:
            changed = moved_classes(resumed.data_fingerprint, self._fingerprint)
        if changed is not None:
            raise CheckpointError(
                f"Cannot continue {self.resume_from}: its classes changed since it was "
                f"saved: {changed}. The model's outputs stand for its own classes "
                f"({', '.join(resumed.class_names)}), so continuing would train it on the "
                "wrong labels. Put the class folders back as they were, or start a new run "
                "instead of continuing this one.")
        if resumed.data_fingerprint is None:
            listener(LogLine(f"{self.resume_from} was saved by an older TrainDesk that kept no "
                             "fingerprint of its images: whether they changed since cannot "
                             "be checked (its classes are the same).", "warning"))
            return
        changed = images_change(resumed.data_fingerprint, self._fingerprint)
        if changed is not None:
            listener(LogLine(f"Since {self.resume_from} was saved, {changed}: training goes "
                             "on with the images as they are now, and the earlier epochs' "
                             "accuracies were measured on the images as they were.",
                             "warning"))

    # -- one epoch ---------------------------------------------------------------------

    def _train_epoch(self, epoch: int, device: torch.device, listener: Listener,
                     control: Control) -> None:
        config, model = self.config, self.model
        order, augment_generator = self.epoch_order(epoch)
        if self._next_batch_size is not None:
            self._change_batch_size(epoch, listener)
            config = self.config
        bs = config.batch_size
        step0 = self._steps_done

        model.train()
        if self._tuner is not None:
            self._tuner.restart_window()  # the evaluation since the last batch is not training
        tally = _EpochTally(epoch, self._batches, step0, time.perf_counter())
        for batch in range(1, self._batches + 1):
            if control.paused:
                # What ran before the pause is shown now, not after the resume.
                tally.flush(listener, self._processes)
                wait_from = time.perf_counter()
                listener(LogLine(f"Paused at epoch {epoch}, batch {batch}."))
                if control.wait_while_paused():
                    listener(LogLine("Resumed."))
                tally.paused_seconds += time.perf_counter() - wait_from
                if self._tuner is not None:
                    self._tuner.restart_window()
            if control.stop_requested:
                raise StopRequested
            requested = control.take_changes()
            if requested:
                self._change_settings(requested, epoch, batch, step0 + batch, listener)
            idx = order[(batch - 1) * bs: batch * bs]
            if self._processes is not None:
                whole, idx = len(idx), self._processes.share(idx)
                self._loss_weight = self._processes.loss_weight(len(idx), whole)
            x, y = self.training_batch(idx, augment_generator)
            lr = self._optimizer.param_groups[0]["lr"]
            if self._compile is not None and self._compile.pending:
                self._compile.begin()
                loss, logits = self._step(x, y)
                tally.paused_seconds += self._compiled(device, listener)
            else:
                loss, logits = self._step(x, y)
            if self._tuner is not None:
                change = self._tuner.batch_done(len(y))
                if change:
                    listener(LogLine(change))
            tally.add(batch, loss, logits, y, lr)
            if self._flush_due(tally, batch):
                tally.flush(listener, self._processes)
                if self._estimate_due(epoch, batch, tally):
                    listener(self._estimate(batch, tally, device))

        seen, correct_total, loss_total = tally.seen, tally.correct, tally.loss_sum
        train_seconds = tally.active_seconds(time.perf_counter())
        if self._processes is not None:
            self._processes.sync_buffers(self.model)
        val_loss, val_acc, _ = (self._evaluate(self._val_x, self._val_y, control)
                                if len(self._val_y) else (None, None, None))
        test_loss, test_acc, evaluation = self._evaluate(self._test_x, self._test_y, control,
                                                         epoch=epoch)
        record = EpochEnd(
            epoch=epoch, epochs=config.epochs, train_loss=loss_total / seen,
            train_acc=correct_total / seen, val_loss=val_loss, val_acc=val_acc,
            test_loss=test_loss, test_acc=test_acc,
            lr=self._optimizer.param_groups[0]["lr"], seconds=train_seconds,
            evaluation=evaluation, steps=step0 + self._batches)
        self._steps_done = step0 + self._batches
        self.history.append(record.as_record())
        self.epochs_done = epoch
        self.saved = self.checkpoint()
        listener(record)
        listener(LogLine(
            f"Epoch {epoch}/{config.epochs}: train loss {record.train_loss:.4f}, "
            f"acc {record.train_acc:.2%} | test loss {test_loss:.4f}, acc {test_acc:.2%} | "
            f"{seen / max(train_seconds, 1e-9):,.0f} examples/s"))
        self._save_progress(listener)

    # -- settings changed mid-run (engine/training/changes.py) ------------------------------------

    def _change_settings(self, requested: dict, epoch: int, batch: int, step: int,
                         listener: Listener) -> None:
        """Apply what a person changed while paused, from this batch on (a batch size from
        the next epoch), and record it once as a `SettingsChanged`."""
        old = self.config
        allowed = changeable_fields(old)
        wanted = {k: v for k, v in requested.items() if getattr(old, k, v) != v}
        for name in [k for k in wanted if k not in allowed]:
            listener(LogLine(f"{_sentence(name.replace('_', ' '))} cannot change during a run "
                             "with an LR schedule: it stays "
                             f"{getattr(old, name)}.", "warning"))
            del wanted[name]
        problems = old.replace(**wanted).problems()
        for name in [k for k in wanted if k in problems]:
            listener(LogLine(f"Not changed: {problems[name]}", "warning"))
            del wanted[name]
        if "batch_size" in wanted:
            self._ask_batch_size(wanted.pop("batch_size"), epoch, listener)
        if not wanted:
            return
        new = old.replace(**wanted)
        notes = []
        if new.lr != old.lr:
            change_lr(self._optimizer, self._scheduler, old.lr, new.lr)
            if self._scheduler is not None:
                notes.append(f"The {old.schedule} schedule is rescaled by "
                             f"{new.lr / old.lr:g}, as if the run had been set to {new.lr:g} "
                             f"from the start: the rate is now "
                             f"{self._optimizer.param_groups[0]['lr']:.3g}.")
        if new.weight_decay != old.weight_decay:
            for group in self._optimizer.param_groups:
                group["weight_decay"] = new.weight_decay
        if new.optimizer != old.optimizer:
            self._optimizer, self._scheduler = swap_optimizer(
                self.model, new, self._optimizer, self._scheduler, self._batches)
            notes.append("The model's weights carry on; the new optimizer's state starts "
                         "afresh.")
        self.config = new
        self._record_change(SettingsChanged(
            step=step, epoch=epoch, batch=batch, batches_per_epoch=self._batches,
            changes={k: [getattr(old, k), v] for k, v in wanted.items()}), notes, listener)

    def _ask_batch_size(self, batch_size: int, epoch: int, listener: Listener) -> None:
        if epoch >= self.config.epochs:
            listener(LogLine(f"Batch size stays {self.config.batch_size}: a new batch size "
                             "takes effect when the next epoch starts, and this is the run's "
                             "last epoch.", "warning"))
            return
        self._next_batch_size = batch_size
        listener(LogLine(f"Batch size {self.config.batch_size} → {batch_size} from epoch "
                         f"{epoch + 1}: the batches of epoch {epoch} are already drawn."))

    def _change_batch_size(self, epoch: int, listener: Listener) -> None:
        """Start this epoch with the batch size asked for during the last one."""
        old, batch_size = self.config, self._next_batch_size
        self._next_batch_size = None
        if batch_size == old.batch_size:
            return
        self.config = old.replace(batch_size=batch_size)
        self._batches = self._batch_count(len(self._train_y))
        self._record_change(SettingsChanged(
            step=self._steps_done + 1, epoch=epoch, batch=1, batches_per_epoch=self._batches,
            changes={"batch_size": [old.batch_size, batch_size]}),
            [f"An epoch now has {plural(self._batches, 'batch', 'batches')}."], listener)

    def _record_change(self, change: SettingsChanged, notes: list[str],
                       listener: Listener) -> None:
        self.changes.append(change.as_record())
        listener(change)
        listener(LogLine(" ".join([f"Changed at epoch {change.epoch}, batch {change.batch}: "
                                   f"{change_label(change.changes)}.", *notes])))

    def _estimate_due(self, epoch: int, batch: int, tally: _EpochTally) -> bool:
        """Once per run, in its first epoch: after a few batches and seconds of training,
        or at the epoch's end if that comes first."""
        if epoch != self._start_epoch + 1 or self._estimated:
            return False
        enough = (batch >= ESTIMATE_AFTER_BATCHES
                  and tally.active_seconds(time.perf_counter()) >= ESTIMATE_AFTER_SECONDS)
        return enough or batch == self._batches

    def _estimate(self, batch: int, tally: _EpochTally, device: torch.device) -> RunEstimate:
        self._estimated = True
        per_batch = tally.active_seconds(time.perf_counter()) / batch
        # Evaluation runs the network forward only (about a third of a training step) over
        # the validation and test images, once per epoch.
        examples_per_second = tally.seen / max(per_batch * batch, 1e-9)
        evaluated = len(self._val_y) + len(self._test_y)
        per_epoch = per_batch * self._batches + evaluated / examples_per_second / 3
        epochs = self.config.epochs - self._start_epoch
        faster = None
        if device.type == "cpu":
            faster = next((d.label for d in available_devices() if d.id != "cpu"), None)
        return RunEstimate(seconds_per_epoch=per_epoch, total_seconds=per_epoch * epochs,
                           epochs=epochs, device=self._device_label(device),
                           faster_device=faster)

    def _flush_due(self, tally: _EpochTally, batch: int) -> bool:
        if batch == self._batches:
            return True
        if self._processes is not None:  # at the same batch in every process
            return self._processes.flush_due(tally.pending)
        return time.perf_counter() - tally.last_flush >= FLUSH_SECONDS

    def _compiled(self, device: torch.device, listener: Listener) -> float:
        """Seconds of the first (compiling) step, said apart and left out of the speed."""
        seconds = self._compile.end(device)
        listener(LogLine(f"Compiled the model (torch.compile) in {seconds:.1f} s, with its "
                         "first step; the training speed leaves this out."))
        return seconds

    def step(self, x: torch.Tensor, y: torch.Tensor,
             schedule: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """One optimisation step on a batch: (the loss, the logits), left on the device.
        With `schedule` False the LR schedule is not advanced (the LR finder sets the rate
        itself)."""
        return self._step(x, y, schedule)

    def _step(self, x: torch.Tensor, y: torch.Tensor,
              schedule: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """The gradients come from the loss times `_loss_weight` (1, except for a torchrun
        process's share of a batch: engine.training.distributed); the loss returned is the batch's
        (the share's) own mean."""
        autocast = (torch.autocast("cuda", dtype=self._amp_dtype) if self._use_amp
                    else nullcontext())
        with autocast:
            logits = self._net(x)
            loss = self._loss_fn(logits, y)
        scaled = loss * self._loss_weight if self._loss_weight != 1.0 else loss
        self._optimizer.zero_grad(set_to_none=True)
        if self._scaler is not None:
            self._scaler.scale(scaled).backward()
            self._scaler.step(self._optimizer)
            self._scaler.update()
        else:
            scaled.backward()
            self._optimizer.step()
        if schedule and self._scheduler is not None:
            self._scheduler.step()
        return loss, logits

    def _evaluate(self, images: torch.Tensor, labels: torch.Tensor, control: Control,
                  epoch: int | None = None) -> tuple[float, float, Evaluation | None]:
        """Mean cross-entropy (without label smoothing), accuracy and, given the epoch, each
        image's prediction (`Evaluation`): all read back from the device in one go."""
        model = self.model
        model.eval()
        n = len(labels)
        keep = epoch is not None and n > 0
        # Under torchrun each process takes a slice and the sums are shared: the rows of the
        # other slices stay zero here and are filled by the others' (engine.training.distributed).
        first, end = self._processes.span(n) if self._processes is not None else (0, n)
        loss_sum = torch.zeros((), device=labels.device)
        correct = torch.zeros((), device=labels.device)
        loss_fn = nn.CrossEntropyLoss(reduction="sum")
        if keep:
            kept = analysis.kept_classes(self.dataset.num_classes, n)
            top_probs = torch.zeros((n, kept), device=labels.device)
            top_classes = torch.zeros((n, kept), device=labels.device, dtype=torch.long)
            true_probs = torch.zeros(n, device=labels.device)
        # At most as many pixels per batch as 1024 images of 32x32: 20 images of 224x224.
        step = max(1, min(EVAL_BATCH, EVAL_BATCH * 32 * 32 // self.input_size**2))
        with torch.inference_mode():
            for start in range(first, end, step):
                if control.stop_requested:
                    model.train()
                    raise StopRequested
                x = self._pipeline(images[start:min(start + step, end)])
                y = labels[start:min(start + step, end)]
                logits = model(x).float()
                loss_sum += loss_fn(logits, y)
                if keep:
                    part = slice(start, start + len(y))
                    probs = logits.softmax(1)
                    top_probs[part], top_classes[part] = probs.topk(kept, dim=1)
                    true_probs[part] = probs.gather(1, y[:, None]).squeeze(1)
                    correct += (top_classes[part, 0] == y).sum()
                else:
                    correct += (logits.argmax(1) == y).sum()
        model.train()
        totals = [loss_sum[None], correct[None]]
        if keep:  # classes travel as float32: exact for any class count below 2**24
            totals += [true_probs, top_probs.flatten(), top_classes.flatten().float()]
        totals = torch.cat(totals)
        if self._processes is not None:
            totals = self._processes.sum(totals)
        host = totals.cpu().numpy()  # the one read-back
        loss, acc = float(host[0]) / max(n, 1), float(host[1]) / max(n, 1)
        if not keep:
            return loss, acc, None
        probs_at, classes_at = 2 + n, 2 + n + n * kept
        return loss, acc, Evaluation(
            epoch=epoch, num_classes=self.dataset.num_classes,
            labels=self.dataset.test_labels.numpy(),
            top_classes=host[classes_at:].astype(np.int32).reshape(n, kept),
            top_probs=host[probs_at:classes_at].reshape(n, kept),
            true_probs=host[2:probs_at])

    # -- endings and files -------------------------------------------------------------

    def _finished_message(self) -> str:
        if self.epochs_done == self._start_epoch:
            return (f"Nothing to do: the checkpoint already has "
                    f"{plural(self.epochs_done, 'epoch')}. "
                    "Raise the number of epochs to train on.")
        last = self.history[-1]
        message = (f"Finished {plural(self.epochs_done, 'epoch')}: test accuracy "
                   f"{last['test_acc']:.2%}, test loss {last['test_loss']:.4f}.")
        if self._verdict() == "too_small":
            message += " " + self._too_small_message()
        return message

    def _too_small_message(self) -> str:
        """Why a finished run gets no verdict on whether it learned (engine.analysis)."""
        n, chance = len(self.dataset.test_labels), self._chance()
        if n == 0:
            return "There are no test images, so nothing tells whether the model learned."
        if chance >= 1.0:
            return ("Every test image is of one class, so always answering it scores 100%: "
                    "nothing tells whether the model learned. Add test images of the other "
                    "classes.")
        needed = analysis.images_to_judge(self.history[-1]["test_acc"], chance)
        enough = f"; at this accuracy about {needed:,} test images would tell" if needed else ""
        return (f"The test set of {plural(n, 'image')} is too small to judge whether the "
                f"model learned more than guessing would score ({chance:.1%}){enough}. Add "
                "more images per class for a verdict.")

    def _stopped_early_message(self) -> str:
        if self._start_epoch == 0:
            return ("Stopped before the first epoch ended: nothing was trained yet, nothing "
                    "was saved.")
        return (f"Stopped before epoch {self._start_epoch + 1} ended: nothing new was trained, "
                f"nothing was saved; {self.resume_from} still holds epoch {self._start_epoch}.")

    def _outcome(self) -> str:
        """What was kept and what was saved, as it is: never a save that did not happen."""
        if self.saved is None:
            return "no epoch was completed, so nothing was saved."
        if self.epochs_done == self._start_epoch:
            return (f"nothing new was trained, nothing was saved; {self.resume_from} still "
                    f"holds epoch {self.epochs_done}.")
        kept = f"the model after epoch {self.epochs_done} was kept"
        if self._folder is None:
            return kept + "."
        if self._saved_path is not None and self._saved_epoch == self.epochs_done:
            return f"{kept} and saved in {self._saved_path}."
        if self._saved_path is not None:
            return (f"{kept} but not saved; {self._saved_path} holds the model after epoch "
                    f"{self._saved_epoch}.")
        return f"{kept} but not saved: nothing was saved."

    def _chance(self) -> float:
        """The test accuracy of guessing on this dataset (engine.analysis)."""
        return analysis.chance_accuracy(self.dataset.test_labels.tolist(),
                                        self.dataset.num_classes)

    def _verdict(self) -> str:
        """"learned", "nothing" or "too_small": see engine.analysis.chance_verdict."""
        return analysis.chance_verdict(self.history[-1]["test_acc"], self._chance(),
                                       len(self.dataset.test_labels))

    def _learned_nothing_message(self) -> str:
        last, chance = self.history[-1], self._chance()
        why = analysis.why_nothing_was_learned(self.history, chance, self.dataset.num_classes,
                                               self.config.optimizer, self.config.lr,
                                               self.changes)
        return (f"Learned nothing: after {plural(self.epochs_done, 'epoch')} the test accuracy is "
                f"{last['test_acc']:.1%}, no better than guessing ({chance:.1%}). {why} "
                f"The run is kept as a complete record: {self._outcome()}")

    def _end(self, reason: str, message: str, listener: Listener) -> RunEnd:
        """Finish with the last epoch-boundary state (see `saved`) in the model.

        The run folder already holds that state: it is saved at every epoch's end.
        """
        if self.saved is not None and reason in ("stopped", "diverged", "failed"):
            self.model.load_state_dict(self.saved.model_state)
        path = None
        if self._saved_path is not None and self._saved_epoch == self.epochs_done:
            path = str(self._saved_path)
        elif self.saved is not None and self.epochs_done == self._start_epoch:
            path = str(self.resume_from)  # nothing new: the model is the one resumed from
        return RunEnd(reason, message, self.epochs_done, path)

    def _save_progress(self, listener: Listener) -> None:
        """Write the run folder's record of the epoch just done: config, checkpoint, metrics.

        The checkpoint first (atomically), its line in metrics.jsonl after: the record never
        claims an epoch the checkpoint lacks, whenever the run is killed or the disk fills.
        The first write of a run replaces metrics.jsonl with the whole history, so a run
        resumed into its own folder continues its record without repeating an epoch.
        """
        if self._folder is None:
            return
        try:
            run_folder.write_config(self._folder, self.config.to_dict())
            path = save_checkpoint(self._folder.checkpoint, self.saved)
        except OSError as error:
            raise _SaveFailed(error) from error
        self._saved_path, self._saved_epoch = path, self.epochs_done
        best, best_by = runs.best_epoch(self.history)
        try:
            if best == self.epochs_done:  # best.pt: this epoch's checkpoint, linked
                self._folder.keep_as_best(path)
                self._best_saved_epoch = best
            if self._metrics_started:
                run_folder.append_metrics(self._folder, self.history[-1])
            else:
                run_folder.write_metrics(self._folder, self.history)
                self._metrics_started = True
        except OSError as error:
            raise _SaveFailed(error) from error
        best_path = self._folder.best_checkpoint if self._best_saved_epoch == best else None
        listener(CheckpointSaved(self.epochs_done, str(path), best,
                                 str(best_path) if best_path else None, best_by))

    def _save_failed_message(self, error: OSError) -> str:
        """What a failed write of the run folder means: the disk full, or another problem,
        what was kept and saved, and what to do."""
        if error.errno == errno.ENOSPC:
            why = (f"The disk holding the run folder {self.run_dir} is full (No space left "
                   f"on device)")
        else:
            why = f"Could not write to the run folder {self.run_dir}: {error}"
        record = ""
        if self._saved_path is not None and self._saved_epoch == self.epochs_done:
            record = (f" Its record (metrics.jsonl) may end before epoch {self.epochs_done}; "
                      "a run continued from the checkpoint writes it again.")
        return (f"{why}. {_sentence(self._outcome())}{record} Free some space or choose "
                "another folder, then continue from the checkpoint.")

    def _device_label(self, device: torch.device | None) -> str:
        if self._processes is not None:
            return self._processes.label
        if device is None:
            return "the device"
        for info in available_devices():
            if torch.device(info.id) == device or (
                    device.type == "cuda" and info.id == f"cuda:{device.index or 0}"):
                return info.label
        return str(device)
