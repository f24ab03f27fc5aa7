"""Stop after an epoch: the run keeps exactly the epoch asked for, even when the asker (the
window, whose events arrive in bunches) learns of the epochs late."""

from __future__ import annotations

import pytest

from engine.config import TrainConfig
from engine.control import Control
from engine.events import BatchEnd, EpochEnd
from engine.training.trainer import Trainer


@pytest.fixture
def config(digits_dir) -> TrainConfig:
    return TrainConfig(arch="mlp", dataset="mnist", data_dir=str(digits_dir), epochs=4,
                       batch_size=20, lr=3e-3, device="cpu", seed=1)


def test_a_stop_after_an_epoch_waits_for_that_epoch_to_end():
    control = Control()
    control.stop_after(2)
    control.epoch_ended(1)
    assert not control.stop_requested
    control.epoch_ended(2)
    assert control.stop_requested and control.stopped_by == "you"


def test_a_stop_after_an_epoch_that_has_already_ended_stops_at_once():
    control = Control()
    control.epoch_ended(3)
    control.stop_after(2, by="SIGTERM")
    assert control.stop_requested and control.stopped_by == "SIGTERM"


def test_the_run_ends_after_the_epoch_asked_for(config):
    control = Control()
    control.stop_after(2)
    events = []
    end = Trainer(config).run(events.append, control)
    assert end.reason == "stopped" and end.epochs_done == 2
    assert [e.epoch for e in events if isinstance(e, EpochEnd)] == [1, 2]


def test_asked_late_in_the_next_epoch_the_run_keeps_the_epoch_asked_for(config, tmp_path):
    """The window offered "Stop after epoch 1" before it heard that epoch 1 had ended."""
    control = Control()
    epochs = []

    def listener(event):
        if isinstance(event, EpochEnd):
            epochs.append(event.epoch)
        if isinstance(event, BatchEnd) and event.epoch == 2 and not control.stop_requested:
            control.stop_after(1)

    end = Trainer(config, run_dir=tmp_path / "run").run(listener, control)
    assert end.reason == "stopped" and end.epochs_done == 1 and epochs == [1]
    assert end.checkpoint_path == str(tmp_path / "run" / "checkpoint.pt")


def test_a_run_that_begins_counts_its_own_epochs_not_the_run_befores():
    control = Control()  # shared by a seed group's members, one after another
    control.epoch_ended(3)  # the first member's last epoch
    control.run_began()  # the next member
    control.stop_after(1)
    assert not control.stop_requested
    control.epoch_ended(1)
    assert control.stop_requested
