"""A parent run and its child ("Train again without them") compared on the same test images.

A child may leave test images out, so the two are compared on the images both were tested
on: the parent's per-image history (samples.npz) restricted to the child's test images, by
their original test-set index. Each run is taken at its last recorded epoch (the model it
ended with): their confusion matrices and per-class accuracies, and the child's minus the
parent's.

Torch- and Qt-free: the window's Runs tab reads it off the GUI thread.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.analysis import confusion_matrix, per_class_accuracy
from engine.records.run_folder import RUN_FILE
from engine.records.runs import parse_lines
from engine.records.sample_history import SampleHistory, load_history


class ComparisonError(ValueError):
    """The two runs cannot be compared; the message says why."""


@dataclass(frozen=True, eq=False)
class ChildComparison:
    """Parent and child at their last epochs, on the test images both were tested on."""

    parent_epoch: int
    child_epoch: int
    images: int  # test images both were tested on
    parent_confusion: np.ndarray  # (C, C) counts: row = true class, column = predicted
    child_confusion: np.ndarray
    class_names: tuple[str, ...] = ()  # as the child's record names them, where it does

    @property
    def confusion_change(self) -> np.ndarray:
        """(C, C) the child's counts minus the parent's."""
        return self.child_confusion - self.parent_confusion

    @property
    def parent_accuracy(self) -> np.ndarray:
        return per_class_accuracy(self.parent_confusion)

    @property
    def child_accuracy(self) -> np.ndarray:
        return per_class_accuracy(self.child_confusion)

    @property
    def accuracy_change(self) -> np.ndarray:
        """(C,) each class's accuracy, the child's minus the parent's (NaN: no image)."""
        return self.child_accuracy - self.parent_accuracy

    def overall(self) -> tuple[float, float]:
        """The parent's and the child's accuracy on these images."""
        right = (np.trace(self.parent_confusion), np.trace(self.child_confusion))
        return right[0] / max(self.images, 1), right[1] / max(self.images, 1)


def compare_histories(parent: SampleHistory, child: SampleHistory) -> ChildComparison:
    """Compare the last epochs of `parent` and `child` on the test images both have."""
    if len(parent) == 0 or len(child) == 0:
        raise ComparisonError("A run has no finished epoch yet: compare them once both have "
                              "one.")
    if parent.num_classes != child.num_classes:
        raise ComparisonError(f"The parent has {parent.num_classes} classes and the child "
                              f"{child.num_classes}: their answers cannot be compared.")
    shared, in_parent, in_child = np.intersect1d(parent.test_index, child.test_index,
                                                 assume_unique=True, return_indices=True)
    if len(shared) == 0:
        raise ComparisonError("The two runs were tested on no image in common.")
    classes = parent.num_classes
    labels = child.labels[in_child]
    if not np.array_equal(parent.labels[in_parent], labels):
        raise ComparisonError("The test images' labels differ between the two runs: their "
                              "dataset changed in between.")

    def confusion(history: SampleHistory, rows: np.ndarray) -> np.ndarray:
        return confusion_matrix(labels, history.predicted[-1, rows], classes)

    return ChildComparison(parent_epoch=int(parent.epochs[-1]),
                           child_epoch=int(child.epochs[-1]), images=len(shared),
                           parent_confusion=confusion(parent, in_parent),
                           child_confusion=confusion(child, in_child))


def compare_run_folders(parent: str | Path, child: str | Path) -> ChildComparison:
    """Read both runs' samples.npz and compare them; raises `ComparisonError` (or
    SampleHistoryError for a damaged file) saying why they cannot be."""
    histories = []
    for folder in (parent, child):
        history = load_history(Path(folder))
        if history is None:
            raise ComparisonError(f"{Path(folder).name} kept no per-image answers "
                                  "(samples.npz): it was trained by an older TrainDesk, or "
                                  "has no finished epoch yet.")
        histories.append(history)
    compared = compare_histories(*histories)
    names = class_names_of(Path(child))
    if len(names) != histories[1].num_classes:
        names = tuple(str(c) for c in range(histories[1].num_classes))
    return dataclasses.replace(compared, class_names=names)


def class_names_of(folder: Path) -> tuple[str, ...]:
    """The class names a run's record gives at its last start; () where it gives none."""
    try:
        lines, _end, _damaged = parse_lines((folder / RUN_FILE).read_bytes())
    except OSError:
        return ()
    starts = [line for line in lines if line.get("event") == "start"]
    names = starts[-1].get("class_names") if starts else None
    return tuple(str(n) for n in names) if isinstance(names, list) else ()
