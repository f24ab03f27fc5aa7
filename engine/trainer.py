"""The training loop: `Trainer(config).run(listener, control)`.

The loop reports plain events (engine.events) to a listener and obeys a `Control` checked
before every batch. It never synchronises the device per batch just to report: per-batch
losses and correct counts stay on the device and are read back in one go a few times a
second (`FLUSH_SECONDS`), then handed to the listener as ordinary `BatchEnd` events.
"""

from __future__ import annotations

import json
import math
import time
import traceback
from contextlib import nullcontext
from pathlib import Path

import torch
from torch import nn

from engine.checkpoint import (
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    load_model_weights,
    save_checkpoint,
)
from engine.config import ConfigError, TrainConfig
from engine.control import Control, StopRequested
from engine.cpu import ThreadTuner, cpu_count
from engine.data import load_dataset
from engine.data.pipeline import BatchPipeline
from engine.data.types import DatasetError, ImageDataset
from engine.devices import available_devices, resolve_device
from engine.events import BatchEnd, EpochEnd, Event, Listener, LogLine, RunEnd, RunStart
from engine.models import build_model, count_parameters, input_size_for
from engine.optim import build_optimizer, build_scheduler

FLUSH_SECONDS = 0.1  # how often per-batch numbers are read back from the device
EVAL_BATCH = 1024


class _Diverged(Exception):
    def __init__(self, epoch: int, batch: int, loss: float) -> None:
        super().__init__(f"loss {loss} at epoch {epoch}, batch {batch}")
        self.epoch, self.batch, self.loss = epoch, batch, loss


def _is_out_of_memory(error: BaseException) -> bool:
    return isinstance(error, (torch.OutOfMemoryError, MemoryError)) or (
        isinstance(error, RuntimeError) and "out of memory" in str(error).lower()
    )


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


class Trainer:
    """Trains one model on one dataset as a `TrainConfig` describes.

    After `run`, `model` holds the last good weights, `history` one record per finished
    epoch, and `checkpoint()` everything needed to resume or to predict.
    """

    def __init__(self, config: TrainConfig, run_dir: str | Path | None = None,
                 resume_from: str | Path | None = None) -> None:
        self.config = config
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.resume_from = resume_from
        self.model: nn.Module | None = None
        # The state at the last epoch boundary: what the run folder's checkpoint holds, and
        # what the model falls back to when a run stops, diverges or fails mid-epoch, so
        # the model, the file and the history always agree and a resume continues exactly.
        self.saved: Checkpoint | None = None
        self.dataset: ImageDataset | None = None
        self.history: list[dict] = []
        self.epochs_done = 0
        self.input_size = 0
        self._optimizer: torch.optim.Optimizer | None = None
        self._scheduler = None
        self._scaler: torch.amp.GradScaler | None = None

    # -- public ------------------------------------------------------------------------

    def run(self, listener: Listener, control: Control | None = None) -> RunEnd:
        """Train to the configured epoch count, or until stopped, diverged or failed.

        Never raises for a training problem: the returned (and emitted) `RunEnd` says what
        happened in a sentence a person can act on.
        """
        control = control or Control()
        try:
            end = self._run(listener, control)
        finally:  # free the device copies of the dataset (GPU memory) once the run is over
            self._train_x = self._train_y = self._val_x = self._val_y = None
            self._test_x = self._test_y = None
        listener(end)
        return end

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
            class_names=self.dataset.class_names,
            mean=self.dataset.mean,
            std=self.dataset.std,
            in_channels=self.dataset.channels,
            input_size=self.input_size,
            is_digits=self.dataset.is_digits,
        )

    # -- the run -----------------------------------------------------------------------

    def _run(self, listener: Listener, control: Control) -> RunEnd:
        config = self.config
        try:
            config.validate()
        except ConfigError as error:
            return RunEnd("failed", f"Invalid setting: {error}", 0)
        device: torch.device | None = None
        try:
            device = resolve_device(config.device)
            self.dataset = load_dataset(config.dataset, config.data_dir,
                                        progress=_stoppable(listener, control),
                                        image_size=config.image_size or 32)
            resumed = load_checkpoint(self.resume_from) if self.resume_from else None
            self._prepare(device, resumed, listener)
            self.saved = self.checkpoint()
            self._start_epoch = self.epochs_done
            for epoch in range(self.epochs_done + 1, config.epochs + 1):
                self._train_epoch(epoch, device, listener, control)  # snapshots `saved`
            return self._end("finished", self._finished_message(), listener)
        except (DatasetError, CheckpointError) as error:
            return RunEnd("failed", str(error), self.epochs_done)
        except StopRequested:
            return self._end("stopped", f"Stopped by you after {self.epochs_done} of "
                             f"{config.epochs} epochs; the model as it was after epoch "
                             f"{self.epochs_done} was kept.", listener)
        except _Diverged as error:
            return self._end("diverged", (
                f"Training diverged at epoch {error.epoch}, batch {error.batch}: the loss became "
                f"{error.loss}. Lower the learning rate (try {config.lr / 10:g}) and train "
                "again. The weights from the last good epoch were kept."), listener)
        except Exception as error:  # noqa: BLE001 - any failure must end the run cleanly
            return self._failed(error, device, listener)

    def _failed(self, error: Exception, device: torch.device | None,
                listener: Listener) -> RunEnd:
        if _is_out_of_memory(error):
            if device is not None and device.type == "cuda":
                torch.cuda.empty_cache()
            message = (f"Out of memory on {self._device_label(device)} with batch size "
                       f"{self.config.batch_size}. Try a smaller batch size (e.g. "
                       f"{max(1, self.config.batch_size // 2)}) or a smaller model.")
        else:
            listener(LogLine("".join(traceback.format_exception(error)).rstrip(), "error"))
            message = f"Training failed: {type(error).__name__}: {error}"
        if self.saved is None:  # failed before training began: nothing worth saving
            return RunEnd("failed", message, 0)
        return self._end("failed", message + " The weights from the last good epoch were kept.",
                         listener)

    def _prepare(self, device: torch.device, resumed: Checkpoint | None,
                 listener: Listener) -> None:
        config, data = self.config, self.dataset
        torch.manual_seed(config.seed)  # same seed, same initial weights
        self.input_size = input_size_for(config.arch, data.image_size, config.image_size)
        self.model = build_model(config.arch, data.channels, data.num_classes,
                                 self.input_size).to(device)
        self._tuner = self._choose_threads(device)
        self._use_amp = config.amp and device.type == "cuda"
        if config.amp and not self._use_amp:
            listener(LogLine("Mixed precision needs a CUDA GPU: training in float32.", "warning"))

        self._train_x, self._train_y, self._val_x, self._val_y = self._split(data, device)
        self._test_x = data.test_images.to(device)
        self._test_y = data.test_labels.to(device)
        self._pipeline = BatchPipeline(data, self.input_size, device, augment=config.augment)
        self._batches = self._batch_count(len(self._train_y))
        if self._batches == 0:
            raise DatasetError(
                f"Only {len(self._train_y)} training image(s) are left after the validation "
                "split: at least 2 are needed. Lower the validation split or add images.")

        self._optimizer = build_optimizer(self.model, config)
        self._scheduler = build_scheduler(self._optimizer, config, self._batches)
        self._scaler = torch.amp.GradScaler("cuda") if self._use_amp else None
        self._loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
        if resumed is not None:
            self._restore(resumed, listener)

        listener(LogLine(
            f"{data.name}: {len(self._train_y)} training, {len(self._val_y)} validation, "
            f"{len(self._test_y)} test images of {data.channels}x{data.image_size}x"
            f"{data.image_size}, {data.num_classes} classes."))
        listener(LogLine(f"{config.arch}: {count_parameters(self.model):,} parameters, input "
                         f"{data.channels}x{self.input_size}x{self.input_size}, on "
                         f"{self._device_label(device)}."))
        listener(RunStart(
            arch=config.arch, dataset=config.dataset, device=self._device_label(device),
            epochs=config.epochs, start_epoch=self.epochs_done,
            batches_per_epoch=self._batches, train_size=len(self._train_y),
            val_size=len(self._val_y), test_size=len(self._test_y),
            num_params=count_parameters(self.model), class_names=data.class_names,
            input_shape=(data.channels, self.input_size, self.input_size),
            history=tuple(self.history)))

    def _choose_threads(self, device: torch.device) -> ThreadTuner | None:
        """Fix the thread count the person chose, or let a tuner follow the CPU's load.

        Set on the thread that trains: each thread keeps its own OpenMP pool (gui/worker.py).
        """
        if self.config.threads:
            torch.set_num_threads(self.config.threads)
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
        full, rest = divmod(n, self.config.batch_size)
        # A last batch of one breaks BatchNorm in training mode, so it is dropped.
        return full + (1 if rest > 1 else 0)

    def _restore(self, resumed: Checkpoint, listener: Listener) -> None:
        config = self.config
        if resumed.config.arch != config.arch or resumed.config.dataset != config.dataset:
            raise CheckpointError(
                f"This checkpoint was trained as {resumed.config.arch} on "
                f"{resumed.config.dataset}, but the settings say {config.arch} on "
                f"{config.dataset}. Resume with the checkpoint's architecture and dataset.")
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
                             f"the LR schedule starts afresh over the remaining {remaining} "
                             "epochs.", "warning"))
        if self._scaler is not None and resumed.scaler_state:
            self._scaler.load_state_dict(resumed.scaler_state)
        self.history = list(resumed.history)
        self.epochs_done = resumed.epoch
        listener(LogLine(f"Resumed after epoch {resumed.epoch} from {self.resume_from}."))

    # -- one epoch ---------------------------------------------------------------------

    def _train_epoch(self, epoch: int, device: torch.device, listener: Listener,
                     control: Control) -> None:
        config, model = self.config, self.model
        # Shuffling, augmentation and dropout depend only on (seed, epoch): a resumed run
        # draws exactly the numbers the uninterrupted run would have drawn.
        seed = config.seed * 100_003 + epoch
        generator = torch.Generator().manual_seed(seed)  # shuffling: on the CPU, repeatable
        # Augmentation draws on the training device, so a GPU never waits for a copy of
        # random numbers from the host per batch.
        augment_generator = (generator if device.type == "cpu"
                             else torch.Generator(device=device).manual_seed(seed))
        torch.manual_seed(seed)
        order = torch.randperm(len(self._train_y), generator=generator).to(device)
        bs = config.batch_size
        step0 = (epoch - 1) * self._batches

        model.train()
        if self._tuner is not None:
            self._tuner.restart_window()  # the evaluation since the last batch is not training
        started = last_flush = time.perf_counter()
        paused_seconds = 0.0
        pending_loss: list[torch.Tensor] = []
        pending_correct: list[torch.Tensor] = []
        pending_meta: list[tuple[int, int, float]] = []  # (batch, size, lr)
        seen = correct_total = 0
        loss_total = 0.0
        for batch in range(1, self._batches + 1):
            if control.paused:
                wait_from = time.perf_counter()
                listener(LogLine(f"Paused at epoch {epoch}, batch {batch}."))
                if control.wait_while_paused():
                    listener(LogLine("Resumed."))
                paused_seconds += time.perf_counter() - wait_from
                if self._tuner is not None:
                    self._tuner.restart_window()
            if control.stop_requested:
                raise StopRequested
            idx = order[(batch - 1) * bs: batch * bs]
            x = self._pipeline(self._train_x[idx], augment_generator, train=True)
            y = self._train_y[idx]
            lr = self._optimizer.param_groups[0]["lr"]
            loss, logits = self._step(x, y)
            if self._tuner is not None:
                change = self._tuner.batch_done(len(y))
                if change:
                    listener(LogLine(change))
            pending_loss.append(loss.detach())
            pending_correct.append((logits.argmax(1) == y).sum())
            pending_meta.append((batch, len(y), lr))

            now = time.perf_counter()
            if now - last_flush >= FLUSH_SECONDS or batch == self._batches:
                # The one device read-back for all batches since the last flush.
                losses = torch.stack(pending_loss).float().tolist()
                corrects = torch.stack(pending_correct).tolist()
                now = time.perf_counter()
                rate_time = max(now - started - paused_seconds, 1e-9)
                for (b, size, b_lr), b_loss, b_correct in zip(pending_meta, losses, corrects,
                                                               strict=True):
                    if not math.isfinite(b_loss):
                        raise _Diverged(epoch, b, b_loss)
                    seen += size
                    correct_total += b_correct
                    loss_total += b_loss * size
                    listener(BatchEnd(epoch=epoch, batch=b, batches_per_epoch=self._batches,
                                      step=step0 + b, loss=b_loss, accuracy=correct_total / seen,
                                      examples_per_sec=seen / rate_time, lr=b_lr))
                pending_loss.clear()
                pending_correct.clear()
                pending_meta.clear()
                last_flush = now

        train_seconds = time.perf_counter() - started - paused_seconds
        val_loss, val_acc = (self._evaluate(self._val_x, self._val_y, control)
                             if len(self._val_y) else (None, None))
        test_loss, test_acc = self._evaluate(self._test_x, self._test_y, control)
        record = EpochEnd(
            epoch=epoch, epochs=config.epochs, train_loss=loss_total / seen,
            train_acc=correct_total / seen, val_loss=val_loss, val_acc=val_acc,
            test_loss=test_loss, test_acc=test_acc,
            lr=self._optimizer.param_groups[0]["lr"], seconds=train_seconds)
        self.history.append(record.as_record())
        self.epochs_done = epoch
        self.saved = self.checkpoint()
        listener(record)
        listener(LogLine(
            f"Epoch {epoch}/{config.epochs}: train loss {record.train_loss:.4f}, "
            f"acc {record.train_acc:.2%} | test loss {test_loss:.4f}, acc {test_acc:.2%} | "
            f"{seen / max(train_seconds, 1e-9):,.0f} examples/s"))
        self._save_progress(record)

    def _step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        autocast = (torch.autocast("cuda", dtype=torch.float16) if self._use_amp
                    else nullcontext())
        with autocast:
            logits = self.model(x)
            loss = self._loss_fn(logits, y)
        self._optimizer.zero_grad(set_to_none=True)
        if self._scaler is not None:
            self._scaler.scale(loss).backward()
            self._scaler.step(self._optimizer)
            self._scaler.update()
        else:
            loss.backward()
            self._optimizer.step()
        if self._scheduler is not None:
            self._scheduler.step()
        return loss, logits

    def _evaluate(self, images: torch.Tensor, labels: torch.Tensor,
                  control: Control) -> tuple[float, float]:
        """Mean cross-entropy (without label smoothing) and accuracy, one read-back."""
        model = self.model
        model.eval()
        loss_sum = torch.zeros((), device=labels.device)
        correct = torch.zeros((), device=labels.device, dtype=torch.long)
        loss_fn = nn.CrossEntropyLoss(reduction="sum")
        with torch.inference_mode():
            for start in range(0, len(labels), EVAL_BATCH):
                if control.stop_requested:
                    model.train()
                    raise StopRequested
                x = self._pipeline(images[start:start + EVAL_BATCH])
                y = labels[start:start + EVAL_BATCH]
                logits = model(x).float()
                loss_sum += loss_fn(logits, y)
                correct += (logits.argmax(1) == y).sum()
        model.train()
        n = max(len(labels), 1)
        return loss_sum.item() / n, correct.item() / n

    # -- endings and files -------------------------------------------------------------

    def _finished_message(self) -> str:
        if self.epochs_done == self._start_epoch:
            return (f"Nothing to do: the checkpoint already has {self.epochs_done} epochs. "
                    "Raise the number of epochs to train on.")
        last = self.history[-1]
        return (f"Finished {self.epochs_done} epochs: test accuracy {last['test_acc']:.2%}, "
                f"test loss {last['test_loss']:.4f}.")

    def _end(self, reason: str, message: str, listener: Listener) -> RunEnd:
        """Finish with the last epoch-boundary state (see `saved`) in the model and the file."""
        if self.saved is None:  # stopped or failed before the model existed
            return RunEnd(reason, message, self.epochs_done)
        if reason != "finished":
            self.model.load_state_dict(self.saved.model_state)
        path = None
        if self.run_dir is not None:
            try:
                path = str(save_checkpoint(self.run_dir / "checkpoint.pt", self.saved))
            except OSError as error:
                message += f" The checkpoint could not be saved: {error}."
        return RunEnd(reason, message, self.epochs_done, path)

    def _save_progress(self, record: EpochEnd) -> None:
        """Append the epoch to metrics.jsonl and refresh the checkpoint in the run folder."""
        if self.run_dir is None:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        config_file = self.run_dir / "config.json"
        if not config_file.exists():
            config_file.write_text(json.dumps(self.config.to_dict(), indent=2))
        with open(self.run_dir / "metrics.jsonl", "a") as metrics:
            metrics.write(json.dumps(record.as_record()) + "\n")
        save_checkpoint(self.run_dir / "checkpoint.pt", self.saved)

    @staticmethod
    def _device_label(device: torch.device | None) -> str:
        if device is None:
            return "the device"
        for info in available_devices():
            if torch.device(info.id) == device or (
                    device.type == "cuda" and info.id == f"cuda:{device.index or 0}"):
                return info.label
        return str(device)
