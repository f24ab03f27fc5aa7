"""Training-health rules: pure functions over a run's numbers, tested on crafted inputs.

`learned_nothing` tells a run whose test accuracy is no better than guessing from one that
learned a little: guessing scores the larger of 1/classes and the most common class's share
of the test set, and a test set of n images measures an accuracy only to within about
sqrt(p(1-p)/n), so "at chance" means below that rate plus a margin of three such errors
(at least two percentage points).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

MIN_MARGIN = 0.02
STANDARD_ERRORS = 3.0
# Above these the learning rate is more likely too high than the data too hard, per optimizer.
HIGH_LR = {"sgd": 1.0, "adam": 0.05, "adamw": 0.05}
LOW_LR = {"sgd": 1e-4, "adam": 1e-5, "adamw": 1e-5}


def chance_accuracy(test_labels: Sequence[int], num_classes: int) -> float:
    """The accuracy of guessing: the most common test class's share, or 1/classes."""
    counts: dict[int, int] = {}
    for label in test_labels:
        counts[int(label)] = counts.get(int(label), 0) + 1
    majority = max(counts.values()) / len(test_labels) if counts else 0.0
    return max(1.0 / max(num_classes, 1), majority)


def chance_threshold(chance: float, test_size: int) -> float:
    """The test accuracy a run must beat to have learned more than guessing gives."""
    error = math.sqrt(chance * (1 - chance) / max(test_size, 1))
    return chance + max(MIN_MARGIN, STANDARD_ERRORS * error)


def learned_nothing(test_acc: float, chance: float, test_size: int) -> bool:
    return test_acc < chance_threshold(chance, test_size)


def why_nothing_was_learned(history: Sequence[dict], chance: float, num_classes: int,
                            optimizer: str, lr: float) -> str:
    """A sentence on the probable cause, from the per-epoch records and the settings.

    Guessing every class as equally likely costs a cross-entropy of ln(classes): a training
    loss above that overshoots (rate too high), one that stays close to it barely moved.
    """
    first, last = history[0], history[-1]
    if last["train_acc"] >= chance_threshold(chance, 1_000):
        return ("It fit the training images but not the test images: check that the test "
                "images show the same classes as the training images, or train a smaller "
                "model.")
    guess_loss = math.log(max(num_classes, 2))
    if len(history) == 1:
        loss = f"The training loss was {last['train_loss']:.3g} after one epoch"
    else:
        loss = (f"The training loss went from {first['train_loss']:.3g} to "
                f"{last['train_loss']:.3g} over {last['epoch']} epochs")
    loss += f" (guessing costs {guess_loss:.3g})"
    if lr >= HIGH_LR.get(optimizer, 1.0) or last["train_loss"] > 1.2 * guess_loss:
        step = 100 if lr >= HIGH_LR.get(optimizer, 1.0) else 10
        return f"{loss}: the learning rate {lr:g} is probably too high. Try {lr / step:g}."
    if lr <= LOW_LR.get(optimizer, 1e-5) or last["train_loss"] >= 0.9 * guess_loss:
        return (f"{loss}: the learning rate {lr:g} is probably too low, or the run too short. "
                f"Try {lr * 10:g}, or more epochs.")
    return (f"{loss}. Try a learning rate 10 times lower ({lr / 10:g}) or more epochs, and "
            "check that the images and their labels match.")
