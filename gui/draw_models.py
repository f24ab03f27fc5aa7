"""The models the Draw tab can predict with, as a plain list (no Qt, no torch).

The bundled demo model, each digit model trained since the app started, and each opened
checkpoint, with the name and test accuracy a person chooses by. After a run the tab keeps
the model in use unless the new one scored at least as well: a short run must not silently
replace the demo model, which reads drawn digits far better.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.catalog import arch_title, dataset_title

if TYPE_CHECKING:  # only its fields are read: no torch import at start-up
    from engine.records.checkpoint import Checkpoint


@dataclass(frozen=True)
class ModelChoice:
    origin: str  # "bundled", "trained" or "opened"
    source: str  # "Demo", "Trained 14:05", the opened file's name
    title: str  # "LeNet-5 (classic) on MNIST sample (bundled)"
    test_accuracy: float | None  # of the checkpoint's last epoch; None when not recorded
    is_digits: bool
    path: str | None = None  # the opened file

    @property
    def label(self) -> str:
        """What the picker shows: 'Demo: LeNet-5 (...) on MNIST sample (bundled) — 98.4%'."""
        return f"{self.source}: {self.title} — {self.accuracy_text}"

    @property
    def accuracy_text(self) -> str:
        if self.test_accuracy is None:
            return "test accuracy not recorded"
        return f"{self.test_accuracy:.1%}"


def last_test_accuracy(ckpt: Checkpoint) -> float | None:
    """The test accuracy of the checkpoint's last epoch, if its history records one."""
    value = ckpt.history[-1].get("test_acc") if ckpt.history else None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def choice_for(ckpt: Checkpoint, origin: str, source: str,
               path: str | None = None) -> ModelChoice:
    config = ckpt.config
    return ModelChoice(origin=origin, source=source,
                       title=f"{arch_title(config.arch)} on {dataset_title(config.dataset)}",
                       test_accuracy=last_test_accuracy(ckpt), is_digits=ckpt.is_digits,
                       path=path)


class ModelChoices:
    """The list the picker shows, and which entry is in use (`current`, None for none)."""

    def __init__(self) -> None:
        self._choices: list[ModelChoice] = []
        self.current: int | None = None

    def __len__(self) -> int:
        return len(self._choices)

    def __getitem__(self, index: int) -> ModelChoice:
        return self._choices[index]

    def in_use(self) -> ModelChoice | None:
        return None if self.current is None else self._choices[self.current]

    def add(self, choice: ModelChoice) -> int:
        """Append a choice, or replace the entry of a file opened before; its index."""
        if choice.path is not None:
            for index, old in enumerate(self._choices):
                if old.path is not None and Path(old.path) == Path(choice.path):
                    self._choices[index] = choice
                    return index
        self._choices.append(choice)
        return len(self._choices) - 1

    def select(self, index: int) -> None:
        if not 0 <= index < len(self._choices):
            raise IndexError(f"No model {index} among {len(self._choices)}.")
        self.current = index

    def deserves_switch(self, index: int) -> bool:
        """Whether a newly trained model should replace the one in use: when none is in use,
        or when both test accuracies are known and the new one is at least as high (an
        unknown accuracy is not "at least as good": the choice in use stays)."""
        in_use = self.in_use()
        if in_use is None:
            return True
        new = self._choices[index].test_accuracy
        return (new is not None and in_use.test_accuracy is not None
                and new >= in_use.test_accuracy)
