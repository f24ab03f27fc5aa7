"""The learning-rate range test (Leslie Smith, 2015; fastai's `lr_find`).

`LRFinder(trainer).run(listener, control)` trains the trainer's model for up to `steps`
batches while the learning rate rises exponentially from `start_lr` to `end_lr`, and
records the loss of each batch, smoothed (an exponential moving average with bias
correction, as fastai does, with a shorter memory: see SMOOTHING). It stops early once
the smoothed loss exceeds `explodes_at` times the best seen so far, or a loss is not a
number: past that point the rate is far too high. Two rates are suggested from the
smoothed curve: where it falls fastest against log(lr) (steepest descent), and a tenth of
the rate at its minimum.

The test runs on what a real run would build (`Trainer.prepare`: the same model, optimizer,
batches and device) and leaves no trace: the model's weights and BatchNorm statistics, the
optimizer's and schedule's state and the random generators are put back exactly afterwards.
It reports `LRTestStep` events to a listener and obeys a `Control` (Stop) before each batch.
"""

from __future__ import annotations

import math
import traceback
from dataclasses import dataclass

import numpy as np
import torch

from engine.checkpoint import CheckpointError
from engine.config import ConfigError, TrainConfig
from engine.control import Control, StopRequested
from engine.data.types import DatasetError
from engine.devices import resolve_device
from engine.events import Event, Listener, LogLine, RunStart
from engine.lr_range import (
    DEFAULT_END_LR,
    DEFAULT_START_LR,
    DEFAULT_STEPS,
    lr_range,
    lr_text,
    range_problem,
    round_lr,
)
from engine.run_folder import RunFolderError
from engine.text import plural
from engine.trainer import Trainer

# The moving average's weight of the past. fastai's 0.98 remembers ~50 batches, half of a
# 100-batch test, four decades of rates: its curve lagged so far that the minimum landed
# just before the explosion (ReLU LeNet-5 with Adam on the MNIST sample: 0.03 suggested,
# where 3e-3 trains well). 0.9 remembers ~10 batches, about one decade: 0.01 there, and
# 3e-3 for the MLP with Adam, 0.08 with SGD.
SMOOTHING = 0.9
EXPLODES_AT = 4.0  # the test stops when the smoothed loss exceeds this times its best
# The smoothed loss must fall at least this fraction below where the curve starts for a
# rate to be suggested: less is the batches' noise on a flat curve, not a descent.
MIN_FALL = 0.02


@dataclass(frozen=True)
class LRTestStep:
    """One batch of the range test."""

    step: int  # 1-based
    steps: int  # the most the test takes
    lr: float
    loss: float  # this batch's loss
    smoothed: float  # the smoothed loss so far


@dataclass(frozen=True)
class LRTestResult:
    """The curve of a range test and the rates it suggests (None where it cannot)."""

    lrs: tuple[float, ...]
    losses: tuple[float, ...]
    smoothed: tuple[float, ...]
    start_lr: float
    end_lr: float
    steps: int  # the most the test would have taken
    exploded_at: float | None  # the rate at which the loss exploded and the test stopped
    steepest: float | None  # steepest descent of the smoothed loss, rounded (one digit)
    min_loss_lr: float | None  # the rate at the smoothed loss's minimum (not rounded)

    @property
    def min_over_10(self) -> float | None:
        """A tenth of the rate at the minimum, rounded (one digit)."""
        return None if self.min_loss_lr is None else round_lr(self.min_loss_lr / 10)

    def summary(self) -> str:
        """What the curve says, in a sentence or two."""
        tried = (f"Tried {plural(len(self.lrs), 'learning rate')} from {lr_text(self.start_lr)} "
                 f"to {lr_text(self.lrs[-1]) if self.lrs else lr_text(self.start_lr)}")
        if self.exploded_at is not None:
            tried += f"; the loss exploded at {lr_text(self.exploded_at)}"
        elif len(self.lrs) == self.steps:
            tried += "; the loss had not exploded by the end"
        if self.steepest is None:
            return (f"{tried}. The loss did not fall clearly over these rates, so there is no "
                    "rate to suggest: the network may need more batches to show a descent "
                    "(take more), or the data and labels need a look.")
        return (f"{tried}. The loss fell fastest at {lr_text(self.steepest)} and was lowest "
                f"at {lr_text(self.min_loss_lr)}: try {lr_text(self.steepest)} (steepest "
                f"descent) or {lr_text(self.min_over_10)} (the minimum's rate / 10).")


@dataclass(frozen=True)
class LRTestEnd:
    reason: str  # "finished" (the curve is complete) | "stopped" (by the person) | "failed"
    message: str  # a sentence for a person
    result: LRTestResult | None  # None when the test failed before its first batch


def suggest(lrs: list[float], smoothed: list[float],
            steps: int) -> tuple[float | None, float | None]:
    """(steepest descent, rate at the minimum) of a smoothed loss curve.

    As fastai does, the first tenth of the planned `steps` is left out (the average is still
    settling there). The steepest descent is looked for up to the minimum only: the slope
    after it is the explosion. None where the curve does not fall clearly (`MIN_FALL`).
    """
    skip = min(steps // 10, max(len(smoothed) - 2, 0))
    losses = np.asarray(smoothed[skip:], dtype=float)
    rates = np.asarray(lrs[skip:], dtype=float)
    if len(losses) < 2:
        return None, None
    lowest = int(np.argmin(losses))
    if losses[lowest] > losses[0] * (1 - MIN_FALL):  # flat or rising: no descent to point at
        return None, None
    falling = losses[:lowest + 1]
    slopes = np.gradient(falling, np.log(rates[:lowest + 1]))
    return round_lr(float(rates[int(np.argmin(slopes))])), float(rates[lowest])


class LRFinder:
    """A range test on `trainer`'s model (prepared by `run` unless it already is)."""

    def __init__(self, trainer: Trainer, start_lr: float = DEFAULT_START_LR,
                 end_lr: float = DEFAULT_END_LR, steps: int = DEFAULT_STEPS,
                 smoothing: float = SMOOTHING, explodes_at: float = EXPLODES_AT) -> None:
        problem = range_problem(start_lr, end_lr, steps)
        if problem:
            raise ValueError(problem[0].upper() + problem[1:])
        self.trainer = trainer
        self.start_lr, self.end_lr, self.steps = start_lr, end_lr, steps
        self.smoothing, self.explodes_at = smoothing, explodes_at

    @classmethod
    def for_config(cls, config: TrainConfig, resume_from: str | None = None,
                   **kwargs) -> LRFinder:
        """A test of the model a run with `config` would train (or continue, from a
        checkpoint), writing no run folder."""
        return cls(Trainer(config, resume_from=resume_from, tensorboard=False), **kwargs)

    @property
    def epochs_done(self) -> int:
        """The epochs the tested model has trained (a resumed checkpoint's, else 0)."""
        return self.trainer.epochs_done

    def run(self, listener: Listener, control: Control | None = None) -> LRTestEnd:
        """Test, put everything back, and say how it went; never raises for a problem a
        person can fix (bad settings, missing data, out of memory)."""
        control = control or Control()
        points: list[LRTestStep] = []
        exploded: list[float] = []
        trainer = self.trainer
        try:
            device = resolve_device(trainer.config.device)
            # The global generators (dropout draws from them) come back as they were.
            accelerator = ({} if device.type == "cpu" else
                           {"devices": [device.index or 0], "device_type": device.type})
            with torch.random.fork_rng(**({"devices": []} | accelerator)):
                prepared_here = trainer.model is None
                if prepared_here:
                    trainer.prepare(_without_run_start(listener), control)
                before = trainer.training_state()
                try:
                    self._sweep(listener, control, points, exploded)
                finally:
                    trainer.load_training_state(before)
                    if prepared_here:
                        trainer.release_data()
        except StopRequested:
            result = self._result(points, exploded) if points else None
            done = f"after {plural(len(points), 'batch', 'batches')} of {self.steps}"
            return LRTestEnd("stopped", f"Stopped by you {done}. " + (
                result.summary() if result else "Nothing was tested."), result)
        except ConfigError as error:
            return LRTestEnd("failed", f"Invalid setting: {error}", None)
        except (DatasetError, CheckpointError, RunFolderError) as error:
            return LRTestEnd("failed", str(error), None)
        except Exception as error:  # noqa: BLE001 - the window and the CLI must hear why
            return LRTestEnd("failed", self._failure(error, listener), None)
        result = self._result(points, exploded)
        if not points:
            return LRTestEnd("failed", (
                f"The loss was not a number from the first batch at {lr_text(self.start_lr)}: "
                "start the test at a lower rate."), result)
        return LRTestEnd("finished", result.summary(), result)

    def _sweep(self, listener: Listener, control: Control, points: list[LRTestStep],
               exploded: list[float]) -> None:
        trainer = self.trainer
        groups = trainer.optimizer.param_groups
        # Groups keep their proportions (a backbone trained slower than the head): the rate
        # swept is the first group's, the one the settings' learning rate sets.
        scales = [group["lr"] / groups[0]["lr"] for group in groups]
        batch_size, batches = trainer.config.batch_size, trainer.batches_per_epoch
        trainer.model.train()
        average, best = 0.0, math.inf
        order = generator = None
        for step, lr in enumerate(lr_range(self.start_lr, self.end_lr, self.steps), 1):
            if control.paused and not control.wait_while_paused():
                raise StopRequested
            if control.stop_requested:
                raise StopRequested
            epoch, batch = divmod(step - 1, batches)
            if batch == 0:  # the batches of epochs 1, 2, ... as a run draws them
                order, generator = trainer.epoch_order(epoch + 1)
            x, y = trainer.training_batch(order[batch * batch_size:(batch + 1) * batch_size],
                                          generator)
            for group, scale in zip(groups, scales, strict=True):
                group["lr"] = lr * scale
            loss = trainer.step(x, y, schedule=False)[0].detach().item()
            if not math.isfinite(loss):
                exploded.append(lr)
                return
            average = self.smoothing * average + (1 - self.smoothing) * loss
            smoothed = average / (1 - self.smoothing ** step)
            points.append(LRTestStep(step, self.steps, lr, loss, smoothed))
            listener(points[-1])
            best = min(best, smoothed)
            if smoothed > self.explodes_at * best:
                exploded.append(lr)
                return

    def _result(self, points: list[LRTestStep], exploded: list[float]) -> LRTestResult:
        lrs = [p.lr for p in points]
        smoothed = [p.smoothed for p in points]
        steepest, lowest = suggest(lrs, smoothed, self.steps)
        return LRTestResult(
            lrs=tuple(lrs), losses=tuple(p.loss for p in points), smoothed=tuple(smoothed),
            start_lr=self.start_lr, end_lr=self.end_lr, steps=self.steps,
            exploded_at=exploded[0] if exploded else None, steepest=steepest,
            min_loss_lr=lowest)

    def _failure(self, error: Exception, listener: Listener) -> str:
        config = self.trainer.config
        text = str(error).lower()
        if isinstance(error, (torch.OutOfMemoryError, MemoryError)) or "out of memory" in text:
            return (f"Out of memory with batch size {config.batch_size}. Try a smaller batch "
                    f"size (e.g. {max(1, config.batch_size // 2)}) or a smaller model.")
        listener(LogLine("".join(traceback.format_exception(error)).rstrip(), "error"))
        return f"The learning-rate test failed: {type(error).__name__}: {error}"


def _without_run_start(listener: Listener) -> Listener:
    """listener, without the trainer's RunStart: a range test is not a training run."""

    def report(event: Event) -> None:
        if not isinstance(event, RunStart):
            listener(event)

    return report
