"""The run model: keeps the run on screen and passes engine events on to the panels, in order,
each bunch's batches as one `batches_arrived` (the worker paces the bunches)."""

from __future__ import annotations

import dataclasses

import pytest

from engine.events import BatchEnd, EpochEnd, LogLine, RunEnd, RunStart, SettingsChanged
from gui.run_model import RunModel


def run_start(history=()) -> RunStart:
    return RunStart(arch="mlp", dataset="mnist-sample", device="CPU", epochs=2, start_epoch=0,
                    batches_per_epoch=4, train_size=80, val_size=0, test_size=20,
                    num_params=10, class_names=tuple("0123456789"), input_shape=(1, 28, 28),
                    history=tuple(history))


def batch(epoch: int, n: int) -> BatchEnd:
    return BatchEnd(epoch=epoch, batch=n, batches_per_epoch=4, step=(epoch - 1) * 4 + n,
                    loss=1.0 / n, accuracy=0.5, examples_per_sec=1000.0, lr=0.01)


def epoch_end(epoch: int) -> EpochEnd:
    return EpochEnd(epoch=epoch, epochs=2, train_loss=0.5, train_acc=0.8, val_loss=None,
                    val_acc=None, test_loss=0.4, test_acc=0.85, lr=0.01, seconds=1.0)


@pytest.fixture
def recorded(qtbot):
    model = RunModel()
    seen: list[tuple[str, object]] = []
    for name in ("run_started", "batches_arrived", "epoch_ended", "log_line", "run_ended",
                 "history_replaced", "model_changed"):
        getattr(model, name).connect(lambda value, name=name: seen.append((name, value)))
    return model, seen


def test_a_bunch_s_batches_arrive_together_and_never_after_a_later_event(recorded):
    model, seen = recorded
    model.feed([run_start(), batch(1, 1)])
    assert [name for name, _ in seen] == ["run_started", "batches_arrived"]
    model.feed([batch(1, 2), batch(1, 3), LogLine("hello"), batch(1, 4)])
    assert [(name, [b.batch for b in value] if name == "batches_arrived" else None)
            for name, value in seen[2:]] == [("batches_arrived", [2, 3]), ("log_line", None),
                                             ("batches_arrived", [4])]


def test_the_history_follows_the_epochs_and_a_new_run_clears_it(recorded):
    model, seen = recorded
    model.feed([run_start(), epoch_end(1), epoch_end(2)])
    assert [record["epoch"] for record in model.history] == [1, 2]
    model.begin()
    assert model.history == [] and seen[-1] == ("history_replaced", [])
    resumed_from = [epoch_end(1).as_record()]
    model.feed([run_start(history=resumed_from)])
    assert model.history == resumed_from


def test_the_end_comes_after_the_last_batches(recorded):
    model, seen = recorded
    model.feed([run_start(), batch(1, 1), batch(1, 2)])
    end = RunEnd("stopped", "Stopped.", 0)
    model.end(end)
    assert [name for name, _ in seen[-2:]] == ["batches_arrived", "run_ended"]
    assert seen[-1][1] is end


def test_an_opened_checkpoint_shows_its_history_and_becomes_the_model(recorded):
    model, seen = recorded

    class Opened:  # the parts of a Checkpoint the model reads
        history = [epoch_end(1).as_record(), epoch_end(2).as_record()]
        changes = []

    model.show_opened(Opened, "/runs/a/checkpoint.pt")
    assert model.history == Opened.history
    assert model.checkpoint is Opened and model.checkpoint_path == "/runs/a/checkpoint.pt"
    assert [name for name, _ in seen] == ["history_replaced", "model_changed"]


def test_changes_mid_run_are_kept_passed_on_and_replaced_with_the_run(recorded):
    model, seen = recorded
    changed = SettingsChanged(step=3, epoch=1, batch=3, batches_per_epoch=4,
                              changes={"lr": [0.01, 0.001]})
    order = []
    model.settings_changed.connect(order.append)
    model.batches_arrived.connect(lambda batches: order.append([b.step for b in batches]))
    model.feed([run_start(), batch(1, 1), batch(1, 2), changed, batch(1, 3)])
    assert model.changes == [changed]
    # The batches before the change reach the plots before it does, the one after it after.
    assert order == [[1, 2], changed, [3]]

    model.begin(continuing=True)  # the run on screen goes on: nothing is cleared
    assert model.changes == [changed] and seen[-1][0] != "history_replaced"
    model.feed([dataclasses.replace(run_start(), start_epoch=1,
                                    changes=(changed.as_record(),))])
    assert model.changes == [changed]

    replaced = []
    model.changes_replaced.connect(replaced.append)
    model.begin()  # a new run: none
    assert model.changes == [] and replaced == [[]]
