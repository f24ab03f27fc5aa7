"""The training loop as plain functions: `train_one_epoch`, then `evaluate` at its end.

Read top to bottom, an epoch is: draw the epoch's shuffled order; for each batch, look at
Pause, Stop and changed settings, take the batch, one optimisation step (`train_step`),
and keep its loss and correct count on the device. Those are read back in one go a few
times a second (`EpochTally.flush`) and reported as `BatchEnd` events: the loop never
synchronises the device per batch just to report. At the epoch's end the validation and
test sets are evaluated, again with one read-back.

The same functions run every process of a torchrun run: `world` is this process's place
among them (engine.training.distributed), a world of one in an ordinary run.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from engine import analysis
from engine.analysis import Evaluation
from engine.control import Control, StopRequested
from engine.data.pipeline import PASS_IMAGES, pass_batch
from engine.events import BatchEnd, EpochEnd, Listener, LogLine, RunEstimate
from engine.runtime import acceleration
from engine.runtime.devices import available_devices
from engine.training.distributed import World
from engine.training.outcomes import Diverged
from engine.training.setup import TrainingSetup

# The run's duration is estimated once these many batches and seconds of training are done.
ESTIMATE_AFTER_BATCHES = 5
ESTIMATE_AFTER_SECONDS = 2.0


def epoch_order(seed: int, epoch: int, n: int, device: torch.device,
                world: World) -> tuple[torch.Tensor, torch.Generator]:
    """The shuffled order of the n training images in `epoch`, and the generator its
    augmentation draws from; seeds the global generator (dropout) for the epoch too.

    Shuffling, augmentation and dropout depend only on (seed, epoch): a resumed run
    draws exactly the numbers the uninterrupted run would have drawn.
    """
    seed = seed * 100_003 + epoch
    generator = torch.Generator().manual_seed(seed)  # shuffling: on the CPU, repeatable
    augment_generator = world.own_generator(seed, device, generator)
    return torch.randperm(n, generator=generator).to(device), augment_generator


def train_one_epoch(setup: TrainingSetup, epoch: int, order: torch.Tensor,
                    augment: torch.Generator, batch_size: int, step0: int, world: World,
                    control: Control, listener: Listener, estimate: Estimate,
                    change_settings: Callable[[dict, int, int, int, Listener], None],
                    compile_clock: acceleration.CompileClock | None) -> EpochTally:
    """Train one epoch's batches of `order`; returns its tally (examples seen, correct,
    summed loss, seconds).

    change_settings(requested, epoch, batch, step, listener) applies what a person changed
    while paused (engine/training/midrun.py); compile_clock times the first, compiling step
    of a torch.compile'd model (None without --compile).
    """
    batches, tuner = setup.batches, setup.tuner
    setup.model.train()
    if tuner is not None:
        tuner.restart_window()  # the evaluation since the last batch is not training
    tally = EpochTally(epoch, batches, step0, time.perf_counter())
    for batch in range(1, batches + 1):
        if control.paused:
            # What ran before the pause is shown now, not after the resume.
            tally.flush(listener, world)
            wait_from = time.perf_counter()
            listener(LogLine(f"Paused at epoch {epoch}, batch {batch}."))
            if control.wait_while_paused():
                listener(LogLine("Resumed."))
            tally.paused_seconds += time.perf_counter() - wait_from
            if tuner is not None:
                tuner.restart_window()
        if control.stop_requested:
            raise StopRequested
        requested = control.take_changes()
        if requested:
            change_settings(requested, epoch, batch, step0 + batch, listener)
        # Under torchrun each process takes its share of the whole batch.
        whole = order[(batch - 1) * batch_size: batch * batch_size]
        idx = world.share(whole)
        loss_weight = world.loss_weight(len(idx), len(whole))
        x, y = setup.training_batch(idx, augment)
        lr = setup.optimizer.param_groups[0]["lr"]
        if compile_clock is not None and compile_clock.pending:
            # The first step compiles: its time is said apart and left out of the speed.
            compile_clock.begin()
            loss, logits = train_step(setup, x, y, loss_weight)
            seconds = compile_clock.end(setup.device)
            listener(LogLine(f"Compiled the model (torch.compile) in {seconds:.1f} s, with "
                             "its first step; the training speed leaves this out."))
            tally.paused_seconds += seconds
        else:
            loss, logits = train_step(setup, x, y, loss_weight)
        if tuner is not None:
            change = tuner.batch_done(len(y))
            if change:
                listener(LogLine(change))
        tally.add(batch, loss, logits, y, lr)
        # The last batch always flushes; before it, as often as the world agrees on.
        if batch == batches or world.flush_due(tally):
            tally.flush(listener, world)
            if estimate.due(epoch, batch, batches, tally):
                listener(estimate.make(batch, batches, tally))
    return tally


def train_step(setup: TrainingSetup, x: torch.Tensor, y: torch.Tensor,
               loss_weight: float = 1.0,
               schedule: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimisation step on a batch: (the loss, the logits), left on the device.

    The gradients come from the loss times `loss_weight` (1, except for a torchrun
    process's share of a batch: engine.training.distributed); the loss returned is the
    batch's (the share's) own mean. With `schedule` False the LR schedule is not advanced
    (the LR finder sets the rate itself).
    """
    with setup.autocast():
        logits = setup.net(x)
        loss = setup.loss_fn(logits, y)
    scaled = loss * loss_weight if loss_weight != 1.0 else loss
    optimizer = setup.optimizer
    optimizer.zero_grad(set_to_none=True)
    if setup.scaler is not None:
        setup.scaler.scale(scaled).backward()
        setup.scaler.step(optimizer)
        setup.scaler.update()
    else:
        scaled.backward()
        optimizer.step()
    if schedule and setup.scheduler is not None:
        setup.scheduler.step()
    return loss, logits


def end_of_epoch(setup: TrainingSetup, epoch: int, epochs: int, tally: EpochTally,
                 world: World, control: Control) -> EpochEnd:
    """Evaluate the epoch's model on the validation and test sets: the epoch's record."""
    train_seconds = tally.active_seconds(time.perf_counter())
    # Every process evaluates with rank 0's BatchNorm statistics, the ones it saves.
    world.sync_buffers(setup.model)
    val_loss, val_acc, _ = (evaluate(setup, setup.evaluation_inputs("val"), setup.val_y,
                                     control, world)
                            if len(setup.val_y) else (None, None, None))
    test_loss, test_acc, evaluation = evaluate(setup, setup.evaluation_inputs("test"),
                                               setup.test_y, control, world, epoch=epoch)
    return EpochEnd(
        epoch=epoch, epochs=epochs, train_loss=tally.loss_sum / tally.seen,
        train_acc=tally.correct / tally.seen, val_loss=val_loss, val_acc=val_acc,
        test_loss=test_loss, test_acc=test_acc, lr=setup.optimizer.param_groups[0]["lr"],
        seconds=train_seconds, evaluation=evaluation, steps=tally.step0 + setup.batches)


def evaluate(setup: TrainingSetup, images: torch.Tensor, labels: torch.Tensor,
             control: Control, world: World,
             epoch: int | None = None) -> tuple[float, float, Evaluation | None]:
    """Mean cross-entropy (without label smoothing), accuracy and, given the epoch, each
    image's prediction (`Evaluation`): all read back from the device in one go.

    images: uint8 images, or their kept features (`TrainingSetup.evaluation_inputs`)."""
    model, dataset = setup.model, setup.dataset
    model.eval()
    n = len(labels)
    keep = epoch is not None and n > 0
    # Under torchrun each process takes a slice and the sums are shared: the rows of the
    # other slices stay zero here and are filled by the others' (engine.training.distributed).
    first, end = world.span(n)
    loss_sum = torch.zeros((), device=labels.device)
    correct = torch.zeros((), device=labels.device)
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    if keep:
        kept = analysis.kept_classes(dataset.num_classes, n)
        top_probs = torch.zeros((n, kept), device=labels.device)
        top_classes = torch.zeros((n, kept), device=labels.device, dtype=torch.long)
        true_probs = torch.zeros(n, device=labels.device)
    # Kept features are small: as many as 1024 images'.
    step = PASS_IMAGES if images.is_floating_point() else pass_batch(setup.input_size)
    with torch.inference_mode():
        for start in range(first, end, step):
            if control.stop_requested:
                model.train()
                raise StopRequested
            y = labels[start:min(start + step, end)]
            logits = setup.evaluation_logits(images[start:min(start + step, end)]).float()
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
    host = world.sum(torch.cat(totals)).cpu().numpy()  # the one read-back
    loss, acc = float(host[0]) / max(n, 1), float(host[1]) / max(n, 1)
    if not keep:
        return loss, acc, None
    probs_at, classes_at = 2 + n, 2 + n + n * kept
    return loss, acc, Evaluation(
        epoch=epoch, num_classes=dataset.num_classes, labels=dataset.test_labels.numpy(),
        top_classes=host[classes_at:].astype(np.int32).reshape(n, kept),
        top_probs=host[probs_at:classes_at].reshape(n, kept),
        true_probs=host[2:probs_at])


class EpochTally:
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

    def flush(self, listener: Listener, world: World) -> None:
        """The one device read-back for all batches since the last flush; under torchrun,
        of the whole batches, all processes' shares summed (engine.training.distributed)."""
        if not self._meta:
            return
        now = time.perf_counter()
        rate_time = self.active_seconds(now)
        losses, corrects, sizes = world.combine(
            torch.stack(self._losses), torch.stack(self._corrects),
            [size for _, size, _ in self._meta], rate_time / self._meta[-1][0])
        for (b, _, b_lr), size, b_loss, b_correct in zip(self._meta, sizes, losses, corrects,
                                                          strict=True):
            if not math.isfinite(b_loss):
                raise Diverged(self.epoch, b, b_loss)
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


class Estimate:
    """How long the run will take, said once, in its first epoch: after a few batches and
    seconds of training, or at the epoch's end if that comes first."""

    def __init__(self, first_epoch: int, epochs: int, evaluated: int, device_label: str,
                 on_cpu: bool) -> None:
        self.first_epoch, self.epochs, self.evaluated = first_epoch, epochs, evaluated
        self.device_label, self.on_cpu = device_label, on_cpu
        self.done = False

    def due(self, epoch: int, batch: int, batches: int, tally: EpochTally) -> bool:
        if epoch != self.first_epoch or self.done:
            return False
        enough = (batch >= ESTIMATE_AFTER_BATCHES
                  and tally.active_seconds(time.perf_counter()) >= ESTIMATE_AFTER_SECONDS)
        return enough or batch == batches

    def make(self, batch: int, batches: int, tally: EpochTally) -> RunEstimate:
        self.done = True
        per_batch = tally.active_seconds(time.perf_counter()) / batch
        # Evaluation runs the network forward only (about a third of a training step) over
        # the validation and test images, once per epoch.
        examples_per_second = tally.seen / max(per_batch * batch, 1e-9)
        per_epoch = per_batch * batches + self.evaluated / examples_per_second / 3
        faster = None
        if self.on_cpu:
            faster = next((d.label for d in available_devices() if d.id != "cpu"), None)
        return RunEstimate(seconds_per_epoch=per_epoch, total_seconds=per_epoch * self.epochs,
                           epochs=self.epochs, device=self.device_label,
                           faster_device=faster)
