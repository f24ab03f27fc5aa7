"""A trial's control and score, as the sweep drives a trial's run."""

import pytest

from engine.control import Control
from engine.events import EpochEnd, RunEnd, RunStart
from engine.experiments.trial import TrialControl, TrialScore


def test_the_sweeps_stop_and_pause_reach_the_trial_but_the_pruners_stop_stays_in_it():
    sweep = Control()
    pruned = TrialControl(sweep)
    pruned.stop_after(2, by="the median pruner")
    pruned.epoch_ended(2)
    assert pruned.stop_requested and pruned.stopped_by == "the median pruner"
    assert not sweep.stop_requested
    trial = TrialControl(sweep)
    sweep.pause()
    assert trial.paused
    sweep.request_changes({"lr": 0.1})
    assert trial.take_changes() == {"lr": 0.1}
    sweep.stop("SIGTERM")
    assert trial.stop_requested and trial.stopped_by == "SIGTERM"
    assert not trial.wait_while_paused()


def epoch(number: int, test_acc: float) -> EpochEnd:
    return EpochEnd(number, 3, 1.0, 0.5, None, None, 1.0, test_acc, 0.01, 0.1)


def run_start() -> RunStart:
    return RunStart("mlp", "mnist", "CPU", 3, 0, 1, 10, 0, 10, 1, ("0",), (1, 8, 8))


class Reports:
    """Optuna's trial as the score uses it: reports, and a pruner that prunes at epoch 2."""

    def __init__(self):
        self.reported = []

    def report(self, value, step):
        self.reported.append((step, value))

    def should_prune(self):
        return self.reported[-1][0] == 2


def test_the_score_is_the_mean_of_the_runs_that_kept_a_model_and_prunes_on_the_first():
    control, trial = Control(), Reports()
    score = TrialScore("test_acc", control, trial)
    for run, accuracies, end in (("seed 0", (0.5, 0.7, 0.6), "finished"),
                                 ("seed 1", (0.9, 0.8), "finished"),
                                 ("seed 2", (0.95,), "diverged")):
        score(run_start())
        for number, acc in enumerate(accuracies, 1):
            score(epoch(number, acc))
        score(RunEnd(end, run, len(accuracies)))
    assert score.value == pytest.approx((0.7 + 0.9) / 2)
    assert trial.reported == [(1, 0.5), (2, 0.7)]  # the first run's epochs only, to the prune
    assert score.pruned_at == 2
    control.epoch_ended(2)
    assert control.stop_requested and control.stopped_by == "the median pruner"
