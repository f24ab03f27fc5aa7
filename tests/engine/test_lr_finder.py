"""The learning-rate range test on tiny runs in the real raw formats."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

import engine.lr_finder.search as lr_finder
import engine.training.loop as loop_module
import engine.training.setup as training_setup
from engine.config import TrainConfig
from engine.control import Control
from engine.events import LogLine, RunStart
from engine.lr_finder.lr_range import lr_range, lr_text, round_lr
from engine.lr_finder.search import (
    CHECK_DIVISORS,
    LRCheckStep,
    LRFinder,
    LRTestResult,
    LRTestStep,
    RateCheck,
    check_rates,
    choose,
    curve_minimum,
)
from engine.training.trainer import Trainer


@pytest.fixture
def config(digits_dir) -> TrainConfig:
    return TrainConfig(arch="mlp", dataset="mnist", data_dir=str(digits_dir), epochs=1,
                       batch_size=20, optimizer="sgd", lr=0.05, device="cpu", seed=1,
                       threads=1)


def states_equal(a, b) -> bool:
    """Nested state dicts hold the same values, tensors compared exactly."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(states_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(states_equal(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def test_the_rates_rise_exponentially_from_start_to_end():
    rates = lr_range(1e-6, 1.0, 7)
    assert rates[0] == 1e-6 and math.isclose(rates[-1], 1.0)
    assert np.allclose(np.diff(np.log10(rates)), 1.0)


def test_rates_are_rounded_and_written_as_people_write_them():
    assert round_lr(2.8e-3) == 3e-3 and round_lr(0.74) == 0.7
    assert [lr_text(v) for v in (3e-3, 2.81e-3, 1e-7, 0.03, 1.0, 10.0)] == [
        "3e-3", "2.81e-3", "1e-7", "0.03", "1", "10"]


def test_the_minimum_is_found_on_a_crafted_curve():
    rates = lr_range(1e-5, 10, 61)
    logs = np.log10(rates)
    # Falls fastest at 1e-2 (a logistic step centred there), lowest at 1e-1, then explodes.
    curve = 2.0 - 1.5 / (1 + np.exp(-4 * (logs + 2))) + np.where(logs > -1, (logs + 1) ** 2 * 9, 0)
    assert curve_minimum(rates, list(curve), steps=61) == pytest.approx(1e-1, rel=0.25)


@pytest.mark.parametrize("curve", [
    [2.3] * 40,  # flat
    list(np.linspace(2.3, 2.29, 40)),  # a drift within the noise
    list(np.linspace(2.3, 5.0, 40)),  # only rising
])
def test_no_rate_is_suggested_where_the_loss_does_not_fall(curve):
    assert curve_minimum(lr_range(1e-6, 1, 40), curve, steps=40) is None


def test_a_tiny_run_gives_a_curve_and_a_checked_suggestion_inside_the_swept_range(config):
    events = []
    end = LRFinder.for_config(config, steps=40, start_lr=1e-5, end_lr=10).run(events.append)
    result = end.result
    assert end.reason == "finished", end.message
    steps = [e for e in events if isinstance(e, LRTestStep)]
    assert len(steps) == len(result.lrs) >= 10
    assert [e.lr for e in steps] == list(result.lrs)
    assert result.lrs[0] == 1e-5 and all(np.diff(result.lrs) > 0)
    assert all(math.isfinite(v) for v in result.losses + result.smoothed)
    # The curve proposes, the checks decide: each proposed rate trained 20 batches.
    assert [c.lr for c in result.checks] == check_rates(result.min_loss_lr, 1e-5)
    checked = [e for e in events if isinstance(e, LRCheckStep)]
    assert len(checked) == sum(c.batches for c in result.checks)
    assert {e.batches for e in checked} == {20}
    assert result.suggested in [c.lr for c in result.checks]
    assert result.suggested <= result.min_loss_lr / 3
    assert lr_text(result.suggested) in end.message
    assert not any(isinstance(e, RunStart) for e in events)  # a test is not a run


def test_checks_that_trained_nothing_clearly_run_again_twice_as_long(config, monkeypatch):
    """A network that barely moves in the checks' batches gets a second, longer round (the
    rates that blew up are not tried again); still unclear, the suggestion is unsure."""
    monkeypatch.setattr(lr_finder, "MIN_CHECK_FALL", 1.0)  # no loss falls that far
    events = []
    result = LRFinder.for_config(config, steps=40, start_lr=1e-5, end_lr=10).run(
        events.append).result
    lengths = [e.batches for e in events if isinstance(e, LRCheckStep)]
    assert sorted(set(lengths)) == [20, 40]
    assert lengths == sorted(lengths)  # the longer round after the first
    assert all(c.batches == 40 for c in result.checks if not c.blew_up)
    assert not result.sure and "in 40 batches" in result.unsure
    assert result.suggested in [c.lr for c in result.checks]


def _sigmoid_lenet_like_curve() -> tuple[list[float], list[float]]:
    """Flat for six decades, a short fall in the last one, then the explosion: what the
    classic LeNet-5 with Adam draws in 100 batches of Fashion-MNIST."""
    rates = lr_range(1e-7, 10, 100)
    logs = np.log10(rates)
    curve = np.where(logs < -1.3, 2.31, 2.31 - 0.3 * (logs + 1.3) / 0.5)
    curve = np.where(logs > -0.8, 2.01 + (logs + 0.8) * 8, curve)
    return rates, list(curve)


def test_a_steepest_descent_at_the_edge_of_the_explosion_is_never_proposed():
    """The curve falls fastest at 0.2, its last step before exploding; a run at 0.2 learns
    nothing. Only rates 3 to 100 times below the minimum are proposed for the checks."""
    rates, curve = _sigmoid_lenet_like_curve()
    lowest = curve_minimum(rates, curve, steps=100)
    slopes = np.gradient(curve, np.log(rates))
    steepest = round_lr(rates[int(np.argmin(slopes))])
    assert steepest >= lowest / 2  # the curve's own pick (the old suggestion) is the edge
    proposed = check_rates(lowest, 1e-7)
    assert len(proposed) == len(CHECK_DIVISORS) and steepest not in proposed
    assert max(proposed) <= lowest / 2.5 and min(proposed) >= lowest / 150


def test_the_rate_that_trained_lowest_is_chosen_and_a_near_tie_goes_to_the_lower_rate():
    checks = [RateCheck(0.06, 50, 2.31), RateCheck(0.02, 50, 2.30), RateCheck(6e-3, 50, 1.5),
              RateCheck(2e-3, 50, 1.9)]
    assert choose(checks, untrained_loss=2.31) == (6e-3, "")
    tie = [RateCheck(0.03, 50, 0.80), RateCheck(0.01, 50, 0.81), RateCheck(3e-3, 50, 1.2)]
    assert choose(tie, untrained_loss=2.3) == (0.01, "")


def test_checks_that_barely_moved_give_an_unsure_best_rate_and_say_why():
    checks = [RateCheck(0.06, 50, 2.30), RateCheck(0.02, 50, 2.29), RateCheck(6e-3, 50, 2.28)]
    rate, unsure = choose(checks, untrained_loss=2.31)
    assert rate == 6e-3 and "no rate checked lowered the loss clearly in 50 batches" in unsure
    assert "more batches" in unsure
    result = LRTestResult(lrs=(1e-3, 1e-2), losses=(2.3, 2.2), smoothed=(2.3, 2.2),
                          start_lr=1e-3, end_lr=1e-1, steps=2, exploded_at=None,
                          min_loss_lr=1e-2, checks=tuple(checks), suggested=rate, unsure=unsure)
    assert not result.sure and "Not sure: no rate checked" in result.summary()
    blown = [RateCheck(0.06, 3, math.inf), RateCheck(0.02, 7, math.inf)]
    assert choose(blown, untrained_loss=2.3)[0] is None


def test_the_model_optimizer_batchnorm_and_random_state_are_restored_exactly(config):
    config = config.replace(arch="vgg11", optimizer="adam", lr=1e-3, batch_size=16)
    trainer = Trainer(config)
    trainer.prepare(lambda _event: None)
    # Some training first, so the optimizer has moments and BatchNorm has statistics.
    order, generator = trainer.epoch_order(1)
    for batch in range(2):
        trainer.step(*trainer.training_batch(order[batch * 16:(batch + 1) * 16], generator))
    model_before = copy.deepcopy(trainer.model.state_dict())
    optimizer_before = copy.deepcopy(trainer.optimizer.state_dict())
    torch.manual_seed(1234)
    rng_before = torch.get_rng_state()
    seen_during = []

    def watch(event):
        if isinstance(event, LRTestStep):
            seen_during.append(copy.deepcopy(trainer.model.state_dict()))

    end = LRFinder(trainer, steps=8, start_lr=1e-4, end_lr=1e-1).run(watch)
    assert end.reason == "finished", end.message
    bn_stats = [k for k in model_before if k.endswith("running_mean")]
    assert bn_stats and not states_equal(seen_during[-1], model_before)  # it did train
    assert not all(torch.equal(seen_during[-1][k], model_before[k]) for k in bn_stats)
    assert states_equal(trainer.model.state_dict(), model_before)
    assert states_equal(trainer.optimizer.state_dict(), optimizer_before)
    assert torch.equal(torch.get_rng_state(), rng_before)


def test_a_run_after_the_test_trains_exactly_as_one_without_it(config):
    trainer = Trainer(config)
    LRFinder(trainer, steps=10).run(lambda _event: None)
    after_test = trainer.run(lambda _event: None)
    alone = Trainer(config)
    alone.run(lambda _event: None)
    assert after_test.reason == "finished"
    assert trainer.history == [{**r, "seconds": trainer.history[0]["seconds"]}
                               for r in alone.history]
    assert states_equal(trainer.model.state_dict(), alone.model.state_dict())


def test_the_test_stops_early_when_the_loss_explodes(config):
    end = LRFinder.for_config(config, steps=60, start_lr=1e-3, end_lr=1e6).run(
        lambda _event: None)
    result = end.result
    assert end.reason == "finished", end.message
    assert result.exploded_at is not None and len(result.lrs) < 60
    assert result.exploded_at > result.lrs[-2]
    assert "exploded" in end.message


def test_stop_ends_the_test_within_a_batch_and_puts_everything_back(config):
    control = Control()
    trainer = Trainer(config)
    trainer.prepare(lambda _event: None)
    before = copy.deepcopy(trainer.model.state_dict())

    def stop_at_third(event):
        if isinstance(event, LRTestStep) and event.step == 3:
            control.stop()

    end = LRFinder(trainer, steps=50).run(stop_at_third, control)
    assert end.reason == "stopped"
    assert len(end.result.lrs) == 3
    assert "Stopped by you after 3 batches of 50" in end.message
    assert states_equal(trainer.model.state_dict(), before)


def test_a_missing_folder_fails_with_the_reason_and_no_traceback(tmp_path):
    config = TrainConfig(dataset="folder", data_dir=str(tmp_path / "nowhere"), device="cpu")
    events = []
    end = LRFinder.for_config(config).run(events.append)
    assert end.reason == "failed" and end.result is None
    assert "nowhere" in end.message
    assert not any(isinstance(e, LogLine) and e.level == "error" for e in events)


@pytest.mark.parametrize("kwargs", [{"start_lr": 0}, {"start_lr": 1.0, "end_lr": 0.1},
                                    {"steps": 2}, {"end_lr": math.inf}])
def test_impossible_test_settings_are_refused(config, kwargs):
    with pytest.raises(ValueError):
        LRFinder.for_config(config, **kwargs)


def test_param_groups_keep_their_proportions_while_the_first_sweeps(config, monkeypatch):
    """A backbone trained at a tenth of the head's rate stays at a tenth during the test."""
    def two_groups(model, config):
        first, *rest = list(model.parameters())
        return torch.optim.SGD([{"params": [first], "lr": config.lr},
                                {"params": rest, "lr": config.lr / 10}], lr=config.lr)

    monkeypatch.setattr(training_setup, "build_optimizer", two_groups)
    trainer = Trainer(config)
    seen = []

    def watch(event):
        if isinstance(event, LRTestStep):
            seen.append((event.lr, *(g["lr"] for g in trainer.optimizer.param_groups)))

    end = LRFinder(trainer, steps=10, start_lr=1e-4, end_lr=1e-1).run(watch)
    assert end.reason == "finished", end.message
    assert len(seen) == 10
    for lr, head, backbone in seen:
        assert head == lr and backbone == pytest.approx(lr / 10)
    assert [g["lr"] for g in trainer.optimizer.param_groups] == [0.05, pytest.approx(0.005)]


def test_a_loss_that_is_not_a_number_ends_the_curve_as_an_explosion(config, monkeypatch):
    real_step = loop_module.train_step
    calls = []

    def step(*args, **kwargs):
        loss, logits = real_step(*args, **kwargs)
        calls.append(1)
        return (loss * math.nan if len(calls) == 12 else loss), logits

    monkeypatch.setattr(loop_module, "train_step", step)
    end = LRFinder.for_config(config, steps=40).run(lambda _event: None)
    result = end.result
    assert len(result.lrs) == 11  # the NaN batch is not drawn
    assert result.exploded_at == pytest.approx(lr_range(1e-7, 10, 40)[11])
    assert "exploded" in end.message


def test_the_test_can_start_from_a_checkpoint_and_leaves_it_as_it_was(config, tmp_path):
    run_dir = tmp_path / "run"
    Trainer(config.replace(optimizer="adam", lr=1e-3), run_dir=run_dir).run(lambda _e: None)
    checkpoint = run_dir / "checkpoint.pt"
    resumed = Trainer(config.replace(optimizer="adam", lr=1e-3), resume_from=checkpoint)
    resumed.prepare(lambda _event: None)
    before = copy.deepcopy(resumed.optimizer.state_dict())
    assert before["state"]  # Adam's moments from the epoch trained
    finder = LRFinder(resumed, steps=10)
    assert finder.epochs_done == 1
    assert finder.run(lambda _event: None).reason == "finished"
    assert states_equal(resumed.optimizer.state_dict(), before)
