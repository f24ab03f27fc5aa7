"""Which rate to try after a run that learned nothing: from the rates the run really used,
and never outside a sensible range."""

from __future__ import annotations

import re

import pytest

import engine.training.distributed as distributed_module
from engine.analysis import why_nothing_was_learned
from engine.config import TrainConfig
from engine.control import Control
from engine.events import BatchEnd, LogLine
from engine.lr_finder.advice import SENSIBLE_LR, rates_used
from engine.training.trainer import Trainer


def _records(*losses: float) -> list[dict]:
    return [{"epoch": i + 1, "train_loss": loss, "train_acc": 0.1}
            for i, loss in enumerate(losses)]


def _change(epoch: int, old: float, new: float) -> dict:
    return {"step": epoch * 10, "epoch": epoch, "batch": 3, "batches_per_epoch": 10,
            "changes": {"lr": [old, new]}}


def _advised(text: str) -> list[float]:
    """The rates a sentence of advice tells to train with."""
    found = re.findall(r"(?:Try|start at|Adam:|SGD:|lower) \(?(\d(?:[\d.e-]*\d)?)", text)
    return [float(rate) for rate in found]


def test_the_rates_used_follow_the_changes_made_during_the_run():
    assert rates_used(0.02) == [(1, 0.02)]
    changes = [_change(2, 0.2, 0.02), {"epoch": 3, "changes": {"batch_size": [64, 32]}}]
    assert rates_used(0.02, changes) == [(1, 0.2), (2, 0.02)]


def test_a_rate_lowered_mid_run_is_not_answered_with_the_rate_that_failed_before():
    """Adam at 0.2 left the network stuck at guessing; lowered to 0.02 it stayed there. The
    advice was "too low, try 0.2": the very rate that broke it."""
    why = why_nothing_was_learned(_records(2.31, 2.30), 0.1, 10, "adam", 0.02,
                                  [_change(1, 0.2, 0.02)])
    assert "Try 0.2" not in why and "at 0.2." not in why
    assert "0.2, then 0.02 from epoch 1" in why  # the rates that failed are named
    assert "Train again from the start at 0.002" in why
    assert all(rate < 0.02 for rate in _advised(why))


def test_without_a_change_a_stuck_loss_still_reads_as_a_low_rate():
    why = why_nothing_was_learned(_records(2.31, 2.29), 0.1, 10, "sgd", 5e-4)
    assert "probably too low" in why and "Try 0.005" in why and "changed" not in why


def test_a_too_high_rate_is_not_answered_with_a_rate_the_run_already_failed_with():
    # 2e-3 first (stopped looking at it), then 0.2: "try 0.002" would repeat the first.
    why = why_nothing_was_learned(_records(9.0, 8.0), 0.1, 10, "adam", 0.2,
                                  [_change(1, 2e-3, 0.2)])
    assert "probably too high" in why and "Try 0.0002" in why


@pytest.mark.parametrize("lr", [1e-300, 1e-12, 5e-8])
def test_an_absurdly_small_rate_gets_a_usual_rate_not_ten_times_the_absurd_one(lr):
    why = why_nothing_was_learned(_records(2.303, 2.303), 0.1, 10, "adam", lr)
    assert "far too small" in why and "Try a usual rate for Adam: 0.001" in why
    assert f"{lr * 10:g}" not in why


@pytest.mark.parametrize(("optimizer", "lr", "losses"), [
    ("sgd", 10.0, (40.0, 30.0)),  # too high: /100
    ("sgd", 0.5, (2.3, 2.3)),  # "too low": x10 would be 5
    ("adam", 2e-6, (2.3, 2.3)),
    ("adam", 0.01, (2.0, 1.9)),
])
def test_every_rate_advised_lies_in_the_sensible_range(optimizer, lr, losses):
    why = why_nothing_was_learned(_records(*losses), 0.1, 10, optimizer, lr)
    rates = _advised(why)
    assert rates, why
    assert all(SENSIBLE_LR[0] <= rate <= SENSIBLE_LR[1] for rate in rates), why


def test_a_run_whose_rate_was_lowered_mid_run_bases_its_advice_on_both(digits_dir,
                                                                      monkeypatch):
    """A real run: SGD at 10 wrecks LeNet-5 in two batches; lowered to 1e-3 it learns
    nothing. The end message names both rates and advises neither."""
    config = TrainConfig(arch="lenet5", dataset="mnist", data_dir=str(digits_dir), epochs=1,
                         batch_size=20, optimizer="sgd", lr=10.0, device="cpu", seed=1,
                         threads=1)
    monkeypatch.setattr(distributed_module, "FLUSH_SECONDS", 0.0)  # every batch reported
    control = Control()

    def listener(event):
        if isinstance(event, BatchEnd) and event.step == 2:
            control.pause()
        if isinstance(event, LogLine) and event.message.startswith("Paused"):
            control.request_changes({"lr": 1e-3})
            control.resume()

    end = Trainer(config).run(listener, control)
    assert end.reason == "learned_nothing", end.message
    assert "10, then 0.001 from epoch 1" in end.message
    assert "Try 10" not in end.message and "Try 0.01" not in end.message
