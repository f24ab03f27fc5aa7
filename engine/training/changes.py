"""Settings a person may change while a run is paused, and how a change reads.

Torch-free: the settings form and the plots use it too. What the trainer does with each
change (engine/training/midrun.py, engine/training/optim.py):

- learning rate: from the next batch. With an LR schedule the whole schedule is rescaled
  by new/old, as if the run had been set to the new rate from the start: the schedule keeps
  its shape and its place, and the rate now is the scheduled rate times new/old.
- weight decay: from the next batch.
- optimizer: from the next batch; the model's weights carry on, the new optimizer's state
  (momentum, running averages) starts afresh, a schedule keeps its place.
- batch size: from the next epoch (the current epoch's batches are already drawn), and only
  without an LR schedule, which counts its steps in batches of the old size.
"""

from __future__ import annotations

from typing import Any

from engine.catalog import OPTIMIZER_TITLES
from engine.config import TrainConfig

CHANGEABLE = ("lr", "weight_decay", "optimizer", "batch_size")
_NAMES = {"lr": "lr", "weight_decay": "weight decay", "optimizer": "optimizer",
          "batch_size": "batch size"}


def changeable_fields(config: TrainConfig) -> tuple[str, ...]:
    """The settings of a run with `config` that can change while it is paused."""
    if config.schedule != "none":
        return tuple(name for name in CHANGEABLE if name != "batch_size")
    return CHANGEABLE


def requested_changes(before: TrainConfig, after: TrainConfig) -> dict[str, Any]:
    """The changeable settings whose value differs between two configs: {name: new value}."""
    return {name: getattr(after, name) for name in changeable_fields(before)
            if getattr(after, name) != getattr(before, name)}


def _value(name: str, value: Any) -> str:
    if name == "optimizer":
        return OPTIMIZER_TITLES.get(value, str(value))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def change_label(changes: dict[str, list]) -> str:
    """One line for a person: "lr 0.003 → 0.0003, optimizer Adam → SGD"."""
    return ", ".join(f"{_NAMES.get(name, name)} {_value(name, old)} → {_value(name, new)}"
                     for name, (old, new) in changes.items())
