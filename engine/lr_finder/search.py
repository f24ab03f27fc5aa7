"""The learning-rate range test (Leslie Smith, 2015; fastai's `lr_find`), with a check.

`LRFinder(trainer).run(listener, control)` trains the trainer's model for up to `steps`
batches while the learning rate rises exponentially from `start_lr` to `end_lr`, and
records the loss of each batch, smoothed (an exponential moving average with bias
correction, as fastai does, with a shorter memory: see SMOOTHING). It stops early once
the smoothed loss exceeds `explodes_at` times the best seen so far, or a loss is not a
number: past that point the rate is far too high.

The curve alone is not a safe answer. Its steepest descent often sits at the edge of the
explosion: a network that barely moves in 100 batches (the classic, sigmoid LeNet-5) only
falls once the rate is so high that the fall is a kick before the blow-up, and at that rate
a real run learns nothing. So the curve only proposes: the rates 3, 10, 30 and 100 times
below its minimum (`check_rates`). Each is then checked (`RateCheck`): trained for half as
many batches as the sweep, from the same starting state, at a constant rate; where none
lowered the loss clearly, those that did not blow up are checked again for twice as many
batches. The rate suggested is the one whose loss ended lowest, the lower of two that ended
about equal (`choose`). The suggestion is "unsure" (said why, never preselected by the
window, and no "Train with" line in the CLI) when the curve did not fall clearly, or no
checked rate lowered the loss clearly even then: the network needs more batches to show
what trains.

The test runs on what a real run would build (`Trainer.prepare`: the same model, optimizer,
batches and device) and leaves no trace: the model's weights and BatchNorm statistics, the
optimizer's and schedule's state and the random generators are put back exactly afterwards
(and before each check). It reports `LRTestStep` and `LRCheckStep` events to a listener and
obeys a `Control` (Stop) before each batch.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch

from engine.config import TrainConfig
from engine.control import Control, StopRequested
from engine.events import Event, Listener, RunStart
from engine.lr_finder.lr_range import (
    DEFAULT_END_LR,
    DEFAULT_START_LR,
    DEFAULT_STEPS,
    MIN_STEPS,
    lr_range,
    lr_text,
    range_problem,
    round_lr,
)
from engine.runtime.devices import resolve_device
from engine.text import plural
from engine.training.outcomes import EXPECTED_PROBLEMS, expected_problem, failure_message
from engine.training.trainer import Trainer

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
# The rates checked, as divisors of the rate at the curve's minimum: never the minimum's own
# neighbourhood, where the curve is already exploding.
CHECK_DIVISORS = (3, 10, 30, 100)
CHECK_SHARE = 0.5  # each check trains this share of the sweep's batches
CHECK_ROUNDS = 2  # where no rate trained clearly, the checks again, each round twice as long
# The best check must end this much below the untrained loss to count as training.
MIN_CHECK_FALL = 0.05
# Checks ending within this share of the best's loss are a tie, won by the lowest rate:
# a short check favours high rates, which a longer run may not keep up with.
TIE = 0.02


@dataclass(frozen=True)
class LRTestStep:
    """One batch of the range test."""

    step: int  # 1-based
    steps: int  # the most the test takes
    lr: float
    loss: float  # this batch's loss
    smoothed: float  # the smoothed loss so far


@dataclass(frozen=True)
class LRCheckStep:
    """One batch of the check of one proposed rate."""

    lr: float  # the rate checked
    index: int  # which check, 1-based
    checks: int  # how many rates are checked
    batch: int  # 1-based, of `batches`
    batches: int
    loss: float


@dataclass(frozen=True)
class RateCheck:
    """A proposed rate trained for `batches` batches from the model's starting state."""

    lr: float
    batches: int  # batches trained (fewer than planned if it blew up)
    loss: float  # the mean loss of its last third; inf if it blew up

    @property
    def blew_up(self) -> bool:
        return not math.isfinite(self.loss)


@dataclass(frozen=True)
class LRTestResult:
    """The curve of a range test, the checks of the rates it proposed, and the rate
    suggested (None where there is none; `unsure` says why a suggestion is not sure)."""

    lrs: tuple[float, ...]
    losses: tuple[float, ...]
    smoothed: tuple[float, ...]
    start_lr: float
    end_lr: float
    steps: int  # the most the sweep would have taken
    exploded_at: float | None  # the rate at which the loss exploded and the sweep stopped
    min_loss_lr: float | None  # the rate at the smoothed loss's minimum (not rounded)
    checks: tuple[RateCheck, ...] = ()
    suggested: float | None = None
    unsure: str = ""  # why the suggestion (or the lack of one) is not sure; "" when sure

    @property
    def sure(self) -> bool:
        return self.suggested is not None and not self.unsure

    def summary(self) -> str:
        """What the test says, in a few sentences."""
        tried = (f"Tried {plural(len(self.lrs), 'learning rate')} from {lr_text(self.start_lr)} "
                 f"to {lr_text(self.lrs[-1]) if self.lrs else lr_text(self.start_lr)}")
        if self.exploded_at is not None:
            tried += f"; the loss exploded at {lr_text(self.exploded_at)}"
        elif len(self.lrs) == self.steps:
            tried += "; the loss had not exploded by the end"
        if self.min_loss_lr is None:
            return (f"{tried}. The loss did not fall clearly over these rates, so there is no "
                    "rate to suggest: the network may need more batches to show a descent "
                    "(take more), or the data and labels need a look.")
        text = f"{tried}. The smoothed loss was lowest at {lr_text(self.min_loss_lr)}."
        if self.checks:
            text += " " + checks_text(self.checks)
        if self.suggested is None:
            return f"{text} {self.unsure[:1].upper()}{self.unsure[1:]}".rstrip()
        if self.unsure:
            return (f"{text} Not sure: {self.unsure} Best of those checked: "
                    f"{lr_text(self.suggested)}, to try with an eye on the first epoch.")
        return f"{text} Suggested: {lr_text(self.suggested)}."


def checks_text(checks: tuple[RateCheck, ...]) -> str:
    """The checks in a sentence: each rate checked and the loss it ended at."""
    ends = [f"{'blown up' if c.blew_up else f'{c.loss:.3g}'} at {lr_text(c.lr)}"
            for c in checks]
    batches = max(c.batches for c in checks)
    return (f"Trained {plural(batches, 'batch', 'batches')} at each rate checked, the loss "
            f"ending: {', '.join(ends)}.")


@dataclass(frozen=True)
class LRTestEnd:
    reason: str  # "finished" (the curve is complete) | "stopped" (by the person) | "failed"
    message: str  # a sentence for a person
    result: LRTestResult | None  # None when the test failed before its first batch


def curve_minimum(lrs: list[float], smoothed: list[float], steps: int) -> float | None:
    """The rate at the smoothed loss curve's minimum; None where the curve does not fall
    clearly (`MIN_FALL`). As fastai does, the first tenth of the planned `steps` is left out
    (the average is still settling there)."""
    skip = min(steps // 10, max(len(smoothed) - 2, 0))
    losses = np.asarray(smoothed[skip:], dtype=float)
    if len(losses) < 2:
        return None
    lowest = int(np.argmin(losses))
    if losses[lowest] > losses[0] * (1 - MIN_FALL):  # flat or rising: no descent to point at
        return None
    return float(lrs[skip + lowest])


def check_rates(min_loss_lr: float, start_lr: float) -> list[float]:
    """The rates to check, highest first: 3 to 100 times below the curve's minimum, rounded,
    none below the sweep's start."""
    rates = {round_lr(min_loss_lr / d) for d in CHECK_DIVISORS}
    return sorted((r for r in rates if r >= start_lr), reverse=True)


def choose(checks: list[RateCheck], untrained_loss: float) -> tuple[float | None, str]:
    """(the rate to suggest, why it is not sure or "") from the checks of proposed rates.

    The lowest loss wins, and the lowest rate among those within TIE of it; the winner is
    sure only if its loss ended MIN_CHECK_FALL below `untrained_loss` (where the curve
    started).
    """
    trained = [c for c in checks if not c.blew_up]
    if not trained:
        return None, ("Every rate checked blew up: start the test lower, or look at the "
                      "data and labels.")
    best = min(c.loss for c in trained)
    chosen = min((c for c in trained if c.loss <= best * (1 + TIE)), key=lambda c: c.lr)
    if chosen.loss > untrained_loss * (1 - MIN_CHECK_FALL):
        return chosen.lr, (
            "no rate checked lowered the loss clearly in "
            f"{plural(chosen.batches, 'batch', 'batches')} ({untrained_loss:.3g} to "
            f"{best:.3g} at best); test again over more batches.")
    return chosen.lr, ""


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
        """Test, check, put everything back, and say how it went; never raises for a
        problem a person can fix (bad settings, missing data, out of memory)."""
        control = control or Control()
        points: list[LRTestStep] = []
        exploded: list[float] = []
        checks: list[RateCheck] = []
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
                    self._check(listener, control, points, checks, before)
                finally:
                    trainer.load_training_state(before)
                    if prepared_here:
                        trainer.release_data()
        except StopRequested:
            result = self._result(points, exploded, checks, stopped=True) if points else None
            done = f"after {plural(len(points), 'batch', 'batches')} of {self.steps}"
            if checks:
                done += f" and {plural(len(checks), 'rate')} checked"
            return LRTestEnd("stopped", f"Stopped by {control.stopped_by} {done}. " + (
                result.summary() if result else "Nothing was tested."), result)
        except EXPECTED_PROBLEMS as error:
            return LRTestEnd("failed", expected_problem(error), None)
        except Exception as error:  # noqa: BLE001 - the window and the CLI must hear why
            return LRTestEnd("failed", failure_message(error, trainer.config, listener,
                                                       what="The learning-rate test"), None)
        result = self._result(points, exploded, checks)
        if not points:
            return LRTestEnd("failed", (
                f"The loss was not a number from the first batch at {lr_text(self.start_lr)}: "
                "start the test at a lower rate."), result)
        return LRTestEnd("finished", result.summary(), result)

    @property
    def check_batches(self) -> int:
        """The batches each proposed rate is trained for."""
        return max(MIN_STEPS, round(self.steps * CHECK_SHARE))

    def _batches(self, count: int, control: Control):
        """`count` training batches as a run draws them from its first epoch on (the
        epochs after it as they come), each after a look at Stop and Pause."""
        trainer = self.trainer
        batch_size, per_epoch = trainer.config.batch_size, trainer.batches_per_epoch
        order = generator = None
        for step in range(count):
            if control.paused and not control.wait_while_paused():
                raise StopRequested
            if control.stop_requested:
                raise StopRequested
            epoch, batch = divmod(step, per_epoch)
            if batch == 0:  # the batches of epochs 1, 2, ... as a run draws them
                order, generator = trainer.epoch_order(epoch + 1)
            yield trainer.training_batch(order[batch * batch_size:(batch + 1) * batch_size],
                                         generator)

    def _set_lr(self, lr: float, scales: list[float]) -> None:
        # Groups keep their proportions (a backbone trained slower than the head): the rate
        # set is the first group's, the one the settings' learning rate sets.
        for group, scale in zip(self.trainer.optimizer.param_groups, scales, strict=True):
            group["lr"] = lr * scale

    def _scales(self) -> list[float]:
        groups = self.trainer.optimizer.param_groups
        return [group["lr"] / groups[0]["lr"] for group in groups]

    def _sweep(self, listener: Listener, control: Control, points: list[LRTestStep],
               exploded: list[float]) -> None:
        trainer, scales = self.trainer, self._scales()
        trainer.model.train()
        average, best = 0.0, math.inf
        rates = lr_range(self.start_lr, self.end_lr, self.steps)
        for step, (lr, (x, y)) in enumerate(zip(rates, self._batches(self.steps, control),
                                                strict=False), 1):
            self._set_lr(lr, scales)
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

    def _check(self, listener: Listener, control: Control, points: list[LRTestStep],
               checks: list[RateCheck], before: dict) -> None:
        """Train each rate the curve proposes from the state `before` the sweep; where none
        trained clearly, those that did not blow up again, for twice as many batches (a
        network that barely moves in 50 batches may in 100)."""
        lowest = curve_minimum([p.lr for p in points], [p.smoothed for p in points],
                               self.steps)
        if lowest is None:
            return
        rates, batches = check_rates(lowest, self.start_lr), self.check_batches
        untrained = _untrained_loss(points, self.steps)
        blown: list[RateCheck] = []
        for longer in range(CHECK_ROUNDS):
            done = [self._check_rate(lr, (index, len(rates)), batches, untrained, before,
                                     listener, control)
                    for index, lr in enumerate(rates, 1)]
            checks[:] = sorted(blown + done, key=lambda c: -c.lr)
            rate, unsure = choose(checks, untrained)
            if rate is None or not unsure or longer == CHECK_ROUNDS - 1:
                return
            blown += [c for c in done if c.blew_up]
            rates, batches = [c.lr for c in done if not c.blew_up], 2 * batches

    def _check_rate(self, lr: float, place: tuple[int, int], batches: int, untrained: float,
                    before: dict, listener: Listener, control: Control) -> RateCheck:
        """Train `batches` batches at `lr` from `before`; blown up past EXPLODES_AT times
        the untrained loss."""
        trainer = self.trainer
        # A copy: the optimizer takes CPU tensors as they are, and would train `before`
        # itself in place.
        trainer.load_training_state(copy.deepcopy(before))
        trainer.model.train()
        self._set_lr(lr, self._scales())
        losses: list[float] = []
        for batch, (x, y) in enumerate(self._batches(batches, control), 1):
            loss = trainer.step(x, y, schedule=False)[0].detach().item()
            listener(LRCheckStep(lr, *place, batch, batches, loss))
            if not (math.isfinite(loss) and loss < self.explodes_at * untrained):
                return RateCheck(lr, batch, math.inf)
            losses.append(loss)
        return RateCheck(lr, batches, float(np.mean(losses[-max(1, batches // 3):])))

    def _result(self, points: list[LRTestStep], exploded: list[float],
                checks: list[RateCheck], stopped: bool = False) -> LRTestResult:
        lrs = [p.lr for p in points]
        smoothed = [p.smoothed for p in points]
        lowest = curve_minimum(lrs, smoothed, self.steps)
        suggested, unsure = None, ""
        if stopped and lowest is not None:
            unsure = "the test was stopped before every proposed rate was checked."
        elif checks:
            suggested, unsure = choose(checks, _untrained_loss(points, self.steps))
        return LRTestResult(
            lrs=tuple(lrs), losses=tuple(p.loss for p in points), smoothed=tuple(smoothed),
            start_lr=self.start_lr, end_lr=self.end_lr, steps=self.steps,
            exploded_at=exploded[0] if exploded else None,
            min_loss_lr=lowest, checks=tuple(checks), suggested=suggested, unsure=unsure)


def _untrained_loss(points: list[LRTestStep], steps: int) -> float:
    """Where the smoothed curve starts (after the average settles): the untrained loss."""
    return points[min(steps // 10, len(points) - 1)].smoothed


def _without_run_start(listener: Listener) -> Listener:
    """listener, without the trainer's RunStart: a range test is not a training run."""

    def report(event: Event) -> None:
        if not isinstance(event, RunStart):
            listener(event)

    return report
