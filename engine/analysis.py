"""What a run's numbers say: pure functions (numpy, no torch, no Qt), tested on crafted inputs.

From an epoch's per-image `Evaluation`: the confusion matrix, per-class accuracy, the most
confident mistakes and least confident right answers. From the per-epoch history: the best
epoch and one training-health sentence (`training_health`).

`chance_verdict` tells a run whose test accuracy is no better than guessing from one that
learned, and both from a test set too small to tell. Guessing scores the larger of 1/classes
and the most common class's share of the test set. A test set of n images measures an
accuracy only to within a binomial confidence interval (Wilson's score interval at three
standard errors, the test that `chance_threshold` is):

- learned: the accuracy is above the interval around guessing (chance plus three standard
  errors at chance, at least two percentage points);
- learned nothing: not so, and the interval around the measured accuracy rules out that the
  model is in truth halfway or more from guessing to perfect;
- too small to judge: neither (4 test images of 2 classes, all right, prove nothing).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.lr_finder.advice import rate_advice

MIN_MARGIN = 0.02
STANDARD_ERRORS = 3.0


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


def accuracy_upper_bound(test_acc: float, test_size: int) -> float:
    """The top of Wilson's score interval (three standard errors) for an accuracy measured
    on test_size images: the true accuracy is very unlikely to be higher."""
    if test_size < 1:
        return 1.0
    z2, n = STANDARD_ERRORS ** 2, test_size
    centre = test_acc + z2 / (2 * n)
    spread = STANDARD_ERRORS * math.sqrt(test_acc * (1 - test_acc) / n + z2 / (4 * n * n))
    return min(1.0, (centre + spread) / (1 + z2 / n))


def chance_verdict(test_acc: float, chance: float, test_size: int) -> str:
    """"learned", "nothing" (no better than guessing) or "too_small" (the test set cannot
    tell): see the module's docstring."""
    if test_size >= 1 and test_acc >= chance_threshold(chance, test_size):
        return "learned"
    if test_size >= 1 and accuracy_upper_bound(test_acc, test_size) < chance + (1 - chance) / 2:
        return "nothing"
    return "too_small"


def images_to_judge(test_acc: float, chance: float, limit: int = 1_000_000) -> int | None:
    """The fewest test images that would judge this accuracy either way (None past limit)."""
    n = 1
    while n <= limit:
        if chance_verdict(test_acc, chance, n) != "too_small":
            return n
        n = n + 1 if n < 1000 else int(n * 1.01)
    return None


def why_nothing_was_learned(history: Sequence[dict], chance: float, num_classes: int,
                            optimizer: str, lr: float, changes: Sequence[dict] = ()) -> str:
    """A sentence on the probable cause, from the per-epoch records and the settings.

    Guessing every class as equally likely costs a cross-entropy of ln(classes); which rate
    to try next is engine.lr_finder.advice's, from the rates used (`lr` is the last, `changes` the
    run's SettingsChanged records).
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
    return rate_advice(loss, optimizer, lr, last["train_loss"], guess_loss, changes)


# -- per-image evaluation --------------------------------------------------------------------

# How many class probabilities an evaluation keeps per image, all images together: every
# class where that fits (10,000 test images of up to 200 classes), else the top ones.
KEPT_PROBABILITIES = 2_000_000
MIN_KEPT_CLASSES = 10


def kept_classes(num_classes: int, num_images: int) -> int:
    """How many of the most probable classes an evaluation keeps per image."""
    room = KEPT_PROBABILITIES // max(num_images, 1)
    return max(1, min(num_classes, max(MIN_KEPT_CLASSES, room)))


@dataclass(frozen=True, eq=False)
class Evaluation:
    """What the model said about each test image at one epoch's end (numpy, read-only).

    `top_classes`/`top_probs` hold each image's most probable classes, most probable first:
    all of them when `kept == num_classes`. `labels` is shared with the dataset, not copied.
    """

    epoch: int
    num_classes: int
    labels: np.ndarray  # int64 (N,), the true classes
    top_classes: np.ndarray  # int32 (N, kept)
    top_probs: np.ndarray  # float32 (N, kept)
    true_probs: np.ndarray  # float32 (N,), the probability given to the true class

    @property
    def predicted(self) -> np.ndarray:
        return self.top_classes[:, 0]

    @property
    def confidence(self) -> np.ndarray:
        """The probability of the predicted class."""
        return self.top_probs[:, 0]

    @property
    def kept(self) -> int:
        return int(self.top_classes.shape[1])

    def __len__(self) -> int:
        return len(self.labels)


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts (num_classes, num_classes): row = true class, column = predicted class."""
    labels = np.asarray(labels, dtype=np.int64)
    predicted = np.asarray(predicted, dtype=np.int64)
    flat = np.bincount(labels * num_classes + predicted, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def per_class_accuracy(confusion: np.ndarray) -> np.ndarray:
    """Each true class's share of right answers; NaN for a class with no test images."""
    totals = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(confusion) / totals, np.nan)


def row_normalised(confusion: np.ndarray) -> np.ndarray:
    """Each row divided by its total (0 for an empty row): a colour scale per true class."""
    totals = confusion.sum(axis=1, keepdims=True)
    return np.divide(confusion, totals, out=np.zeros(confusion.shape), where=totals > 0)


def most_confident_mistakes(evaluation: Evaluation, limit: int | None = None) -> np.ndarray:
    """Indices of the wrongly classified images, most confidently wrong first."""
    wrong = np.flatnonzero(evaluation.predicted != evaluation.labels)
    order = np.argsort(-evaluation.confidence[wrong], kind="stable")
    return wrong[order][:limit]


def least_confident_right(evaluation: Evaluation, limit: int | None = None) -> np.ndarray:
    """Indices of the rightly classified images, the most hesitant (borderline) first."""
    right = np.flatnonzero(evaluation.predicted == evaluation.labels)
    order = np.argsort(evaluation.confidence[right], kind="stable")
    return right[order][:limit]


def cell_images(evaluation: Evaluation, true_class: int, predicted_class: int) -> np.ndarray:
    """Indices of the images of one confusion-matrix cell, most confident first."""
    cell = np.flatnonzero((evaluation.labels == true_class)
                          & (evaluation.predicted == predicted_class))
    return cell[np.argsort(-evaluation.confidence[cell], kind="stable")]


def image_probabilities(evaluation: Evaluation, index: int,
                        limit: int = 10) -> tuple[list[tuple[int, float]], float]:
    """One image's most probable classes (the true class always among them), and the
    probability left to the classes not listed."""
    classes = evaluation.top_classes[index].tolist()
    probs = evaluation.top_probs[index].tolist()
    shown = list(zip(classes, probs, strict=True))[:limit]
    true_class = int(evaluation.labels[index])
    if true_class not in [c for c, _ in shown]:
        shown = [*shown[:limit - 1], (true_class, float(evaluation.true_probs[index]))]
        shown.sort(key=lambda pair: -pair[1])
    rest = max(0.0, 1.0 - sum(p for _, p in shown))
    return shown, rest


# -- the curves: best epoch and training health ----------------------------------------------

IMPROVING = 0.002  # an accuracy gain below 0.2 points is noise, not progress
RISE = 0.03  # a held-out loss 3% above its lowest has turned up


@dataclass(frozen=True)
class HealthNote:
    kind: str  # "diverging" | "lr_too_high" | "overfitting" | "lr_too_low" | "plateaued" |
    #            "improving" | "steady"
    epoch: int  # the epoch the sentence refers to
    sentence: str


def held_out_split(history: Sequence[dict]) -> str:
    """"val" when every epoch has a validation score, else "test": what the rules judge by."""
    has_val = bool(history) and all(r.get("val_acc") is not None and r.get("val_loss")
                                    is not None for r in history)
    return "val" if has_val else "test"


def best_epoch(history: Sequence[dict]) -> int | None:
    """The epoch with the highest validation (else test) accuracy; the first of ties."""
    if not history:
        return None
    split = held_out_split(history)
    scored = [r for r in history if r.get(f"{split}_acc") is not None]
    if not scored:
        return None
    return int(max(scored, key=lambda r: (r[f"{split}_acc"], -r["epoch"]))["epoch"])


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def training_health(history: Sequence[dict], num_classes: int) -> HealthNote | None:
    """One plain sentence on how training is going, judged from the per-epoch records.

    The rules, first match wins: diverging (the training loss not finite, or rising for two
    epochs to above where it began); learning rate too high (the training loss going up and
    down); over-fitting (the held-out loss up 3% or more from its lowest two or more epochs
    later, while the training accuracy rose); learning rate too low (the training loss barely
    moving while far from fitting); plateaued (no accuracy gain in the last three epochs);
    still improving; steady. None without a record to judge.
    """
    records = [r for r in history if r.get("train_loss") is not None]
    if not records:
        return None
    split = held_out_split(records)
    name = "validation" if split == "val" else "test"
    epochs = [int(r["epoch"]) for r in records]
    train_loss = [float(r["train_loss"]) for r in records]
    train_acc = [float(r["train_acc"]) for r in records]
    acc = [float(r[f"{split}_acc"]) for r in records]
    loss = [float(r[f"{split}_loss"]) for r in records]
    last, n = epochs[-1], len(records)
    guess_loss = math.log(max(num_classes, 2))

    if not all(_finite(v) for v in (*train_loss, *loss)):
        bad = next(e for e, a, b in zip(epochs, train_loss, loss, strict=True)
                   if not (_finite(a) and _finite(b)))
        return HealthNote("diverging", bad, (
            f"Diverging at epoch {bad}: the loss is no longer a number; lower the learning "
            "rate (try 10 times lower) and train again."))
    lowest = min(range(n), key=lambda i: train_loss[i])
    if (n >= 3 and train_loss[-1] > train_loss[-2] > train_loss[-3]
            and train_loss[-1] > train_loss[0]):
        return HealthNote("diverging", epochs[lowest], (
            f"Diverging since epoch {epochs[lowest]}: the training loss rose from "
            f"{train_loss[lowest]:.3g} to {train_loss[-1]:.3g}, above where it began; lower "
            "the learning rate (try 10 times lower) and train again."))
    ups = sum(b > a * 1.01 for a, b in zip(train_loss, train_loss[1:], strict=False))
    if n >= 4 and ups * 3 >= n - 1 and train_loss[-1] > train_loss[lowest] * 1.05:
        return HealthNote("lr_too_high", last, (
            f"The learning rate is probably too high (epoch {last}): the training loss went "
            f"up in {ups} of {n - 1} epochs and is now {train_loss[-1]:.3g}, above its lowest "
            f"{train_loss[lowest]:.3g} at epoch {epochs[lowest]}; try a rate 3 to 10 times "
            "lower."))
    best_loss = min(range(n), key=lambda i: loss[i])
    if (n - 1 - best_loss >= 2 and loss[-1] >= loss[best_loss] * (1 + RISE)
            and train_acc[-1] > train_acc[best_loss]):
        k = epochs[best_loss]
        return HealthNote("overfitting", k, (
            f"Over-fitting since epoch {k}: the training accuracy kept rising "
            f"({train_acc[best_loss]:.1%} to {train_acc[-1]:.1%}) while the {name} loss rose "
            f"({loss[best_loss]:.3g} to {loss[-1]:.3g}); the model of epoch {k} generalised "
            "best, so train fewer epochs or add augmentation or weight decay."))
    drop_per_epoch = (train_loss[0] - train_loss[-1]) / max(train_loss[0], 1e-12) / (n - 1 or 1)
    if n >= 2 and drop_per_epoch < 0.02 and train_loss[-1] > 0.5 * guess_loss:
        return HealthNote("lr_too_low", last, (
            f"The learning rate is probably too low (epoch {last}): the training loss barely "
            f"moved ({train_loss[0]:.3g} to {train_loss[-1]:.3g} over {n} epochs; guessing "
            f"costs {guess_loss:.3g}); try a rate 10 times higher."))
    if n >= 4:
        before = max(acc[:-3])
        if max(acc[-3:]) <= before + IMPROVING:
            k = epochs[acc.index(before)]
            return HealthNote("plateaued", k, (
                f"Plateaued since epoch {k}: the {name} accuracy has stayed near {before:.1%} "
                "for the last 3 epochs, so more epochs will not help much; a lower learning "
                "rate or a schedule may still gain a little."))
    previous = acc[-2] if n >= 2 else 1.0 / max(num_classes, 1)
    if acc[-1] > previous + IMPROVING:
        since = f"from {previous:.1%}" if n >= 2 else f"from guessing's {previous:.1%}"
        return HealthNote("improving", last, (
            f"Still improving at epoch {last}: the {name} accuracy rose {since} to "
            f"{acc[-1]:.1%}, so more epochs would help."))
    if n >= 2 and loss[-1] < loss[-2] * (1 - RISE):
        return HealthNote("improving", last, (
            f"Still improving at epoch {last}: the {name} loss fell from {loss[-2]:.3g} to "
            f"{loss[-1]:.3g} (accuracy {acc[-1]:.1%}), so more epochs may still help."))
    k = best_epoch(records) or last
    return HealthNote("steady", last, (
        f"Steady at epoch {last}: the {name} accuracy is {acc[-1]:.1%} (best "
        f"{max(acc):.1%} at epoch {k}), with nothing alarming in the curves."))
