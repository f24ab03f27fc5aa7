"""Settings changed while a run is paused: applied at the next batch, recorded once, kept.

Each change goes the way the window makes it: the run pauses after a batch, the change is
requested through the run's `Control` while it waits, and the run resumes.
"""

from __future__ import annotations

import pytest
import torch

import engine.training.distributed as distributed_module
import engine.training.loop as loop_module
from engine.config import TrainConfig
from engine.control import Control
from engine.events import BatchEnd, EpochEnd, LogLine, RunStart, SettingsChanged
from engine.records.checkpoint import load_checkpoint
from engine.training.changes import change_label, requested_changes
from engine.training.trainer import Trainer


@pytest.fixture
def config(digits_dir) -> TrainConfig:
    # 200 images in batches of 20: 10 batches an epoch.
    return TrainConfig(arch="mlp", dataset="mnist", data_dir=str(digits_dir), epochs=2,
                       batch_size=20, lr=3e-3, device="cpu", seed=1, threads=1)


@pytest.fixture(autouse=True)
def _every_batch_reported(monkeypatch):
    monkeypatch.setattr(distributed_module, "FLUSH_SECONDS", 0.0)


def of(kind, events):
    return [e for e in events if isinstance(e, kind)]


class StepSpy:
    """What each optimisation step ran with: the optimizer's kind, rate, weight decay and
    the batch's size, read inside the step itself."""

    def __init__(self, monkeypatch) -> None:
        self.steps: list[dict] = []
        real_step = loop_module.train_step

        def step(setup, x, y, *args, **kwargs):
            group = setup.optimizer.param_groups[0]
            self.steps.append({"optimizer": type(setup.optimizer).__name__,
                               "lr": group["lr"], "weight_decay": group["weight_decay"],
                               "batch": len(y)})
            return real_step(setup, x, y, *args, **kwargs)

        monkeypatch.setattr(loop_module, "train_step", step)

    def column(self, name: str) -> list:
        return [s[name] for s in self.steps]


def run_with_change(config: TrainConfig, after_step: int, changes: dict, **kwargs):
    """Run, pausing after `after_step`; while paused, ask for `changes`, then resume."""
    control = Control()
    events = []

    def listener(event):
        events.append(event)
        if isinstance(event, BatchEnd) and event.step == after_step:
            control.pause()
        if isinstance(event, LogLine) and event.message.startswith("Paused"):
            control.request_changes(changes)
            control.resume()

    trainer = Trainer(config, **kwargs)
    end = trainer.run(listener, control)
    return trainer, end, events


@pytest.mark.parametrize(("setting", "value", "column", "before", "after"), [
    ("lr", 3e-4, "lr", 3e-3, 3e-4),
    ("weight_decay", 0.01, "weight_decay", 0.0, 0.01),
    ("optimizer", "sgd", "optimizer", "Adam", "SGD"),
])
def test_a_change_mid_epoch_takes_effect_at_the_next_batch_and_is_recorded_once(
        config, tmp_path, monkeypatch, setting, value, column, before, after):
    spy = StepSpy(monkeypatch)
    trainer, end, events = run_with_change(config, 4, {setting: value},
                                           run_dir=tmp_path / "run")

    assert end.reason == "finished"
    assert spy.column(column) == [before] * 4 + [after] * 16
    changed = of(SettingsChanged, events)
    old = getattr(config, setting)
    assert changed == [SettingsChanged(step=5, epoch=1, batch=5, batches_per_epoch=10,
                                       changes={setting: [old, value]})]
    assert trainer.changes == [changed[0].as_record()]
    assert getattr(trainer.config, setting) == value
    logged = [e.message for e in of(LogLine, events) if e.message.startswith("Changed")]
    assert len(logged) == 1
    assert logged[0].startswith(f"Changed at epoch 1, batch 5: {change_label(changed[0].changes)}")
    # The run folder's checkpoint keeps the change and the changed settings.
    saved = load_checkpoint(end.checkpoint_path)
    assert saved.changes == trainer.changes
    assert getattr(saved.config, setting) == value


def test_the_label_reads_like_the_form(config):
    assert change_label({"lr": [0.003, 0.0003]}) == "lr 0.003 → 0.0003"
    assert change_label({"optimizer": ["adam", "sgd"], "batch_size": [64, 128]}) == (
        "optimizer Adam → SGD, batch size 64 → 128")
    changed = config.replace(lr=1e-3, seed=7, schedule="cosine")
    assert requested_changes(config, changed) == {"lr": 1e-3}  # seed is not changeable


def test_a_new_optimizer_trains_the_same_model_on(config, monkeypatch):
    trainer, end, events = run_with_change(config, 4, {"optimizer": "sgd", "lr": 0.05})
    assert end.reason == "finished"
    assert isinstance(trainer.optimizer, torch.optim.SGD)
    model_params = list(trainer.model.parameters())
    assert all(a is b for a, b in zip(trainer.optimizer.param_groups[0]["params"],
                                       model_params, strict=True))
    assert any("state starts afresh" in e.message for e in of(LogLine, events))
    # It went on learning: the last epoch is better than the first.
    epochs = of(EpochEnd, events)
    assert epochs[-1].train_loss < epochs[0].train_loss


def test_a_batch_size_change_starts_with_the_next_epoch_and_keeps_the_step_count(
        config, tmp_path, monkeypatch):
    spy = StepSpy(monkeypatch)
    trainer, end, events = run_with_change(config.replace(epochs=3), 4, {"batch_size": 40},
                                           run_dir=tmp_path / "run")

    assert end.reason == "finished"
    # Epoch 1 finishes its 10 batches of 20; epochs 2 and 3 have 5 batches of 40.
    assert spy.column("batch") == [20] * 10 + [40] * 10
    batches = of(BatchEnd, events)
    assert [b.step for b in batches] == list(range(1, 21))
    assert [b.batches_per_epoch for b in batches] == [10] * 10 + [5] * 10
    assert [e.steps for e in of(EpochEnd, events)] == [10, 15, 20]
    assert of(SettingsChanged, events) == [SettingsChanged(
        step=11, epoch=2, batch=1, batches_per_epoch=5, changes={"batch_size": [20, 40]})]
    assert any("Batch size 20 → 40 from epoch 2" in e.message for e in of(LogLine, events))

    # Continued for a 4th epoch: the step count goes on from 20 with the new batch size.
    more = Trainer(config.replace(epochs=4, batch_size=40), resume_from=end.checkpoint_path)
    events = []
    more.run(events.append)
    start = of(RunStart, events)[0]
    assert start.steps_done == 20 and start.batches_per_epoch == 5
    assert [b.step for b in of(BatchEnd, events)] == list(range(21, 26))


@pytest.mark.parametrize("schedule", ["step", "cosine", "onecycle"])
def test_a_rate_change_rescales_a_running_schedule(config, schedule):
    """As documented in engine/training/changes.py: from the change on, every scheduled rate is the
    uninterrupted run's times new/old: the schedule keeps its shape and its place."""
    config = config.replace(epochs=3, schedule=schedule, optimizer="sgd", lr=0.05)
    straight = []
    Trainer(config).run(lambda e: straight.append(e.lr) if isinstance(e, BatchEnd) else None)

    trainer, end, events = run_with_change(config, 4, {"lr": 0.005})
    rates = [b.lr for b in of(BatchEnd, events)]
    assert end.reason == "finished" and len(rates) == len(straight) == 30
    assert rates[:4] == straight[:4]
    assert rates[4:] == pytest.approx([r * 0.1 for r in straight[4:]], rel=1e-9)
    assert any(f"The {schedule} schedule is rescaled by 0.1" in e.message
               for e in of(LogLine, events))


@pytest.mark.parametrize("schedule", ["cosine", "onecycle"])
def test_a_new_optimizer_keeps_the_schedules_place(config, schedule):
    config = config.replace(epochs=2, schedule=schedule, optimizer="adam", lr=3e-3)
    straight = []
    Trainer(config).run(lambda e: straight.append(e.lr) if isinstance(e, BatchEnd) else None)

    trainer, end, events = run_with_change(config, 4, {"optimizer": "adamw"})
    assert end.reason == "finished"
    assert [b.lr for b in of(BatchEnd, events)] == pytest.approx(straight, rel=1e-9)


def test_a_batch_size_change_with_a_schedule_is_refused_and_said(config, monkeypatch):
    spy = StepSpy(monkeypatch)
    trainer, end, events = run_with_change(config.replace(schedule="cosine"), 4,
                                           {"batch_size": 40})
    assert spy.column("batch") == [20] * 20
    assert of(SettingsChanged, events) == [] and trainer.changes == []
    assert any("cannot change during a run with an LR schedule" in e.message
               for e in of(LogLine, events) if e.level == "warning")


def test_an_invalid_change_is_refused_and_the_rest_applied(config, monkeypatch):
    spy = StepSpy(monkeypatch)
    trainer, end, events = run_with_change(config, 4, {"lr": 0.0, "weight_decay": 0.01})
    assert spy.column("lr") == [3e-3] * 20
    assert [c.changes for c in of(SettingsChanged, events)] == [{"weight_decay": [0.0, 0.01]}]
    assert any(e.message.startswith("Not changed: Learning rate must be")
               for e in of(LogLine, events) if e.level == "warning")


def test_a_resumed_run_keeps_its_changes(config, tmp_path):
    first, end, _ = run_with_change(config, 4, {"lr": 3e-4}, run_dir=tmp_path / "run")
    recorded = first.changes
    assert len(recorded) == 1

    # Continued into its own folder for a third epoch, with the settings as changed.
    resumed = Trainer(first.config.replace(epochs=3), run_dir=tmp_path / "run",
                      resume_from=end.checkpoint_path)
    events = []
    resumed_end = resumed.run(events.append)
    assert resumed_end.reason == "finished"
    assert of(RunStart, events)[0].changes == tuple(recorded)
    assert {b.lr for b in of(BatchEnd, events)} == {3e-4}
    assert load_checkpoint(resumed_end.checkpoint_path).changes == recorded

    # A change in the continued run is added after the earlier one.
    again, again_end, _ = run_with_change(resumed.config.replace(epochs=4), 32,
                                          {"lr": 1e-4}, run_dir=tmp_path / "run",
                                          resume_from=resumed_end.checkpoint_path)
    assert [c["changes"]["lr"] for c in again.changes] == [[3e-3, 3e-4], [3e-4, 1e-4]]
    assert again.changes[1]["step"] == 33 and again.changes[1]["epoch"] == 4


def test_a_checkpoint_keeps_changes_and_older_ones_without_them_still_open(
        config, tmp_path, monkeypatch):
    from engine.records import checkpoint as checkpoint_module

    trainer, end, _ = run_with_change(config.replace(epochs=1), 4, {"lr": 3e-4},
                                      run_dir=tmp_path / "run")
    saved = load_checkpoint(end.checkpoint_path)
    assert saved.changes == trainer.changes and len(saved.changes) == 1

    # A checkpoint from before changes were kept has no such entry: it opens with none.
    to_payload = checkpoint_module._to_payload
    monkeypatch.setattr(checkpoint_module, "_to_payload",
                        lambda ckpt: {k: v for k, v in to_payload(ckpt).items()
                                      if k != "changes"})
    old = checkpoint_module.save_checkpoint(tmp_path / "old.pt", saved)
    assert load_checkpoint(old).changes == []
    monkeypatch.setattr(checkpoint_module, "_to_payload", to_payload)

    # A file whose changes are not changes is refused as damaged, not half-read.
    saved.changes = [{"changes": "lr"}]
    junk = checkpoint_module.save_checkpoint(tmp_path / "junk.pt", saved)
    with pytest.raises(checkpoint_module.CheckpointError, match="damaged"):
        load_checkpoint(junk)
