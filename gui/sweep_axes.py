"""A sweep's trials as numbers on axes, for the Sweep tab's charts (no Qt, no drawing).

Each searched setting is one axis: a numeric one from its low to its high (on a log scale
where the space searches it so), a choice one as evenly spaced categories. `position` puts
a trial's value on its axis as a fraction from 0 (bottom) to 1 (top), so that parallel
coordinates can draw every axis the same height; the last axis is the accuracy itself.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.config import config_fields

_LABELS = {f.name: f.metadata["label"] for f in config_fields()}
ACCURACY_LABEL = "Accuracy (%)"


def setting_label(name: str) -> str:
    """The settings form's label for a TrainConfig field ("lr" -> "Learning rate")."""
    return _LABELS.get(name, name)


def dim_field(dim: Any, key: str) -> Any:
    """One part of a search dimension, given as a SearchDim or as its dict (sweep.json)."""
    return dim.get(key) if isinstance(dim, dict) else getattr(dim, key, None)


@dataclass(frozen=True)
class Axis:
    """One searched setting as an axis: `kind` "float", "int" or "choice"."""

    name: str
    kind: str
    low: float = 0.0
    high: float = 1.0
    log: bool = False
    choices: tuple[str, ...] = ()  # as value_text writes them

    @property
    def label(self) -> str:
        return setting_label(self.name) + (" (log)" if self.log else "")

    @classmethod
    def from_dim(cls, dim: Any) -> Axis:
        kind = str(dim_field(dim, "kind"))
        if kind == "choice":
            return cls(str(dim_field(dim, "field")), kind,
                       choices=tuple(value_text(c) for c in dim_field(dim, "choices") or ()))
        return cls(str(dim_field(dim, "field")), kind, float(dim_field(dim, "low")),
                   float(dim_field(dim, "high")), bool(dim_field(dim, "log")))

    def position(self, value: Any) -> float:
        """value as a fraction of the axis (0 bottom, 1 top); nan where it has none."""
        if value is None:
            return math.nan
        if self.kind == "choice":
            text = value_text(value)
            if text not in self.choices:
                return math.nan
            return (self.choices.index(text) + 0.5) / len(self.choices)
        try:
            number = float(value)
        except (TypeError, ValueError):
            return math.nan
        low, high = self.low, self.high
        if self.log and low > 0 and number > 0:
            low, high, number = math.log10(low), math.log10(high), math.log10(number)
        return 0.5 if high == low else (number - low) / (high - low)

    def ticks(self) -> list[tuple[float, str]]:
        """(position, text) marks along the axis: each choice, or its ends and middle."""
        if self.kind == "choice":
            return [(self.position(c), c) for c in self.choices]
        if self.log and self.low > 0:
            middle = math.sqrt(self.low * self.high)
        else:
            middle = (self.low + self.high) / 2
        marks = (self.low, middle, self.high) if self.kind == "float" else sorted(
            {int(round(self.low)), int(round(middle)), int(round(self.high))})
        return [(self.position(v), value_text(v)) for v in marks]


def value_text(value: Any) -> str:
    """A setting's value as the table and the charts write it: 0.003, 1e-05, 128, adam."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def accuracy_percent(value: float | None) -> float:
    """A trial's value (a fraction) in percent; nan where it has none."""
    if value is None or not math.isfinite(float(value)):
        return math.nan
    return 100.0 * float(value)


@dataclass(frozen=True)
class ParallelData:
    """What parallel coordinates draw: one row per trial, one column per axis (setting
    axes, then accuracy), each a fraction of its axis; nan where a trial has no value."""

    axes: tuple[Axis, ...]
    numbers: tuple[int, ...]
    positions: np.ndarray  # (trials, axes + 1)
    accuracies: np.ndarray  # (trials,), percent
    accuracy_range: tuple[float, float]

    @property
    def labels(self) -> list[str]:
        return [a.label for a in self.axes] + [ACCURACY_LABEL]


def parallel_data(space: Sequence[Any], trials: Iterable[Any]) -> ParallelData:
    """The trials that have a value (complete, or pruned at their last value), placed on the
    space's axes; the accuracy axis runs over the range the trials reached."""
    axes = tuple(Axis.from_dim(d) for d in space)
    kept = [t for t in trials if math.isfinite(accuracy_percent(t.value))]
    accuracies = np.array([accuracy_percent(t.value) for t in kept], dtype=np.float64)
    low, high = ((float(accuracies.min()), float(accuracies.max())) if len(kept)
                 else (0.0, 100.0))
    if high - low < 1e-9:  # one trial, or all alike: centred on a span of one point
        low, high = low - 0.5, high + 0.5
    positions = np.full((len(kept), len(axes) + 1), math.nan)
    for row, trial in enumerate(kept):
        for column, axis in enumerate(axes):
            positions[row, column] = axis.position(trial.params.get(axis.name))
        positions[row, -1] = (accuracies[row] - low) / (high - low)
    return ParallelData(axes, tuple(int(t.number) for t in kept), positions, accuracies,
                        (low, high))


def scatter_points(axis: Axis, trials: Iterable[Any]) -> tuple[np.ndarray, np.ndarray,
                                                                 list[int]]:
    """(x, accuracy in percent, trial numbers) of the trials with a value and a setting:
    x is the value itself (its log10 on a log axis), or the choice's index."""
    xs, ys, numbers = [], [], []
    for trial in trials:
        accuracy = accuracy_percent(trial.value)
        value = trial.params.get(axis.name)
        if not math.isfinite(accuracy) or value is None:
            continue
        if axis.kind == "choice":
            if value_text(value) not in axis.choices:
                continue
            x = float(axis.choices.index(value_text(value)))
        else:
            x = float(value)
            if axis.log:
                if x <= 0:
                    continue
                x = math.log10(x)
        xs.append(x)
        ys.append(accuracy)
        numbers.append(int(trial.number))
    return np.array(xs, dtype=np.float64), np.array(ys, dtype=np.float64), numbers
