"""One trial of a sweep, as the sweep drives its run: the control that lets the sweep's pause
and stop through while the pruner stops the trial alone, and the score that follows the
run's accuracies for the trial's value and the pruner."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from engine.control import Control
from engine.events import EpochEnd, Event, RunEnd, RunStart


class TrialControl(Control):
    """One trial's control: the sweep's pause, stop and settings changes reach it, and the
    pruner can stop it alone."""

    def __init__(self, sweep: Control) -> None:
        self._sweep = sweep
        super().__init__()

    @property
    def paused(self) -> bool:
        return self._sweep.paused or super().paused

    @property
    def stop_requested(self) -> bool:
        return self._sweep.stop_requested or super().stop_requested

    @property
    def stopped_by(self) -> str:
        return self._sweep.stopped_by if self._sweep.stop_requested else self._stopped_by

    @stopped_by.setter
    def stopped_by(self, by: str) -> None:
        self._stopped_by = by

    def wait_while_paused(self) -> bool:
        return self._sweep.wait_while_paused() and super().wait_while_paused()

    def take_changes(self) -> dict[str, Any]:
        changes = self._sweep.take_changes()
        changes.update(super().take_changes())
        return changes

    def epoch_ended(self, epoch: int) -> None:
        self._sweep.epoch_ended(epoch)  # a "stop after epoch N" asked of the sweep
        super().epoch_ended(epoch)


@dataclass
class TrialScore:
    """Follows a trial's runs (one per seed): each run's best accuracy by the objective, and
    with a `trial` to report to, the first run's accuracy at each epoch for the pruner."""

    metric: str  # "val_acc" | "test_acc"
    control: Control
    trial: Any = None  # Optuna's trial, when the sweep prunes
    bests: list[float] = field(default_factory=list)
    pruned_at: int | None = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStart):
            self.bests.append(-math.inf)
        elif isinstance(event, RunEnd) and event.reason in ("diverged", "failed") and self.bests:
            self.bests[-1] = -math.inf  # as a seed group counts: only runs that kept a model
        elif isinstance(event, EpochEnd) and self.bests:
            value = getattr(event, self.metric)
            if value is None or not math.isfinite(value):
                return
            self.bests[-1] = max(self.bests[-1], value)
            # The first seed of every trial is the same seed: its epochs compare like for like.
            if self.trial is not None and len(self.bests) == 1 and self.pruned_at is None:
                self.trial.report(value, event.epoch)
                if self.trial.should_prune():
                    self.pruned_at = event.epoch
                    self.control.stop_after(event.epoch, by="the median pruner")

    @property
    def value(self) -> float | None:
        """The mean of the runs' best accuracies (None before any epoch ended)."""
        done = [b for b in self.bests if math.isfinite(b)]
        return sum(done) / len(done) if done else None


def trial_state(end: RunEnd, score: TrialScore, control: Control) -> str:
    """How a trial ended: "stopped" (the sweep was), "pruned", "complete" (its run kept a
    model and an accuracy) or "failed"."""
    if control.stop_requested:
        return "stopped"
    if score.pruned_at is not None and score.value is not None:
        return "pruned"
    if end.reason in ("finished", "learned_nothing") and score.value is not None:
        return "complete"
    return "failed"
