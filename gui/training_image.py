"""One training image picked in the Results tab's "Least believable" gallery
(gui/least_believable.py), as the image's detail shows it (gui/image_detail.py): the picture,
its original training-set index (what its marks are kept by), and the model's answer for it.
Training images have no story over the epochs: only the test images' answers are recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from engine.inference.label_doubts import LabelDoubts


@dataclass(frozen=True, eq=False)
class TrainingImage:
    image: np.ndarray  # uint8 (C, H, W), as the dataset holds it
    index: int  # the original index in the training set (the marks' index)
    row: int  # its row of `doubts`
    doubts: LabelDoubts

    @property
    def label(self) -> int:
        return int(self.doubts.labels[self.row])

    @property
    def likeliest(self) -> int:
        """The class the model finds most probable."""
        return int(self.doubts.probabilities[self.row].argmax())

    @property
    def title(self) -> str:
        """ "Training image 1,235": numbered from 1, as the Data tab numbers them."""
        return f"Training image {self.index + 1:,}"

    def reason(self) -> str:
        """Why its label is doubted: "labelled 3 (2%; its class averages 95%), looks like 5
        (88%)"."""
        return self.doubts.reason(self.row)

    def top_classes(self, limit: int) -> tuple[list[tuple[int, float]], float]:
        """Its `limit` most probable classes with their probabilities (its label always
        among them), and the probability left to the others."""
        probs = self.doubts.probabilities[self.row]
        order = [int(c) for c in np.argsort(-probs, kind="stable")[:limit]]
        if self.label not in order:
            order[-1] = self.label
        shown = sorted(((c, float(probs[c])) for c in order), key=lambda pair: -pair[1])
        return shown, max(0.0, 1.0 - sum(p for _, p in shown))
