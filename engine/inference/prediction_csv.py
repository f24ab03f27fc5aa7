"""Predictions as a CSV table: one row per image, the same columns from `traindesk predict`
and from the Draw tab's "Save as CSV…".

Columns: path, class_1, probability_1 (the answer and its probability), class_2,
probability_2 ... up to class_K (the next likeliest, K = top_k), error (why an image could
not be read: its classes are then empty) and note (how it was read, when a person should
know, e.g. "does not look like a single digit"). Probabilities have six decimals.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from typing import TextIO

from engine.inference.image_trial import ImageFailure, ImageTrial

DEFAULT_TOP_K = 3


def csv_header(top_k: int) -> list[str]:
    ranks = [column for rank in range(1, top_k + 1)
             for column in (f"class_{rank}", f"probability_{rank}")]
    return ["path", *ranks, "error", "note"]


def csv_row(path: str, result: ImageTrial | ImageFailure, class_names: Sequence[str],
            top_k: int) -> list[str]:
    """One image's row (csv_header's columns); `top_k` at most the number of classes."""
    if isinstance(result, ImageFailure):
        return [path, *[""] * (2 * top_k), result.message, ""]
    ranks = [cell for index in result.ranked(top_k)
             for cell in (class_names[index], f"{float(result.probabilities[index]):.6f}")]
    return [path, *ranks, "", result.note]


class PredictionCsv:
    """Writes csv_header, then a row per `add`, to an open text file (newline="")."""

    def __init__(self, stream: TextIO, class_names: Sequence[str],
                 top_k: int = DEFAULT_TOP_K) -> None:
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, not {top_k}.")
        self.class_names = tuple(class_names)
        self.top_k = min(top_k, len(self.class_names))
        self._writer = csv.writer(stream, lineterminator="\n")
        self._writer.writerow(csv_header(self.top_k))
        self.rows = 0

    def add(self, path: str, result: ImageTrial | ImageFailure) -> None:
        self._writer.writerow(csv_row(path, result, self.class_names, self.top_k))
        self.rows += 1
