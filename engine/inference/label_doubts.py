"""The training images whose labels a trained model finds least believable.

Two rankings of the model's answer for every training image (no augmentation):

- highest loss: the cross-entropy of the image's own label, largest first;
- confident learning (Northcutt et al., 2021, "Confident learning: estimating uncertainty in
  dataset labels"): each class's threshold is the model's average probability for that
  class over the images labelled with it (its average self-confidence). An image is
  suspected when the probability of its label is far below its class's threshold (under
  `FAR_BELOW` of it) and another class is likelier measured against its own threshold
  (p_k / t_k above p_label / t_label). Suspects are ranked by their label's probability
  against its threshold, lowest first (cleanlab's self-confidence order).

  The paper's rule (another class at or above its own threshold) is meant for
  out-of-sample probabilities (cross-validation: one model per fold). Here the model is the
  run's own, which has seen every label: it hedges between a flipped label and the image's
  real class (0.85 for the real class where that class averages 0.96, on the tests'
  flipped digits), so the strict rule misses most flips; measuring each class against its
  own threshold keeps the rule's calibration per class and finds them.

Images a model keeps getting wrong on the training set are often mislabelled; a person looks
at them in the Results tab and leaves them out of a child run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
from torch import nn

from engine.control import Control, StopRequested
from engine.data.pipeline import pass_batch

# "Far below its class's average": a label's probability under this fraction of it.
FAR_BELOW = 0.5


@dataclass(frozen=True, eq=False)
class LabelDoubts:
    """The model's view of each training image's label; rows follow the dataset's rows.
    Each measure is worked out once, when first read (a gallery reads them per thumbnail)."""

    train_index: np.ndarray  # (N,) int64: each row's index in the training set as loaded
    labels: np.ndarray  # (N,) int64
    probabilities: np.ndarray  # (N, C) float32: the model's class probabilities
    class_names: tuple[str, ...]

    @cached_property
    def label_prob(self) -> np.ndarray:
        """(N,) the probability the model gives each image's own label."""
        return self.probabilities[np.arange(len(self.labels)), self.labels]

    @cached_property
    def loss(self) -> np.ndarray:
        """(N,) cross-entropy of each image's label."""
        return -np.log(np.maximum(self.label_prob, np.finfo(np.float32).tiny))

    @cached_property
    def thresholds(self) -> np.ndarray:
        """(C,) each class's average self-confidence (1 for a class with no image)."""
        sums = np.bincount(self.labels, weights=self.label_prob,
                           minlength=len(self.class_names))
        counts = np.bincount(self.labels, minlength=len(self.class_names))
        return np.where(counts > 0, sums / np.maximum(counts, 1), 1.0).astype(np.float32)

    @cached_property
    def likely_class(self) -> np.ndarray:
        """(N,) the likeliest class of each image, each class's probability measured
        against its own threshold."""
        return (self.probabilities / self.thresholds[None, :]).argmax(axis=1)

    @cached_property
    def suspected(self) -> np.ndarray:
        """(N,) bool: confident learning says the label is likely wrong."""
        far_below = self.label_prob < FAR_BELOW * self.thresholds[self.labels]
        return far_below & (self.likely_class != self.labels)

    def highest_loss(self, limit: int) -> list[int]:
        """Rows, the largest loss first (ties: the lower row first)."""
        return [int(r) for r in np.argsort(-self.loss, kind="stable")[:limit]]

    def confident_learning(self, limit: int) -> list[int]:
        """The suspected rows, the least believed label first."""
        rows = np.flatnonzero(self.suspected)
        relative = self.label_prob[rows] / self.thresholds[self.labels[rows]]
        order = np.argsort(relative, kind="stable")
        return [int(r) for r in rows[order][:limit]]

    def reason(self, row: int) -> str:
        """Why the row is doubted, in a line: "labelled 3 (2%; its class averages 95%),
        looks like 5 (88%)"."""
        label = int(self.labels[row])
        text = (f"labelled {self.class_names[label]} ({self.label_prob[row]:.0%}; "
                f"its class averages {self.thresholds[label]:.0%})")
        likely = int(self.likely_class[row])
        if likely == label:
            likely = int(self.probabilities[row].argmax())
        if likely != label:
            text += (f", looks like {self.class_names[likely]} "
                     f"({self.probabilities[row, likely]:.0%})")
        return text


def class_probabilities(model: nn.Module, images: torch.Tensor,
                        prepare: Callable[[torch.Tensor], torch.Tensor], input_size: int,
                        control: Control | None = None) -> np.ndarray:
    """(N, C) the model's class probabilities for uint8 `images` (on the model's device),
    fed in batches through `prepare` (a `BatchPipeline` without augmentation); a stop
    asked of `control` ends the work with `StopRequested`."""
    step = pass_batch(input_size)  # batched as the test pass is
    was_training = model.training
    model.eval()
    parts = []
    try:
        with torch.inference_mode():
            for start in range(0, len(images), step):
                if control is not None and control.stop_requested:
                    raise StopRequested
                logits = model(prepare(images[start:start + step])).float()
                parts.append(logits.softmax(1))
    finally:
        model.train(was_training)
    if not parts:
        return np.zeros((0, 0), dtype=np.float32)
    return torch.cat(parts).cpu().numpy()
