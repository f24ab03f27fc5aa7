"""Applying the settings a person changed while a run was paused.

What may change, and how a change reads, is engine/training/changes.py (torch-free: the
settings form uses it too); here each change is made to the running optimizer and schedule
(engine/training/optim.py) and recorded once, as a `SettingsChanged` event and a line of
the run's `changes`.
"""

from __future__ import annotations

from engine.config import TrainConfig
from engine.events import Listener, LogLine, SettingsChanged
from engine.text import plural
from engine.training.changes import change_label, changeable_fields
from engine.training.distributed import World
from engine.training.optim import change_lr, swap_optimizer
from engine.training.outcomes import sentence
from engine.training.setup import TrainingSetup


def apply_changes(requested: dict, config: TrainConfig, setup: TrainingSetup, epoch: int,
                  batch: int, step: int, changes: list[dict],
                  listener: Listener) -> tuple[TrainConfig, int | None]:
    """Apply what a person changed, from this batch on, and record it in `changes`.

    Returns the settings as changed, and the batch size asked for (None if none): it
    takes effect when the next epoch starts (`change_batch_size`), as this epoch's
    batches are already drawn.
    """
    old = config
    allowed = changeable_fields(old)
    wanted = {k: v for k, v in requested.items() if getattr(old, k, v) != v}
    for name in [k for k in wanted if k not in allowed]:
        listener(LogLine(f"{sentence(name.replace('_', ' '))} cannot change during a run "
                         "with an LR schedule: it stays "
                         f"{getattr(old, name)}.", "warning"))
        del wanted[name]
    problems = old.replace(**wanted).problems()
    for name in [k for k in wanted if k in problems]:
        listener(LogLine(f"Not changed: {problems[name]}", "warning"))
        del wanted[name]
    next_batch_size = None
    if "batch_size" in wanted:
        next_batch_size = _ask_batch_size(wanted.pop("batch_size"), old, epoch, listener)
    if not wanted:
        return old, next_batch_size
    new = old.replace(**wanted)
    notes = []
    if new.lr != old.lr:
        change_lr(setup.optimizer, setup.scheduler, old.lr, new.lr)
        if setup.scheduler is not None:
            notes.append(f"The {old.schedule} schedule is rescaled by "
                         f"{new.lr / old.lr:g}, as if the run had been set to {new.lr:g} "
                         f"from the start: the rate is now "
                         f"{setup.optimizer.param_groups[0]['lr']:.3g}.")
    if new.weight_decay != old.weight_decay:
        for group in setup.optimizer.param_groups:
            group["weight_decay"] = new.weight_decay
    if new.optimizer != old.optimizer:
        setup.optimizer, setup.scheduler = swap_optimizer(
            setup.model, new, setup.optimizer, setup.scheduler, setup.batches)
        notes.append("The model's weights carry on; the new optimizer's state starts "
                     "afresh.")
    record_change(SettingsChanged(
        step=step, epoch=epoch, batch=batch, batches_per_epoch=setup.batches,
        changes={k: [getattr(old, k), v] for k, v in wanted.items()}), notes, changes,
        listener)
    return new, next_batch_size


def _ask_batch_size(batch_size: int, config: TrainConfig, epoch: int,
                    listener: Listener) -> int | None:
    if epoch >= config.epochs:
        listener(LogLine(f"Batch size stays {config.batch_size}: a new batch size "
                         "takes effect when the next epoch starts, and this is the run's "
                         "last epoch.", "warning"))
        return None
    listener(LogLine(f"Batch size {config.batch_size} → {batch_size} from epoch "
                     f"{epoch + 1}: the batches of epoch {epoch} are already drawn."))
    return batch_size


def change_batch_size(batch_size: int, config: TrainConfig, setup: TrainingSetup,
                      world: World, epoch: int, steps_done: int, changes: list[dict],
                      listener: Listener) -> TrainConfig:
    """Start `epoch` with the batch size asked for during the last one; returns the
    settings as changed."""
    if batch_size == config.batch_size:
        return config
    new = config.replace(batch_size=batch_size)
    setup.batches = world.batch_count(len(setup.train_y), batch_size)
    record_change(SettingsChanged(
        step=steps_done + 1, epoch=epoch, batch=1, batches_per_epoch=setup.batches,
        changes={"batch_size": [config.batch_size, batch_size]}),
        [f"An epoch now has {plural(setup.batches, 'batch', 'batches')}."], changes, listener)
    return new


def record_change(change: SettingsChanged, notes: list[str], changes: list[dict],
                  listener: Listener) -> None:
    changes.append(change.as_record())
    listener(change)
    listener(LogLine(" ".join([f"Changed at epoch {change.epoch}, batch {change.batch}: "
                               f"{change_label(change.changes)}.", *notes])))
